/**
 * @module stepgateScheduled(): the cron trigger's work — sign an audit checkpoint, re-encrypt a
 * batch under the primary key, apply retention, prune report-only counts, record lapsed approval requests — for any Worker that
 * runs Stepgate: the gateway (`scheduledMaintenance` in gateway.ts) or an existing Hono Worker
 * using the middleware (library mode).
 */
import { recordExpired } from './approvals/approval-flow';
import { pruneClosed } from './approvals/approval-store';
import { runMaintenance, type MaintenanceReport } from './audit/maintenance';
import { buildAuditRuntime, type DeploymentEnv } from './deployment/build-runtime';
import { compilePolicy } from './policy/compile-policy';
import { validatePolicy } from './policy/validate-policy';
import { pruneReportCounts } from './policy/report-store';
import { pruneRouteSamples } from './policy/route-sample-store';

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
 *   optionally `TENANT`, `AUDIT_RETENTION_DAYS`, and the R2 archive (`AUDIT_ARCHIVE` binding, `AUDIT_ARCHIVE_DAYS`)
 * @throws {PolicyError} when the policy is invalid
 * @throws {Error} when a binding or `STEPGATE_KEYS` is missing
 */
export async function stepgateScheduled(env: object, options: StepgateScheduledOptions): Promise<MaintenanceReport> {
  const policy = compilePolicy(validatePolicy(options.policy, options.policyFile));
  const { dbBinding, auditBinding, now } = options;
  const rt = buildAuditRuntime(env as DeploymentEnv, { policy, dbBinding, auditBinding, now });
  const report = await runMaintenance(rt);
  // Report-only counts older than 7 days (docs/policy.md); they decide nothing, so a failure is only logged.
  await pruneReportCounts(rt.db, rt.now()).catch((err: unknown) => console.warn('stepgate: report counts not pruned:', String(err)));
  await pruneRouteSamples(rt.db, rt.now()).catch((err: unknown) => console.warn('stepgate: route samples not pruned:', String(err)));
  // Dual control: record the expiry of requests nobody opened since they lapsed (each once), and drop closed ones after 30 days.
  await recordExpired(rt).catch((err: unknown) => console.warn('stepgate: approval expiries not recorded:', String(err)));
  await pruneClosed(rt.db, rt.now()).catch((err: unknown) => console.warn('stepgate: closed approvals not pruned:', String(err)));
  return report;
}
