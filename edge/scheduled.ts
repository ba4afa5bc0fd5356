/**
 * @module stepgateScheduled(): the cron trigger's work — sign an audit checkpoint, re-encrypt a
 * batch under the primary key, apply retention — for any Worker that runs Stepgate: the gateway
 * (`scheduledMaintenance` in gateway.ts) or an existing Hono Worker using the middleware (library mode).
 */
import { createAuditLog } from './audit/audit-log';
import type { AuditSequencer } from './audit/audit-sequencer';
import { runMaintenance, type MaintenanceDeps, type MaintenanceReport } from './audit/maintenance';
import { parseKeyring } from './crypto/keyring';
import { compilePolicy } from './policy/compile-policy';
import { validatePolicy } from './policy/validate-policy';
import { policyHashOf } from './request-path/stepgate-middleware';

export interface StepgateScheduledOptions {
  /** The same policy document the `stepgate()` middleware was given (the audit log names it by hash). */
  policy: unknown;
  /** Name of the policy file, for error messages. */
  policyFile?: string;
  /** Name of the D1 binding. Default `DB`. */
  dbBinding?: string;
  /** Name of the AuditSequencer Durable Object binding. Default `AUDIT_SEQUENCER`. */
  auditBinding?: string;
  /** Clock (ms), for tests. */
  now?: () => number;
}

/**
 * Run the periodic upkeep once. Call it from the Worker's `scheduled` handler (a `[triggers] crons`
 * entry in wrangler.toml; every 15 minutes is what the gateway uses).
 *
 * @param env the Worker's environment: the D1 and AuditSequencer bindings, `STEPGATE_KEYS`, and
 *   optionally `TENANT` and `AUDIT_RETENTION_DAYS`
 * @throws {PolicyError} when the policy is invalid
 * @throws {Error} when a binding or `STEPGATE_KEYS` is missing
 */
export async function stepgateScheduled(env: object, options: StepgateScheduledOptions): Promise<MaintenanceReport> {
  const e = env as Record<string, unknown>;
  const dbBinding = options.dbBinding ?? 'DB';
  const auditBinding = options.auditBinding ?? 'AUDIT_SEQUENCER';
  const db = e[dbBinding] as D1Database | undefined;
  if (!db) throw new Error(`binding ${dbBinding} (D1) is missing`);
  const ns = e[auditBinding] as DurableObjectNamespace<AuditSequencer> | undefined;
  if (!ns) throw new Error(`binding ${auditBinding} (AuditSequencer Durable Object) is missing`);
  const keys = parseKeyring(e.STEPGATE_KEYS as string | undefined);
  const compiled = compilePolicy(validatePolicy(options.policy, options.policyFile));
  const tenant = String(e.TENANT ?? 'default');
  const deps: MaintenanceDeps = {
    db,
    keys,
    audit: createAuditLog({
      namespace: ns,
      tenant,
      config: async () => ({ policyHash: await policyHashOf(compiled), primaryKid: keys.primary }),
    }),
    auditSequencer: () => ns.get(ns.idFromName(`tenant:${tenant}`)),
    auditRetentionDays: Math.max(0, Number.parseInt(String(e.AUDIT_RETENTION_DAYS ?? '0'), 10) || 0),
    now: options.now ?? Date.now,
  };
  return runMaintenance(deps);
}
