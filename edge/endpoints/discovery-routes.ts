/**
 * @module What anyone may learn about this gateway without signing in: the discovery document
 * (`/.well-known/stepgate`), the OpenAPI description, the policy's JSON Schema, and the public keys
 * that verify what it signs (assertions to the origin, approval prompts).
 */
import { approvalJwks } from '../signing/approval-statement';
import type { Hono } from 'hono';
import { STEPGATE_VERSION } from '../config/version';
import type { Runtime } from '../deployment/runtime';
import { json } from '../http/responses';
import { policyJsonSchema } from '../policy/schema';
import { assertionJwks } from '../signing/origin-assertion';
import { promptJwks } from '../signing/prompt-signature';
import { openapi } from './openapi';

/** Public key sets may be cached for five minutes. */
const JWKS_CACHE = { 'cache-control': 'public, max-age=300' };

export function registerDiscoveryRoutes(app: Hono, rt: Runtime): void {
  app.get('/.well-known/stepgate', () =>
    json({
      stepgate: STEPGATE_VERSION,
      endpoints: {
        openapi: '/.stepgate/api/openapi.json',
        policy_schema: '/.stepgate/api/policy.schema.json',
        challenge: '/.stepgate/api/challenges/{id}',
        challenge_page: '/.stepgate/challenge/{id}',
        jwks: '/.well-known/stepgate/jwks.json',
        audit_jwks: '/.well-known/stepgate/audit-jwks.json',
        prompt_jwks: '/.well-known/stepgate/prompt-jwks.json',
        approval_jwks: '/.well-known/stepgate/approval-jwks.json',
        challenges: '/.stepgate/api/challenges',
        audit_events: '/.stepgate/api/admin/audit/events',
        enrol: '/.stepgate/enrol',
        audit_console: '/.stepgate/admin/audit',
      },
      factors: [...new Set(rt.policy.rules.flatMap((r) => r.factors))],
    }),
  );
  app.get('/.stepgate/api/openapi.json', () => json(openapi));
  app.get('/.stepgate/api/policy.schema.json', () => json(policyJsonSchema()));
  app.get('/.well-known/stepgate/jwks.json', async () => json(await assertionJwks(rt.keys), 200, JWKS_CACHE));
  app.get('/.well-known/stepgate/prompt-jwks.json', async () => json(await promptJwks(rt.keys), 200, JWKS_CACHE));
  app.get('/.well-known/stepgate/approval-jwks.json', async () => json(await approvalJwks(rt.keys), 200, JWKS_CACHE));
}
