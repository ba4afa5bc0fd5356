/**
 * @module Answering a challenge inside the UserState: beginning an attempt (counted as a failure as
 * it begins), completing the challenge once its factor was verified, and the person denying it.
 */
import { recordApproval } from './approvals';
import { type Challenge, type ChallengeRow, toChallenge } from './challenge';
import { deleteChallenge, liveChallengeRow } from './challenge-store';
import { backingOff, clearFailures, countFailure, lockedOut, readFailures } from './failures';
import { approveHold, dropHold } from './held-requests';
import { MAX_ATTEMPTS_PER_CHALLENGE } from './limits';
import { checkNumber } from './number-match';
import type { AttemptResult } from './results';

/** See `UserState.beginAttempt`. */
export function beginAttempt(sql: SqlStorage, id: string, sid: string, number: number | undefined, now: number): AttemptResult {
  const f = readFailures(sql);
  if (lockedOut(f)) return { ok: false, reason: 'locked', retryAt: null };
  if (f.lockedUntil > now) return { ok: false, reason: 'locked', retryAt: f.lockedUntil };
  const row = liveChallengeRow(sql, id, now);
  // Another session's challenge: only a one-time approval, and only naming the number shown there.
  if (!row || (row.sid !== sid && row.bind !== 'action')) return { ok: false, reason: 'not-found' };
  if (row.attempts >= MAX_ATTEMPTS_PER_CHALLENGE) {
    deleteChallenge(sql, id);
    dropHold(sql, id, true);
    return { ok: false, reason: 'too-many' };
  }
  sql.exec('UPDATE challenges SET attempts = attempts + 1 WHERE id = ?', id);
  // Counted now, before the factor is checked, and cleared only by `completeChallenge`: a burst of
  // parallel guesses meets the back-off as it starts, not after.
  countFailure(sql, f, now);
  const matched = checkNumber(sql, row, sid, number);
  if (!matched.ok) return matched;
  return { ok: true, challenge: toChallenge(row), otherSession: row.sid !== sid };
}

/**
 * See `UserState.completeChallenge`. Also returns when the recorded approval expires (null: none
 * recorded), for the caller to schedule its sweep.
 */
export function completeChallenge(
  sql: SqlStorage,
  id: string,
  approverSid: string,
  amr: string[],
  number: number | undefined,
  now: number,
): { challenge: Challenge; approvalExpiresAt: number | null } | null {
  const row = liveChallengeRow(sql, id, now);
  if (!row) return null;
  // Approved from another session: a one-time approval naming the right number, stored for the
  // session that made the request (it is that session's identical request that then passes).
  if (row.sid !== approverSid && (row.bind !== 'action' || number !== row.number)) return null;
  const sid = row.sid;
  deleteChallenge(sql, id);
  clearFailures(sql);
  approveHold(sql, id, sid);
  const ch = toChallenge(row);
  const approvalExpiresAt =
    ch.bind === 'action' && ch.actionDigest
      ? recordApproval(sql, { sid, digest: ch.actionDigest, rule: ch.rule, amr, maxAgeSeconds: ch.maxAgeSeconds }, now)
      : null;
  return { challenge: ch, approvalExpiresAt };
}

/** See `UserState.denyChallenge`: the challenge and its hold are gone; the caller wakes a waiting request. */
export function denyChallenge(
  sql: SqlStorage,
  id: string,
  sid: string,
  now: number,
): (Challenge & { otherSession: boolean; counted: boolean }) | null {
  const row = sql
    .exec<ChallengeRow>(
      "DELETE FROM challenges WHERE id = ? AND expires_at > ? AND live = 1 AND (sid = ? OR bind = 'action') RETURNING *",
      id,
      now,
      sid,
    )
    .toArray()[0];
  if (!row) return null;
  dropHold(sql, id);
  const otherSession = row.sid !== sid;
  const f = readFailures(sql);
  // Only another session's prompt counts, and not while the person backs off (see `UserState.denyChallenge`).
  const counted = otherSession && !backingOff(f, now);
  if (counted) countFailure(sql, f, now);
  return { ...toChallenge(row), otherSession, counted };
}
