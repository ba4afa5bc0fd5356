/**
 * @module Global setup for the `edge` project: a real demo origin and a JWKS server on loopback,
 * and the generated page scripts the Worker imports (so `npm run test:edge` works on a fresh clone).
 */
import type { TestProject } from 'vitest/node';
import { startDemoOrigin } from '../../edge/node/demo/demo-origin';
import { ensureClientAssets } from './client-assets';
import { startJwksServer } from './jwks-server';

const TEST_JWT_SECRET = 'test-only-identity-secret-0123456789abcdef';

export default async function setup(project: TestProject) {
  await ensureClientAssets();
  const origin = await startDemoOrigin({ jwtSecret: TEST_JWT_SECRET, inspect: true, extraProjects: 100 });
  const jwks = await startJwksServer();
  project.provide('originUrl', origin.url);
  project.provide('jwksUrl', jwks.url);
  project.provide('jwksPrivateJwk', jwks.privateJwk);
  return async () => {
    await origin.close();
    await jwks.close();
  };
}
