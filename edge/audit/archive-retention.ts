/**
 * @module Retention over the archive: archived segments whose newest event is older than the
 * retention cutoff are verified, a signed retention checkpoint is stored at the newest of them, and
 * only then are their manifest rows and R2 objects deleted (D1 first: an object left behind by a
 * crash is unreferenced and removed by a later run, never a manifest row pointing at nothing).
 */
import type { Keyring } from '../crypto/keyring';
import type { ChainPoint } from './audit-chain';
import { archivedSegments, type ArchiveBucket, type AuditArchive } from './archive-store';
import { verifySegment } from './archive-verify';
import { checkpointJwks } from './checkpoint';
import { checkpointStatement } from './checkpoint-store';

/** Archived segments verified and pruned per run at most. */
const PRUNE_SEGMENTS = 5;

/**
 * Prune the archived segments after `anchor` that ended before `cutoff`. Returns what was pruned,
 * why not (a string: nothing deleted), or null when none is due.
 */
export async function pruneArchived(
  rt: { db: D1Database; keys: Keyring; now(): number },
  archive: AuditArchive,
  tenant: string,
  anchor: ChainPoint,
  cutoff: number,
): Promise<{ through_seq: number; rows: number } | string | null> {
  const { db, keys } = rt;
  const jwks = await checkpointJwks(keys);
  const due = (await archivedSegments(db, tenant)).filter((s) => s.last_seq > anchor.seq && s.last_ts < cutoff).slice(0, PRUNE_SEGMENTS);
  if (due.length === 0) return null;
  let point = anchor;
  let rows = 0;
  for (const seg of due) {
    // Contiguous from the anchor: a missing segment is evidence, never pruned over.
    if (seg.first_seq !== point.seq + 1) return `archived segments are missing before sequence ${seg.first_seq}; nothing pruned`;
    const v = await verifySegment(db, keys, jwks, archive.bucket, seg, point);
    if (!v.ok) return `archived events do not verify (sequence ${v.seq}: ${v.problem}); nothing pruned`;
    point = v.head;
    rows += v.rows;
  }
  await db.batch([
    await checkpointStatement(db, keys, tenant, point, 'retention', rt.now()),
    db.prepare('DELETE FROM audit_segments WHERE tenant = ? AND last_seq <= ?').bind(tenant, point.seq),
    db.prepare('DELETE FROM audit_checkpoints WHERE tenant = ? AND seq < ?').bind(tenant, point.seq),
  ]);
  await dropObjectsThrough(archive.bucket, tenant, point.seq);
  return { through_seq: point.seq, rows };
}

/** Delete the tenant's segment objects that end at or before `seq` (none is referenced any more). */
export async function dropObjectsThrough(bucket: ArchiveBucket, tenant: string, seq: number): Promise<void> {
  const prefix = `audit/${encodeURIComponent(tenant)}/`;
  const listed = await bucket.list({ prefix, limit: 1000 });
  const old = listed.objects.map((o) => o.key).filter((k) => Number(/-(\d{16})\.json$/.exec(k)?.[1] ?? Number.POSITIVE_INFINITY) <= seq);
  if (old.length) await bucket.delete(old);
}
