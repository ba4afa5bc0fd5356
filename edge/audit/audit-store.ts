/**
 * @module The read side of the audit log: filtered, cursor-paginated listing (decrypted for
 * authorized readers), and chain verification against signed checkpoints and the sequencer's head.
 */
import { blindIndexes } from '../crypto/blind-index';
import type { Keyring } from '../crypto/keyring';
import { openRow, orgColumn, verifyRows, START, type AuditRow, type ChainPoint, type ChainProblem } from './audit-chain';
import { checkpointJwks, verifyCheckpoint, type Checkpoint } from './checkpoint';
import { checkCheckpoints, signedPoint, verifySegment } from './archive-verify';
import { lastArchived, segmentAt, type ArchiveBucket } from './archive-store';
import { latestRetentionCheckpoint } from './checkpoint-store';
import type { AuditOutcome, AuditType, ChainedEvent } from './events';

export interface AuditFilter {
  /**
   * Only this organisation's events ("default": its own and every row older than the column).
   * Every reader's listing names one (audit-query.ts); undefined, every organisation's, is for the
   * deployment's own tools and tests.
   */
  org?: string;
  /** Inclusive lower bound, ms. */
  from?: number;
  /** Exclusive upper bound, ms. */
  to?: number;
  user?: string;
  ip?: string;
  app?: string;
  types?: AuditType[];
  outcome?: AuditOutcome;
}

export interface ListOptions {
  limit: number;
  /** Newest first (default) or oldest first (exports, so a file reads as the chain does). */
  order: 'desc' | 'asc';
  /** Continue after this sequence (exclusive). */
  after?: number;
}

/** One page of events and where the next one starts (null at the end). */
export interface EventPage {
  events: ChainedEvent[];
  next: number | null;
}

/** List a tenant's events matching `filter`, decrypted. */
export async function listEvents(db: D1Database, ring: Keyring, tenant: string, filter: AuditFilter, o: ListOptions): Promise<EventPage> {
  const where: string[] = ['tenant = ?'];
  const args: (string | number | null)[] = [tenant];
  const org = filter.org === undefined ? undefined : orgColumn(filter.org);
  if (org !== undefined) {
    where.push('org IS ?');
    args.push(org);
  }
  if (filter.from !== undefined || filter.to !== undefined) {
    // Event times never decrease along the chain (the sequencer sees to it), so a time range is a
    // sequence range: two index lookups find its ends, and the newest-first scan then walks the
    // primary key instead of reading and sorting every row in the range. The time terms stay (as
    // `+ts`, so they do not steer the index choice) and keep the result exact at the range's ends.
    const lo = filter.from ?? 0;
    const hi = filter.to ?? Number.MAX_SAFE_INTEGER;
    // An organisation's range is looked up among its own rows (index (tenant, org, ts)).
    const [index, inOrg] = org === undefined ? ['audit_events_ts', ''] : ['audit_events_org_ts', ' AND org IS ?4'];
    const ends = await db
      .prepare(
        // INDEXED BY: four index seeks whatever the planner's statistics say.
        `SELECT (SELECT MIN(seq) FROM audit_events INDEXED BY ${index} WHERE tenant = ?1${inOrg} AND ts = (
                  SELECT MIN(ts) FROM audit_events INDEXED BY ${index} WHERE tenant = ?1${inOrg} AND ts >= ?2 AND ts < ?3)) AS first,
                (SELECT MAX(seq) FROM audit_events INDEXED BY ${index} WHERE tenant = ?1${inOrg} AND ts = (
                  SELECT MAX(ts) FROM audit_events INDEXED BY ${index} WHERE tenant = ?1${inOrg} AND ts >= ?2 AND ts < ?3)) AS last`,
      )
      .bind(tenant, lo, hi, ...(org === undefined ? [] : [org]))
      .first<{ first: number | null; last: number | null }>();
    if (!ends || ends.first === null || ends.last === null) return { events: [], next: null };
    where.push('seq >= ?', 'seq <= ?', '+ts >= ?', '+ts < ?');
    args.push(ends.first, ends.last, lo, hi);
  }
  if (filter.user !== undefined) {
    const refs = await blindIndexes(ring, 'user', filter.user);
    where.push(`actor_ref IN (${refs.map(() => '?').join(', ')})`);
    args.push(...refs);
  }
  if (filter.ip !== undefined) {
    const refs = await blindIndexes(ring, 'ip', filter.ip);
    where.push(`ip_ref IN (${refs.map(() => '?').join(', ')})`);
    args.push(...refs);
  }
  if (filter.app !== undefined) {
    where.push('app = ?');
    args.push(filter.app);
  }
  if (filter.types?.length) {
    where.push(`type IN (${filter.types.map(() => '?').join(', ')})`);
    args.push(...filter.types);
  }
  if (filter.outcome !== undefined) {
    where.push('outcome = ?');
    args.push(filter.outcome);
  }
  if (o.after !== undefined) {
    where.push(o.order === 'desc' ? 'seq < ?' : 'seq > ?');
    args.push(o.after);
  }
  const { results } = await db
    .prepare(`SELECT * FROM audit_events WHERE ${where.join(' AND ')} ORDER BY seq ${o.order === 'desc' ? 'DESC' : 'ASC'} LIMIT ?`)
    .bind(...args, o.limit + 1)
    .all<AuditRow>();
  const rows = results.slice(0, o.limit);
  const events: ChainedEvent[] = [];
  for (const r of rows) {
    // A row that does not open is tampering; listing says so rather than hiding it.
    const event = await openRow(ring, r).catch(() => null);
    if (!event) throw new AuditIntegrityError(r.seq);
    // The org column chose the row; the sealed event must agree, so a column moved in D1 never
    // shows one organisation's event to another's readers.
    if (filter.org !== undefined && orgColumn(event.org) !== org) throw new AuditIntegrityError(r.seq);
    events.push({ event, prev_hash: r.prev_hash, hash: r.hash });
  }
  return { events, next: results.length > o.limit ? rows[rows.length - 1]!.seq : null };
}

