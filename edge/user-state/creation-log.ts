/** @module Challenge creation rationing: when each of a person's challenges was opened, and by which session, for the last minute. */
import { MAX_CHALLENGES_PER_SESSION_PER_MINUTE, MAX_CHALLENGES_PER_USER_PER_MINUTE } from './limits';
import type { ChallengeRefusal } from './results';

/** A creation limit this session (then the person) is at, with when it frees up; null when a challenge may be opened. */
export function creationRefusal(sql: SqlStorage, sid: string, now: number): ChallengeRefusal | null {
  /** When the oldest creation that keeps this session (or, with null, the person) at its limit leaves the minute; null: under it. */
  const fullUntil = (only: string | null, limit: number): number | null => {
    const rows = sql
      .exec<{ at: number }>(
        `SELECT at FROM challenge_log WHERE at > ?${only === null ? '' : ' AND sid = ?'} ORDER BY at ASC`,
        now - 60_000,
        ...(only === null ? [] : [only]),
      )
      .toArray();
    return rows.length >= limit ? rows[rows.length - limit]!.at + 60_000 : null;
  };
  const sessionFree = fullUntil(sid, MAX_CHALLENGES_PER_SESSION_PER_MINUTE);
  if (sessionFree !== null) return { ok: false, reason: 'challenge-rate-limit', limit: 'session', retryAt: sessionFree };
  const personFree = fullUntil(null, MAX_CHALLENGES_PER_USER_PER_MINUTE);
  if (personFree !== null) return { ok: false, reason: 'challenge-rate-limit', limit: 'person', retryAt: personFree };
  return null;
}

export function logCreation(sql: SqlStorage, sid: string, at: number): void {
  sql.exec('INSERT INTO challenge_log (at, sid) VALUES (?, ?)', at, sid);
}

/** Forget one creation (a challenge withdrawn as if never made), so it does not count against the ration. */
export function forgetCreation(sql: SqlStorage, sid: string, at: number): void {
  sql.exec('DELETE FROM challenge_log WHERE rowid IN (SELECT rowid FROM challenge_log WHERE sid = ? AND at = ? LIMIT 1)', sid, at);
}

/** Creation records older than the minute they count in. */
export function sweepCreationLog(sql: SqlStorage, now: number): void {
  sql.exec('DELETE FROM challenge_log WHERE at <= ?', now - 60_000);
}
