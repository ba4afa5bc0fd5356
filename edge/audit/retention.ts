/**
 * @module Retention: prune the events older than AUDIT_RETENTION_DAYS, a batch per maintenance run,
 * only once they verify, and only behind a signed retention checkpoint from which the rest of the
 * chain (and every later export) still verifies.
 */
import type { Keyring } from '../crypto/keyring';
import { verifyRows, START, type AuditRow, type ChainPoint } from './audit-chain';
import type { AuditSequencer } from './audit-sequencer';
import { dropObjectsThrough, pruneArchived } from './archive-retention';
import { lastArchived, type AuditArchive } from './archive-store';
import { signedPoint } from './archive-verify';
import { checkpointJwks, verifyCheckpoint } from './checkpoint';
import { checkpointStatement, latestRetentionCheckpoint } from './checkpoint-store';

/** What pruning needs of the runtime. */
interface RetentionDeps {
  db: D1Database;
  keys: Keyring;
  auditSequencer(): DurableObjectStub<AuditSequencer>;
  /** The R2 archive, if bound: archived segments are pruned first, and D1's rows start after them. */
  auditArchive?: AuditArchive | null;
  now(): number;
}

/** Events verified and pruned per run at most. */
const PRUNE_BATCH = 5000;

/**
 * Prune events older than `cutoff`: verify them, sign a retention checkpoint at the last one, then
 * delete them (and the checkpoints before it) in one batch. Refuses (returns why) if they do not verify.
 */
export async function prune(
  rt: RetentionDeps,
  tenant: string,
  cutoff: number,
): Promise<{ through_seq: number; rows: number } | string | null> {
  const { db, keys } = rt;
  const jwks = await checkpointJwks(keys);
  const anchorRow = await latestRetentionCheckpoint(db, tenant);
  let start: ChainPoint = START;
  if (anchorRow) {
    const cp = await verifyCheckpoint(anchorRow.jws, jwks).catch(() => null);
    if (!cp) return 'the last retention checkpoint does not verify';
    start = { seq: cp.seq, hash: cp.hash };
  }
  // Archived segments are the oldest events: they go first, and D1's rows follow the newest of them.
  if (rt.auditArchive) {
    const a = await pruneArchived(rt, rt.auditArchive, tenant, start, cutoff);
    if (a !== null) return a;
  }
  const archived = await lastArchived(db, tenant);
  if (archived && archived.last_seq > start.seq) {
    const p = await signedPoint(db, jwks, tenant, archived.last_seq);
    if (!p) return 'the checkpoint closing the newest archived segment does not verify';
    start = p;
  }
  const { results: rows } = await db
    .prepare('SELECT * FROM audit_events WHERE tenant = ? AND seq > ? AND ts < ? ORDER BY seq LIMIT ?')
    .bind(tenant, start.seq, cutoff, PRUNE_BATCH)
    .all<AuditRow>();
  if (rows.length === 0) return null;
  // Never prune the head itself: the sequencer links the next event to it.
  const head = await rt.auditSequencer().currentHead(tenant);
  const keep = rows.filter((r) => r.seq < head.seq);
  if (keep.length === 0) return null;
  const v = await verifyRows(keys, keep, start);
  if (!v.ok) return `events do not verify (sequence ${v.seq}: ${v.problem}); nothing pruned`;
  const last = keep[keep.length - 1]!;
  const now = rt.now();
  await db.batch([
    await checkpointStatement(db, keys, tenant, last, 'retention', now),
    db.prepare('DELETE FROM audit_events WHERE tenant = ? AND seq <= ?').bind(tenant, last.seq),
    db.prepare('DELETE FROM audit_checkpoints WHERE tenant = ? AND seq < ?').bind(tenant, last.seq),
    // Segments behind the new retention checkpoint are no longer part of the chain.
    db.prepare('DELETE FROM audit_segments WHERE tenant = ? AND last_seq <= ?').bind(tenant, last.seq),
  ]);
  if (archived && rt.auditArchive) await dropObjectsThrough(rt.auditArchive.bucket, tenant, last.seq);
  return { through_seq: last.seq, rows: keep.length };
}
