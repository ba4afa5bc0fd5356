/**
 * @module Verification pieces shared by D1's part of the chain and its archived segments (R2): the
 * signed checkpoints over a range of rows, a signed point to continue from, and one archived
 * segment verified from its object.
 */
import type { JWK } from 'jose';
import type { Keyring } from '../crypto/keyring';
import { verifyRows, START, type AuditRow, type ChainPoint, type ChainProblem } from './audit-chain';
import { readSegment, SegmentError, type ArchiveBucket, type SegmentRow } from './archive-store';
import { verifyCheckpoint, type Checkpoint } from './checkpoint';
import { listCheckpoints } from './checkpoint-store';
import type { VerifiedPage } from './audit-store';

type Jwks = { keys: JWK[] };
type Problem = { ok: false; seq: number; problem: ChainProblem; detail: string; rows: number; checkpoints: number };

/**
 * Every stored checkpoint from `fromSeq` to `toSeq` must verify and name the hash the row at its
 * sequence has; one past the last row means rows were cut off.
 */
export async function checkCheckpoints(
  db: D1Database,
  jwks: Jwks,
  tenant: string,
  rows: readonly AuditRow[],
  fromSeq: number,
  toSeq: number,
): Promise<{ ok: true; checkpoints: number } | Problem> {
  const hashes = new Map(rows.map((row) => [row.seq, row.hash]));
  const lastSeq = rows.length ? rows[rows.length - 1]!.seq : fromSeq - 1;
  let checkpoints = 0;
  const fail = (seq: number, problem: ChainProblem, detail: string): Problem => ({
    ok: false,
    seq,
    problem,
    detail,
    rows: rows.length,
    checkpoints,
  });
  for (const cp of await listCheckpoints(db, tenant, fromSeq, toSeq)) {
    let c: Checkpoint;
    try {
      c = await verifyCheckpoint(cp.jws, jwks);
    } catch (err) {
      return fail(cp.seq, 'bad-checkpoint', `checkpoint ${cp.seq} does not verify: ${(err as Error).message}`);
    }
    if (c.seq !== cp.seq || c.tenant !== tenant) return fail(cp.seq, 'bad-checkpoint', `checkpoint ${cp.seq} is for another position`);
    const h = hashes.get(c.seq);
    // A checkpoint past the last row: the rows it vouched for were cut off the end.
    if (h === undefined) return fail(lastSeq + 1, 'deleted', `checkpoint ${c.seq} vouches for rows after ${lastSeq}, which are missing`);
    if (h !== c.hash) return fail(c.seq, 'modified', `checkpoint ${c.seq} names a different hash`);
    checkpoints++;
  }
  return { ok: true, checkpoints };
}

/** The chain point a stored, signed checkpoint at `seq` vouches for; null when there is none or it does not verify. */
export async function signedPoint(db: D1Database, jwks: Jwks, tenant: string, seq: number): Promise<ChainPoint | null> {
  const [cp] = await listCheckpoints(db, tenant, seq, seq);
  const c = cp ? await verifyCheckpoint(cp.jws, jwks).catch(() => null) : null;
  return c && c.tenant === tenant && c.seq === seq ? { seq, hash: c.hash } : null;
}

/**
 * Verify one archived segment from its R2 object: the object is the one archived, its rows verify
 * from the signed point before it (`anchor`, the genesis, or the checkpoint closing the previous
 * segment) and every checkpoint in its range, its closing one included, names its rows' hashes.
 */
export async function verifySegment(
  db: D1Database,
  ring: Keyring,
  jwks: Jwks,
  bucket: ArchiveBucket,
  seg: SegmentRow,
  anchor: ChainPoint,
): Promise<(VerifiedPage & { complete: false; next: number }) | Problem> {
  const fail = (seq: number, problem: ChainProblem, detail: string, rows = 0, checkpoints = 0): Problem => ({
    ok: false,
    seq,
    problem,
    detail,
    rows,
    checkpoints,
  });
  const before = seg.first_seq - 1;
  const prev = before === anchor.seq ? anchor : before === 0 ? START : await signedPoint(db, jwks, seg.tenant, before);
  if (!prev) return fail(before, 'bad-checkpoint', `no verified checkpoint at ${before}, before archived segment ${seg.first_seq}`);
  let rows: AuditRow[];
  try {
    rows = (await readSegment(bucket, seg)).rows;
  } catch (err) {
    if (err instanceof SegmentError) return fail(seg.first_seq, err.problem, err.message);
    throw err;
  }
  const r = await verifyRows(ring, rows, prev);
  if (!r.ok) return fail(r.seq, r.problem, `${r.detail} (archived segment ${seg.first_seq}–${seg.last_seq})`, r.rows);
  const cps = await checkCheckpoints(db, jwks, seg.tenant, rows, seg.first_seq, seg.last_seq);
  if (!cps.ok) return cps;
  // A segment ends at a checkpoint: without it, its last rows could have been cut off with it.
  const closing = await signedPoint(db, jwks, seg.tenant, seg.last_seq);
  if (!closing || closing.hash !== r.head.hash)
    return fail(
      seg.last_seq,
      'bad-checkpoint',
      `the checkpoint closing archived segment ${seg.first_seq}–${seg.last_seq} is missing or wrong`,
      r.rows,
    );
  return {
    ok: true,
    from: seg.first_seq,
    start: prev,
    to: seg.last_seq,
    rows: r.rows,
    checkpoints: cps.checkpoints,
    complete: false,
    next: seg.last_seq + 1,
    head: r.head,
  };
}
