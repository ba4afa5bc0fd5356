/**
 * @module The D1 rows of dual-control requests (`approval_requests`, migration 0017; the votes are in
 * approval-vote-store.ts): every change of state is one conditional statement, so of any number of
 * racing callers exactly one moves a request from one state to the next (one quorum, one carry-out,
 * one expiry).
 */
import { placeholders } from '../factors/active-factors';

export type ApprovalState = 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled' | 'carried-out';

export interface ApprovalRow {
  id: string;
  org_id: string;
  app_id: string;
  rule: string;
  key_id: string;
  requester_ref: string;
  session_hash: string;
  action_digest: string;
  state: ApprovalState;
  requirement_json: string;
  request_sealed: string | null;
  view_sealed: string;
  justification_sealed: string | null;
  created_at: number;
  expires_at: number;
  closed_at: number | null;
  /** 1 once the quorum's event is on the record (only then can it be carried out). */
  quorum_recorded: number;
  /** 0 while the event of its closing (expiry, cancellation) is owed to the audit log. */
  closure_recorded: number;
}

/** At most this many requests wait (pending or approved) per person, and per organisation. */
export const MAX_OPEN_PER_PERSON = 10;
export const MAX_OPEN_PER_ORG = 200;
/** Closed requests are kept this long for their pages (the audit log keeps the history). */
export const CLOSED_KEPT_MS = 30 * 24 * 3600 * 1000;
/** Lists show at most this many of each kind. */
export const LIST_LIMIT = 50;
/** A person asks for at most this many approvals an hour (closed ones count): asking and cancelling in a loop floods nobody. */
export const MAX_ASKED_PER_HOUR = 30;
const HOUR_MS = 3600_000;

export const OPEN = `state IN ('pending', 'approved')`;

export type InsertResult = { ok: true; created: boolean; row: ApprovalRow } | { ok: false; reason: 'person-cap' | 'org-cap' | 'rate' };

/**
 * Insert a new pending request unless one for the same action of the same session is open (that one
 * is returned), or the person's or the organisation's open requests are at their caps, or the person
 * asked too often in the last hour — all in one statement, so racing requests cannot pass a cap.
 */
export async function insertApproval(
  db: D1Database,
  row: ApprovalRow,
  requesterRefs: readonly string[],
  now: number,
): Promise<InsertResult> {
  const cols = Object.keys(row) as (keyof ApprovalRow)[];
  const refs = placeholders(requesterRefs.length);
  const mine = `SELECT COUNT(*) AS n FROM approval_requests WHERE requester_ref IN (${refs})`;
  const inserted = await db
    .prepare(
      `INSERT INTO approval_requests (${cols.join(', ')}) SELECT ${placeholders(cols.length)} ` +
        `WHERE (${mine} AND ${OPEN} AND expires_at > ?) < ? ` +
        `AND (SELECT COUNT(*) FROM approval_requests WHERE org_id = ? AND ${OPEN} AND expires_at > ?) < ? ` +
        `AND (${mine} AND created_at > ?) < ? ` +
        `ON CONFLICT DO NOTHING`,
    )
    .bind(
      ...cols.map((c) => row[c]),
      ...requesterRefs,
      now,
      MAX_OPEN_PER_PERSON,
      row.org_id,
      now,
      MAX_OPEN_PER_ORG,
      ...requesterRefs,
      now - HOUR_MS,
      MAX_ASKED_PER_HOUR,
    )
    .run();
  if (inserted.meta.changes === 1) return { ok: true, created: true, row };
  const open = await openFor(db, requesterRefs, row.session_hash, row.action_digest);
  if (open) return { ok: true, created: false, row: open };
  const [waiting, asked] = await db.batch<{ n: number }>([
    db.prepare(`${mine} AND ${OPEN} AND expires_at > ?`).bind(...requesterRefs, now),
    db.prepare(`${mine} AND created_at > ?`).bind(...requesterRefs, now - HOUR_MS),
  ]);
  if ((waiting!.results[0]?.n ?? 0) >= MAX_OPEN_PER_PERSON) return { ok: false, reason: 'person-cap' };
  return { ok: false, reason: (asked!.results[0]?.n ?? 0) >= MAX_ASKED_PER_HOUR ? 'rate' : 'org-cap' };
}

/** The open request of this exact action of this session (pending or approved), if any. */
export const openFor = (db: D1Database, requesterRefs: readonly string[], sessionHash: string, digest: string) =>
  db
    .prepare(
      `SELECT * FROM approval_requests WHERE requester_ref IN (${placeholders(requesterRefs.length)}) ` +
        `AND session_hash = ? AND action_digest = ? AND ${OPEN} ORDER BY created_at DESC LIMIT 1`,
    )
    .bind(...requesterRefs, sessionHash, digest)
    .first<ApprovalRow>();

export const getApproval = (db: D1Database, id: string) =>
  db.prepare('SELECT * FROM approval_requests WHERE id = ?').bind(id).first<ApprovalRow>();

/** The open requests of an organisation, oldest first (at most MAX_OPEN_PER_ORG exist). */
export async function openOfOrg(db: D1Database, orgId: string, now: number): Promise<ApprovalRow[]> {
  const { results } = await db
    .prepare(`SELECT * FROM approval_requests WHERE org_id = ? AND ${OPEN} AND expires_at > ? ORDER BY created_at LIMIT ?`)
    .bind(orgId, now, MAX_OPEN_PER_ORG)
    .all<ApprovalRow>();
  return results;
}

