/**
 * @module Archive older sealed segments of the audit chain to R2 (docs/audit.md, "Archive and
 * stream"). A segment is a contiguous sequence range ending at a signed checkpoint; it is written as
 * one R2 object (the rows as they are in D1, still sealed, and the checkpoint), read back and
 * checked, and only then do its rows leave D1 — in the same D1 batch that marks it archived.
 *
 * One writer at a time: a segment is claimed in the manifest before anything is written (its
 * primary key is the claim: two runs at once cannot both insert it), a claim older than
 * CLAIM_MS may be taken over (a run that crashed), and the delete only happens in the batch whose
 * first statement still finds this run's claim. A crash anywhere leaves the rows in D1 and the
 * segment 'writing'; the next run rewrites the object (the same bytes) and finishes.
 */
import type { Keyring } from '../crypto/keyring';
import { verifyRows, START, type AuditRow, type ChainPoint } from './audit-chain';
import type { AuditSequencer } from './audit-sequencer';
import { digestOf, lastArchived, readSegment, SEGMENT_FORMAT, segmentKey, type AuditArchive, type SegmentRow } from './archive-store';
import { checkpointJwks, verifyCheckpoint } from './checkpoint';
import { latestRetentionCheckpoint } from './checkpoint-store';

/** What archiving needs of the runtime. */
export interface ArchiveDeps {
  db: D1Database;
  keys: Keyring;
  auditSequencer(): DurableObjectStub<AuditSequencer>;
  now(): number;
}

/** Rows per segment object at most (about 1 KB each sealed: objects of at most ~10 MB). */
export const SEGMENT_MAX = 10_000;
/** Segments archived per maintenance run at most. */
export const SEGMENTS_PER_RUN = 10;
/** A claim older than this belongs to a run that died: another may take the segment over. */
export const CLAIM_MS = 10 * 60_000;

export interface ArchiveReport {
  segments: number;
  rows: number;
  through_seq: number | null;
}

/**
 * For tests and the bench: a smaller segment size, and a hook after the object is written, before it
 * is read back (a crash there must resume).
 */
export interface ArchiveHooks {
  segmentMax?: number;
  afterWrite?: (seg: SegmentRow) => Promise<void> | void;
}

/**
 * Archive the tenant's sealed segments whose newest event is older than `cutoff`, oldest first, at
 * most SEGMENTS_PER_RUN. Returns what moved, or why it stopped (a string: nothing was deleted for
 * the segment it names).
 */
export async function archiveSegments(
  rt: ArchiveDeps,
  archive: AuditArchive,
  tenant: string,
  cutoff: number,
  hooks: ArchiveHooks = {},
): Promise<ArchiveReport | string> {
  const claim = crypto.randomUUID();
  const report: ArchiveReport = { segments: 0, rows: 0, through_seq: null };
  for (let i = 0; i < SEGMENTS_PER_RUN; i++) {
    const seg = await claimNext(rt, tenant, cutoff, claim, Math.min(SEGMENT_MAX, hooks.segmentMax ?? SEGMENT_MAX));
    if (seg === null) break;
    const r = await writeSegment(rt, archive, seg, claim, hooks);
    if (typeof r === 'string') return r;
    if (!r) break; // taken over by another run
    report.segments++;
    report.rows += seg.last_seq - seg.first_seq + 1;
    report.through_seq = seg.last_seq;
  }
  return report;
}

/**
 * The segment this run will write: a stale unfinished one taken over, or the next one claimed; null
 * when none is due or another run holds it.
 */
async function claimNext(rt: ArchiveDeps, tenant: string, cutoff: number, claim: string, max: number): Promise<SegmentRow | null> {
  const { db } = rt;
  const now = rt.now();
  const open = await db.prepare("SELECT * FROM audit_segments WHERE tenant = ? AND state = 'writing'").bind(tenant).first<SegmentRow>();
  if (open) {
    if (open.claimed_at > now - CLAIM_MS) return null; // another run is at work
    const took = await db
      .prepare("UPDATE audit_segments SET claim = ?, claimed_at = ? WHERE tenant = ? AND first_seq = ? AND state = 'writing' AND claim = ?")
      .bind(claim, now, tenant, open.first_seq, open.claim)
      .run();
    return took.meta.changes === 1 ? { ...open, claim, claimed_at: now } : null;
  }
  const last = await lastArchived(db, tenant);
  const anchor = await latestRetentionCheckpoint(db, tenant);
  const first = Math.max(last?.last_seq ?? 0, anchor?.seq ?? 0) + 1;
  // Never the head itself (the last row verify compares with the sequencer's head stays in D1).
  const head = await rt.auditSequencer().currentHead(tenant);
  const end = await db
    .prepare(
      'SELECT c.seq AS seq, e.ts AS ts, e.hash AS hash FROM audit_checkpoints c ' +
        'JOIN audit_events e ON e.tenant = c.tenant AND e.seq = c.seq ' +
        'WHERE c.tenant = ?1 AND c.seq >= ?2 AND c.seq <= ?3 AND c.seq < ?4 AND e.ts < ?5 ORDER BY c.seq DESC LIMIT 1',
    )
    .bind(tenant, first, first + max - 1, head.seq, cutoff)
    .first<{ seq: number; ts: number; hash: string }>();
  if (!end) return null;
  const start = await db.prepare('SELECT ts FROM audit_events WHERE tenant = ? AND seq = ?').bind(tenant, first).first<{ ts: number }>();
  if (!start) return null;
  const seg: SegmentRow = {
    tenant,
    first_seq: first,
    last_seq: end.seq,
    first_ts: start.ts,
    last_ts: end.ts,
    last_hash: end.hash,
    object_key: segmentKey(tenant, first, end.seq),
    state: 'writing',
    claim,
    claimed_at: now,
    digest: null,
    bytes: null,
  };
  // The primary key is the lock: of two runs at once, one inserts, the other stops.
  const ins = await db
    .prepare(
      'INSERT INTO audit_segments (tenant, first_seq, last_seq, first_ts, last_ts, last_hash, object_key, state, claim, claimed_at) ' +
        "VALUES (?, ?, ?, ?, ?, ?, ?, 'writing', ?, ?) ON CONFLICT (tenant, first_seq) DO NOTHING",
    )
    .bind(tenant, first, seg.last_seq, seg.first_ts, seg.last_ts, seg.last_hash, seg.object_key, claim, now)
    .run();
  return ins.meta.changes === 1 ? seg : null;
}

