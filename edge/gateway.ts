/** @module createGateway: the deployable gateway — the stepgate() middleware plus the proxy handler — and its cron upkeep. */
import { Hono } from 'hono';
import { createAuditLog } from './audit/audit-log';
import { runMaintenance, type MaintenanceDeps, type MaintenanceReport } from './audit/maintenance';
import policy from './config/policy.json';
import { parseKeyring } from './crypto/keyring';
import type { Env } from './env';
import { compilePolicy } from './policy/compile-policy';
import { validatePolicy } from './policy/validate-policy';
import { forward } from './proxy/forward';
import { policyHashOf, stepgate, type StepgateContext } from './step-up/stepgate';

const POLICY_FILE = 'edge/config/policy.json';

/**
 * Build the gateway for an environment.
 *
 * @throws {PolicyError|Error} when the bundled policy or the IDENTITY / ORIGIN_URL configuration is invalid
 */
export function createGateway(env: Env, bundledPolicy: unknown = policy): Hono<{ Bindings: Env; Variables: { stepgate: StepgateContext } }> {
  const app = new Hono<{ Bindings: Env; Variables: { stepgate: StepgateContext } }>();
  app.use(stepgate({ policy: bundledPolicy, policyFile: POLICY_FILE, identity: env.IDENTITY }));
  app.all('*', forward({ originUrl: env.ORIGIN_URL || undefined, timeoutSeconds: Number(env.ORIGIN_TIMEOUT_SECONDS) || undefined }));
  return app;
}

/** The cron trigger's work: checkpoint, re-encrypt a batch under the primary key, apply retention. */
export async function scheduledMaintenance(env: Env, bundledPolicy: unknown = policy): Promise<MaintenanceReport> {
  const keys = parseKeyring(env.STEPGATE_KEYS);
  const compiled = compilePolicy(validatePolicy(bundledPolicy, POLICY_FILE));
  const tenant = env.TENANT ?? 'default';
  const ns = env.AUDIT_SEQUENCER;
  const deps: MaintenanceDeps = {
    db: env.DB,
    keys,
    audit: createAuditLog({ namespace: ns, tenant, config: async () => ({ policyHash: await policyHashOf(compiled), primaryKid: keys.primary }) }),
    auditSequencer: () => ns.get(ns.idFromName(`tenant:${tenant}`)),
    auditRetentionDays: Math.max(0, Number.parseInt(env.AUDIT_RETENTION_DAYS ?? '0', 10) || 0),
    now: Date.now,
  };
  return runMaintenance(deps);
}
