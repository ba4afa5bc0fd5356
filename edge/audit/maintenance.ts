/**
 * @module Background upkeep, run by the cron trigger (and on demand by an administrator):
 *  1. a signed checkpoint of each tenant's chain head;
 *  2. key rotation: re-encrypt a batch of stored data under the primary key (reencryption.ts);
 *  3. retention: verify, checkpoint, then prune events older than AUDIT_RETENTION_DAYS (retention.ts);
 *  3b. archive: move sealed segments older than AUDIT_ARCHIVE_DAYS from D1 to R2 (archive.ts);
 *  4. expiry: delete authenticator-app enrolments left pending past their 10 minutes.
 * Nothing becomes unreadable at any step: old rows open under the old key until they are moved,
 * and `keyStatus` (key-status.ts) says when a key id is no longer used and may be retired.
 */
import type { Keyring } from '../crypto/keyring';
import { PENDING_TOTP_TTL_MS, sweepPendingTotp } from '../factors/totp/totp-store';
import type { ChainPoint } from './audit-chain';
import type { AuditLog } from './audit-log';
import { archiveSegments, type ArchiveReport } from './archive';
import type { AuditArchive } from './archive-store';
import type { AuditSequencer } from './audit-sequencer';
import type { AuditInput } from './events';
import { reencryptBatch } from './reencryption';
import { prune } from './retention';

/** What maintenance needs of the runtime. */
export interface MaintenanceDeps {
  db: D1Database;
  keys: Keyring;
  audit: AuditLog;
  auditSequencer(): DurableObjectStub<AuditSequencer>;
  auditRetentionDays: number;
  /** The R2 archive (binding AUDIT_ARCHIVE) and its threshold; null or absent: nothing is archived. */
  auditArchive?: AuditArchive | null;
  now(): number;
}

export interface MaintenanceReport {
  checkpoint: ChainPoint | null;
  reencrypted: Record<string, number>;
  pruned: { through_seq: number; rows: number } | null;
  retention_refused?: string;
  /** Segments moved to R2 in this run (null: none due, or no archive). */
  archived?: ArchiveReport | null;
  archive_refused?: string;
  /** Rows deleted because they expired: pending authenticator-app enrolments never confirmed. */
  expired: { totp_pending: number };
}

type Who = { actor: string | null; base?: Partial<AuditInput> };

/** One maintenance run; `who` is the administrator who asked for it (null: the cron), as its events record. */
export async function runMaintenance(rt: MaintenanceDeps, who: Who = { actor: null }): Promise<MaintenanceReport> {
  const tenant = rt.audit.tenant;
  const report: MaintenanceReport = {
    checkpoint: await rt.auditSequencer().checkpoint(tenant, 'periodic'),
    reencrypted: {},
    pruned: null,
    expired: { totp_pending: 0 },
  };
  // Expired first, so nothing is re-encrypted that can never be used.
  report.expired.totp_pending = await sweepPendingTotp(rt.db, rt.now() - PENDING_TOTP_TTL_MS);
  report.reencrypted = await reencryptBatch(rt);
  // Keep the planner's statistics current (D1 recommends it), so combined filters pick the
  // narrowest index. Upkeep, not a decision: a failure is logged and nothing else changes.
  await rt.db
    .exec('PRAGMA optimize')
    .catch((err: unknown) => console.warn('stepgate: PRAGMA optimize failed:', err instanceof Error ? err.message : 'non-error'));
  const moved = Object.entries(report.reencrypted).filter(([, n]) => n > 0);
  const actor = { actor: who.actor, via: who.actor ? ('session' as const) : ('system' as const), ...who.base };
  if (moved.length) {
    await rt.audit.record({
      type: 'keys.reencrypted',
      outcome: 'success',
      ...actor,
      details: { ...Object.fromEntries(moved), to: rt.keys.primary },
    });
  }
  if (rt.auditRetentionDays > 0) {
    const r = await prune(rt, tenant, rt.now() - rt.auditRetentionDays * 86_400_000);
    if (typeof r === 'string') {
      report.retention_refused = r;
      await rt.audit.record({ type: 'audit.pruned', outcome: 'failure', ...actor, reason: r });
    } else if (r) {
      report.pruned = r;
      await rt.audit.record({
        type: 'audit.pruned',
        outcome: 'success',
        ...actor,
        details: { through_seq: r.through_seq, rows: r.rows, retention_days: rt.auditRetentionDays },
      });
    }
  }
  const archive = rt.auditArchive;
  if (archive && archive.afterDays > 0) {
    const r = await archiveSegments(rt, archive, tenant, rt.now() - archive.afterDays * 86_400_000);
    if (typeof r === 'string') {
      report.archive_refused = r;
      await rt.audit.record({ type: 'audit.archived', outcome: 'failure', ...actor, reason: r });
    } else if (r.segments > 0) {
      report.archived = r;
      await rt.audit.record({
        type: 'audit.archived',
        outcome: 'success',
        ...actor,
        details: { through_seq: r.through_seq, rows: r.rows, segments: r.segments, archive_days: archive.afterDays },
      });
    }
  }
  return report;
}
