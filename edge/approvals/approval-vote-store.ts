/**
 * @module The D1 rows of approvers' decisions (`approval_votes`, migration 0017): one per person per
 * request (the primary key). An approval counts once its event is on the record (`recorded`); a
 * denial counts at once and closes the request in the same transaction.
 */
import { placeholders } from '../factors/active-factors';
import { OPEN } from './approval-store';

export interface VoteRow {
  approval_id: string;
  approver_ref: string;
  vote: 'approve' | 'deny';
  eligible_json: string;
  sealed: string;
  at: number;
  /** 1 once its event is on the record: only recorded approvals count toward the quorum. */
  recorded: number;
}

export async function votesOf(db: D1Database, id: string): Promise<VoteRow[]> {
  const { results } = await db.prepare('SELECT * FROM approval_votes WHERE approval_id = ? ORDER BY at').bind(id).all<VoteRow>();
  return results;
}

/** The votes of several requests at once (one query per 90), by request id. */
export async function votesOfMany(db: D1Database, ids: readonly string[]): Promise<Map<string, VoteRow[]>> {
  const out = new Map<string, VoteRow[]>(ids.map((id) => [id, []]));
  for (let i = 0; i < ids.length; i += 90) {
    const part = ids.slice(i, i + 90);
    const { results } = await db
      .prepare(`SELECT * FROM approval_votes WHERE approval_id IN (${placeholders(part.length)}) ORDER BY at`)
      .bind(...part)
      .all<VoteRow>();
    for (const v of results) out.get(v.approval_id)?.push(v);
  }
  return out;
}

/**
 * Record a decision, once per person, only while the request is open and not expired. An approval
 * is written unrecorded (it counts once `markVoteRecorded` says its event is on the record); a denial
 * counts at once, replaces the person's own approval, and closes the request in the same
 * transaction. False when nothing was recorded (already decided, closed, or expired).
 */
export async function insertVote(db: D1Database, v: Omit<VoteRow, 'recorded'>, now: number): Promise<boolean> {
  const approve = v.vote === 'approve';
  const insert = db
    .prepare(
      `INSERT INTO approval_votes (approval_id, approver_ref, vote, eligible_json, sealed, at, recorded) SELECT ?, ?, ?, ?, ?, ?, ? ` +
        // Only under the request's current key: a vote whose index was computed before the request was
        // re-keyed (edge/audit/approval-reencryption.ts) is refused, or one person could count twice.
        `WHERE EXISTS (SELECT 1 FROM approval_requests WHERE id = ? AND key_id = ? ` +
        `AND ${approve ? "state = 'pending'" : OPEN} AND expires_at > ?) ` +
        // Why: denying is the safe direction; an approver who approved and then saw a problem may still deny.
        (approve
          ? `ON CONFLICT DO NOTHING`
          : `ON CONFLICT (approval_id, approver_ref) DO UPDATE SET vote = 'deny', sealed = excluded.sealed, at = excluded.at, ` +
            `recorded = 1 WHERE approval_votes.vote = 'approve'`),
    )
    .bind(
      v.approval_id,
      v.approver_ref,
      v.vote,
      v.eligible_json,
      v.sealed,
      v.at,
      approve ? 0 : 1,
      v.approval_id,
      v.approver_ref.slice(0, v.approver_ref.indexOf('.')),
      now,
    );
  if (approve) return (await insert.run()).meta.changes === 1;
  // Why one batch: a denial that is recorded has closed the request; none can be carried out after it.
  const [ins] = await db.batch([
    insert,
    db
      .prepare(
        `UPDATE approval_requests SET state = 'denied', closed_at = ?, request_sealed = NULL WHERE id = ? AND ${OPEN} ` +
          `AND EXISTS (SELECT 1 FROM approval_votes WHERE approval_id = ? AND approver_ref = ? AND vote = 'deny' AND at = ?)`,
      )
      .bind(now, v.approval_id, v.approval_id, v.approver_ref, v.at),
  ]);
  return ins!.meta.changes === 1;
}

/** An approval's event is on the record: from now on it counts. */
export async function markVoteRecorded(db: D1Database, id: string, ref: string): Promise<void> {
  await db
    .prepare(`UPDATE approval_votes SET recorded = 1 WHERE approval_id = ? AND approver_ref = ? AND vote = 'approve'`)
    .bind(id, ref)
    .run();
}

/** An approval whose event could not be written goes (it never counted). */
export async function dropUnrecordedVote(db: D1Database, id: string, ref: string): Promise<void> {
  await db.prepare('DELETE FROM approval_votes WHERE approval_id = ? AND approver_ref = ? AND recorded = 0').bind(id, ref).run();
}

/** Whether this person has decided on the request (recorded or not). */
export const hasDecided = async (db: D1Database, id: string, ref: string): Promise<boolean> =>
  (await db.prepare('SELECT 1 AS x FROM approval_votes WHERE approval_id = ? AND approver_ref = ?').bind(id, ref).first()) !== null;