/** A person's own requests in an organisation, newest first. */
export async function requestsOf(db: D1Database, orgId: string, requesterRefs: readonly string[]): Promise<ApprovalRow[]> {
  const { results } = await db
    .prepare(
      `SELECT * FROM approval_requests WHERE org_id = ? AND requester_ref IN (${placeholders(requesterRefs.length)}) ` +
        `ORDER BY created_at DESC LIMIT ?`,
    )
    .bind(orgId, ...requesterRefs, LIST_LIMIT)
    .all<ApprovalRow>();
  return results;
}

/**
 * pending → approved, once: true for exactly one of any number of racing callers. It can be carried
 * out only once `markQuorumRecorded` says its event is on the record.
 */
export async function markApproved(db: D1Database, id: string, now: number): Promise<boolean> {
  const r = await db
    .prepare(`UPDATE approval_requests SET state = 'approved' WHERE id = ? AND state = 'pending' AND expires_at > ?`)
    .bind(id, now)
    .run();
  return r.meta.changes === 1;
}

/** The quorum's event is on the record: the request may now be carried out. */
export async function markQuorumRecorded(db: D1Database, id: string): Promise<void> {
  await db.prepare(`UPDATE approval_requests SET quorum_recorded = 1 WHERE id = ? AND state = 'approved'`).bind(id).run();
}

/** The quorum's event could not be written: approved → pending again (nothing could be carried out meanwhile). */
export async function unmarkApproved(db: D1Database, id: string): Promise<void> {
  await db
    .prepare(`UPDATE approval_requests SET state = 'pending' WHERE id = ? AND state = 'approved' AND quorum_recorded = 0`)
    .bind(id)
    .run();
}

/**
 * approved → carried-out, once, for the session that asked, once its quorum is on the record; its
 * sealed bytes are dropped in the same statement (the caller read them with the row). True once.
 */
export async function takeApproved(db: D1Database, id: string, sessionHash: string, now: number): Promise<boolean> {
  const r = await db
    .prepare(
      `UPDATE approval_requests SET state = 'carried-out', closed_at = ?, request_sealed = NULL ` +
        `WHERE id = ? AND session_hash = ? AND state = 'approved' AND quorum_recorded = 1 AND expires_at > ?`,
    )
    .bind(now, id, sessionHash, now)
    .run();
  return r.meta.changes === 1;
}

/** Undo a take whose record could not be written (nothing was forwarded): the request can be carried out again. */
export async function untake(db: D1Database, id: string, requestSealed: string | null): Promise<void> {
  await db
    .prepare(`UPDATE approval_requests SET state = 'approved', closed_at = NULL, request_sealed = ? WHERE id = ? AND state = 'carried-out'`)
    .bind(requestSealed, id)
    .run();
}

/** The requester closes their open request, owing its event: true once. */
export async function markCancelled(db: D1Database, id: string, requesterRefs: readonly string[], now: number): Promise<boolean> {
  const r = await db
    .prepare(
      `UPDATE approval_requests SET state = 'cancelled', closed_at = ?, request_sealed = NULL, closure_recorded = 0 ` +
        `WHERE id = ? AND requester_ref IN (${placeholders(requesterRefs.length)}) AND ${OPEN}`,
    )
    .bind(now, id, ...requesterRefs)
    .run();
  return r.meta.changes === 1;
}

/** Set the requester's reason, once, while the request is pending and nobody has decided. */
export async function setJustification(db: D1Database, id: string, sealed: string, now: number): Promise<boolean> {
  const r = await db
    .prepare(
      `UPDATE approval_requests SET justification_sealed = ? WHERE id = ? AND state = 'pending' AND expires_at > ? ` +
        `AND justification_sealed IS NULL AND NOT EXISTS (SELECT 1 FROM approval_votes WHERE approval_id = ?)`,
    )
    .bind(sealed, id, now, id)
    .run();
  return r.meta.changes === 1;
}

/**
 * Open requests past their expiry become expired, owing their event; returned with every other
 * closing still owed (an expiry or cancellation whose record failed before), oldest first, at most 100.
 */
export async function expireDue(db: D1Database, now: number, orgId?: string): Promise<ApprovalRow[]> {
  const org = orgId === undefined ? '' : ' AND org_id = ?';
  const orgArg = orgId === undefined ? [] : [orgId];
  const [, owed] = await db.batch<ApprovalRow>([
    db
      .prepare(
        `UPDATE approval_requests SET state = 'expired', closed_at = ?, request_sealed = NULL, closure_recorded = 0 ` +
          `WHERE ${OPEN} AND expires_at <= ?${org}`,
      )
      .bind(now, now, ...orgArg),
    db.prepare(`SELECT * FROM approval_requests WHERE closure_recorded = 0${org} ORDER BY closed_at LIMIT 100`).bind(...orgArg),
  ]);
  return owed!.results;
}

/** The closings of these requests are on the record. */
export async function markClosureRecorded(db: D1Database, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .prepare(`UPDATE approval_requests SET closure_recorded = 1 WHERE id IN (${placeholders(ids.length)})`)
    .bind(...ids)
    .run();
}

/** Closed requests older than CLOSED_KEPT_MS go, with their votes. */
export async function pruneClosed(db: D1Database, now: number): Promise<number> {
  const r = await db
    .prepare(`DELETE FROM approval_requests WHERE closed_at IS NOT NULL AND closed_at < ? AND closure_recorded = 1`)
    .bind(now - CLOSED_KEPT_MS)
    .run();
  return r.meta.changes;
}
