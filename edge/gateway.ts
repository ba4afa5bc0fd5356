/** @module createGateway: the deployable gateway — the stepgate() middleware plus the proxy handler. */
import { Hono } from 'hono';
import policy from './config/policy.json';
import type { Env } from './env';
import { forward } from './proxy/forward';
import { stepgate, type StepgateContext } from './step-up/stepgate';

/**
 * Build the gateway for an environment.
 *
 * @throws {PolicyError|Error} when the bundled policy or the IDENTITY / ORIGIN_URL configuration is invalid
 */
export function createGateway(env: Env, bundledPolicy: unknown = policy): Hono<{ Bindings: Env; Variables: { stepgate: StepgateContext } }> {
  const app = new Hono<{ Bindings: Env; Variables: { stepgate: StepgateContext } }>();
  app.use(stepgate({ policy: bundledPolicy, policyFile: 'edge/config/policy.json', identity: env.IDENTITY }));
  app.all('*', forward({ originUrl: env.ORIGIN_URL || undefined }));
  return app;
}