/** A stored row did not open: the log was tampered with at `seq` (run verify). */
export class AuditIntegrityError extends Error {
  override readonly name = 'AuditIntegrityError';
  constructor(readonly seq: number) {
    super(`audit row ${seq} does not open: the log was tampered with; run verify`);
  }
}

/** A page of the chain that verified (from D1, or an archived segment whole: archive-verify.ts). */
export interface VerifiedPage {
  ok: true;
  from: number;
  /** The point this page verified from (the row, checkpoint or genesis before `from`); a reader checks the page before ended there. */
  start: ChainPoint;
  to: number;
  rows: number;
  checkpoints: number;
  complete: boolean;
  next: number | null;
  head: ChainPoint;
}

export type VerifyReport =
  | VerifiedPage
  | { ok: false; from: number; seq: number; problem: ChainProblem; detail: string; rows: number; checkpoints: number };

/**
 * Verify a tenant's chain from sequence `from` (1 = the start, or the retention checkpoint if the
 * start was pruned), at most `limit` rows. At the end of the chain, the last row must be the
 * sequencer's head and no checkpoint may lie beyond it: a cut-off tail is reported as deleted.
 * Archived segments (R2, archive.ts) are part of the chain: a page that starts in one verifies that
 * whole segment from its object (`archive`: the bucket; without one, archived rows are missing).
 */