/** How many of `rows` are sealed under each key id: an archived segment keeps its keys in use (key-status.ts). */
const kidCounts = (rows: AuditRow[]): Record<string, number> => {
  const n: Record<string, number> = {};
  for (const r of rows) n[r.kid] = (n[r.kid] ?? 0) + 1;
  return n;
};

/** The verified chain point just before `seq`: the genesis, or the signed checkpoint at `seq - 1`. */
async function pointBefore(db: D1Database, ring: Keyring, tenant: string, seq: number): Promise<ChainPoint | null> {
  if (seq === 1) return START;
  const cp = await db
    .prepare('SELECT jws FROM audit_checkpoints WHERE tenant = ? AND seq = ?')
    .bind(tenant, seq - 1)
    .first<{ jws: string }>();
  const c = cp ? await verifyCheckpoint(cp.jws, await checkpointJwks(ring)).catch(() => null) : null;
  return c && c.tenant === tenant && c.seq === seq - 1 ? { seq: c.seq, hash: c.hash } : null;
}

/** Verify the segment's rows, write the object, read it back, then mark it archived and delete its rows in one batch. */
async function writeSegment(
  rt: ArchiveDeps,
  archive: AuditArchive,
  seg: SegmentRow,
  claim: string,
  hooks: ArchiveHooks,
): Promise<boolean | string> {
  const { db, keys } = rt;
  const refuse = (why: string) => `segment ${seg.first_seq}–${seg.last_seq}: ${why}; nothing deleted`;
  const { results: rows } = await db
    .prepare('SELECT * FROM audit_events WHERE tenant = ? AND seq >= ? AND seq <= ? ORDER BY seq')
    .bind(seg.tenant, seg.first_seq, seg.last_seq)
    .all<AuditRow>();
  if (rows.length !== seg.last_seq - seg.first_seq + 1) return refuse('rows are missing in D1');
  const prev = await pointBefore(db, keys, seg.tenant, seg.first_seq);
  if (!prev) return refuse('no verified checkpoint before it');
  const v = await verifyRows(keys, rows, prev);
  if (!v.ok) return refuse(`the rows do not verify (sequence ${v.seq}: ${v.problem})`);
  const cpRow = await db
    .prepare('SELECT jws FROM audit_checkpoints WHERE tenant = ? AND seq = ?')
    .bind(seg.tenant, seg.last_seq)
    .first<{ jws: string }>();
  const cp = cpRow ? await verifyCheckpoint(cpRow.jws, await checkpointJwks(keys)).catch(() => null) : null;
  if (!cp || cp.tenant !== seg.tenant || cp.seq !== seg.last_seq || cp.hash !== v.head.hash)
    return refuse('its closing checkpoint does not verify');
  const text = JSON.stringify({
    format: SEGMENT_FORMAT,
    tenant: seg.tenant,
    first_seq: seg.first_seq,
    last_seq: seg.last_seq,
    checkpoint: cpRow!.jws,
    rows,
  });
  const digest = await digestOf(text);
  // Still ours? (A run slower than CLAIM_MS was taken over: it must not write over the new owner.)
  const mine = await db
    .prepare("SELECT 1 AS ok FROM audit_segments WHERE tenant = ? AND first_seq = ? AND state = 'writing' AND claim = ?")
    .bind(seg.tenant, seg.first_seq, claim)
    .first();
  if (!mine) return false;
  await archive.bucket.put(seg.object_key, text, {
    httpMetadata: { contentType: 'application/json' },
    customMetadata: { tenant: seg.tenant, first_seq: String(seg.first_seq), last_seq: String(seg.last_seq), digest },
  });
  await hooks.afterWrite?.(seg);
  // Durable means: read back from R2, byte for byte what was verified.
  await readSegment(archive.bucket, { ...seg, digest });
  const [archived] = await db.batch([
    db
      .prepare(
        "UPDATE audit_segments SET state = 'archived', digest = ?, bytes = ?, kids = ? " +
          "WHERE tenant = ? AND first_seq = ? AND state = 'writing' AND claim = ?",
      )
      .bind(digest, text.length, JSON.stringify(kidCounts(rows)), seg.tenant, seg.first_seq, claim),
    // Only if the segment is now archived as this very object: never rows whose object is not durable.
    db
      .prepare(
        'DELETE FROM audit_events WHERE tenant = ?1 AND seq >= ?2 AND seq <= ?3 AND EXISTS (SELECT 1 FROM audit_segments ' +
          "WHERE tenant = ?1 AND first_seq = ?2 AND last_seq = ?3 AND state = 'archived' AND digest = ?4)",
      )
      .bind(seg.tenant, seg.first_seq, seg.last_seq, digest),
  ]);
  // Not ours any more (taken over, or pruned by retention meanwhile): nothing was archived or deleted by this run.
  if (archived?.meta.changes !== 1) return false;
  return true;
}