export async function verifyTenant(
  db: D1Database,
  ring: Keyring,
  tenant: string,
  head: ChainPoint,
  from: number,
  limit: number,
  archive: ArchiveBucket | null = null,
): Promise<VerifyReport> {
  const jwks = await checkpointJwks(ring);
  let start: ChainPoint = START;
  const fail = (seq: number, problem: ChainProblem, detail: string, rows = 0, checkpoints = 0): VerifyReport => ({
    ok: false,
    from,
    seq,
    problem,
    detail,
    rows,
    checkpoints,
  });

  const anchorRow = await latestRetentionCheckpoint(db, tenant);
  let anchor: Checkpoint | null = null;
  if (anchorRow) {
    try {
      anchor = await verifyCheckpoint(anchorRow.jws, jwks);
    } catch (err) {
      return fail(anchorRow.seq, 'bad-checkpoint', `the retention checkpoint does not verify: ${(err as Error).message}`);
    }
    if (anchor.tenant !== tenant || anchor.seq !== anchorRow.seq)
      return fail(anchorRow.seq, 'bad-checkpoint', 'the retention checkpoint is for another position');
  }
  const anchorPoint: ChainPoint = anchor ? { seq: anchor.seq, hash: anchor.hash } : START;
  // Segments archived before a later retention checkpoint are behind it: the chain starts there.
  const archived = await lastArchived(db, tenant);
  const archivedThrough = archived && archived.last_seq > anchorPoint.seq ? archived.last_seq : null;
  const first = Math.max(from, anchorPoint.seq + 1);
  if (archivedThrough !== null && first <= archivedThrough) {
    const seg = await segmentAt(db, tenant, first);
    if (!seg) return fail(first, 'deleted', `sequence ${first} is neither in D1 nor in an archived segment`);
    if (!archive) return fail(seg.first_seq, 'deleted', 'events were archived to R2, but no AUDIT_ARCHIVE bucket is bound');
    const r = await verifySegment(db, ring, jwks, archive, seg, anchorPoint);
    return r.ok ? { ...r, head: r.head } : fail(r.seq, r.problem, r.detail, r.rows, r.checkpoints);
  }
  if (from <= 1 || from <= anchorPoint.seq + 1 || (archivedThrough !== null && from <= archivedThrough + 1)) {
    if (archivedThrough === null) start = anchorPoint;
    else {
      // D1's part starts after the newest archived segment, at its signed closing checkpoint.
      const p = await signedPoint(db, jwks, tenant, archivedThrough);
      if (!p)
        return fail(archivedThrough, 'bad-checkpoint', `the checkpoint closing archived segment at ${archivedThrough} does not verify`);
      start = p;
    }
  } else {
    // A later page: continue from the row before it (verified by the previous page of this run).
    const prev = await db
      .prepare('SELECT seq, hash FROM audit_events WHERE tenant = ? AND seq = ?')
      .bind(tenant, from - 1)
      .first<ChainPoint>();
    if (!prev) return fail(from - 1, 'deleted', `sequence ${from - 1} is missing`);
    start = prev;
  }

  const { results: rows } = await db
    .prepare('SELECT * FROM audit_events WHERE tenant = ? AND seq > ? ORDER BY seq LIMIT ?')
    .bind(tenant, start.seq, limit)
    .all<AuditRow>();
  const r = await verifyRows(ring, rows, start);
  if (!r.ok) return { ...fail(r.seq, r.problem, r.detail, r.rows) };
  const last = r.head;
  const complete = rows.length < limit;
  const cps = await checkCheckpoints(db, jwks, tenant, rows, start.seq + 1, complete ? Number.MAX_SAFE_INTEGER : last.seq);
  if (!cps.ok) return fail(cps.seq, cps.problem, cps.detail, r.rows, cps.checkpoints);
  const checkpoints = cps.checkpoints;
  if (complete) {
    if (head.seq > last.seq)
      return fail(
        last.seq + 1,
        'deleted',
        `the sequencer wrote up to ${head.seq}; rows after ${last.seq} are missing`,
        r.rows,
        checkpoints,
      );
    if (head.seq === last.seq && head.seq > 0 && head.hash !== last.hash)
      return fail(last.seq, 'modified', 'the last row is not the head the sequencer wrote', r.rows, checkpoints);
  }
  return {
    ok: true,
    from: start.seq + 1,
    start,
    to: last.seq,
    rows: r.rows,
    checkpoints,
    complete,
    next: complete ? null : last.seq + 1,
    head: last,
  };
}
