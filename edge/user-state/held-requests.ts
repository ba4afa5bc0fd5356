/**
 * @module Held requests: the sealed original request kept while its challenge is answered, capped per
 * session and per person, and taken once after approval.
 */
import {
  HELD_APPROVAL_WINDOW_MS,
  MAX_HELD_BYTES_PER_SESSION,
  MAX_HELD_REQUESTS,
  MAX_HELD_REQUESTS_PER_SESSION,
  MAX_HELD_TOTAL_BYTES,
} from './limits';
import type { ChallengeRefusal } from './results';

/**
 * Why a hold of `bytes` for this session would pass its share or the person's cap (with when one
 * frees up), or null when it fits. Older holds are never dropped to make room.
 */
export function holdRefusal(sql: SqlStorage, sid: string, bytes: number, now: number): ChallengeRefusal | null {
  // This session's share first, then the person's cap: one session never fills the person's.
  for (const [scope, maxN, maxBytes] of [
    ['session', MAX_HELD_REQUESTS_PER_SESSION, MAX_HELD_BYTES_PER_SESSION],
    ['person', MAX_HELD_REQUESTS, MAX_HELD_TOTAL_BYTES],
  ] as const) {
    const only = scope === 'session' ? ' WHERE h.sid = ?' : '';
    const args = scope === 'session' ? [sid] : [];
    const h = sql
      .exec<{ n: number; bytes: number }>(`SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS bytes FROM held h${only}`, ...args)
      .one();
    if (h.n >= maxN || h.bytes + bytes > maxBytes) {
      // A waiting hold goes when its challenge does; an approved one at the end of its window.
      const freed = sql
        .exec<{ t: number | null }>(
          `SELECT MIN(COALESCE(c.expires_at, h.expires_at)) AS t FROM held h ` +
            `LEFT JOIN challenges c ON h.approved = 0 AND c.id = h.challenge${only}`,
          ...args,
        )
        .one().t;
      return {
        ok: false,
        reason: 'hold-limit',
        limit: h.n >= maxN ? 'count' : 'bytes',
        scope,
        retryAt: Math.max(freed ?? now, now + 1000),
      };
    }
  }
  return null;
}

/** Hold a sealed request for a new challenge: until the challenge expires, or once approved, for the approval window after. */
export function holdRequest(sql: SqlStorage, challenge: { id: string; sid: string; expiresAt: number }, sealed: string): void {
  sql.exec(
    'INSERT INTO held (challenge, sid, sealed, expires_at, bytes) VALUES (?, ?, ?, ?, ?)',
    challenge.id,
    challenge.sid,
    sealed,
    challenge.expiresAt + HELD_APPROVAL_WINDOW_MS,
    sealed.length,
  );
}

/** The challenge was approved: its hold may now be taken by the session that made the request. */
export function approveHold(sql: SqlStorage, challenge: string, sid: string): void {
  sql.exec('UPDATE held SET approved = 1 WHERE challenge = ? AND sid = ?', challenge, sid);
}

/** Take the held request of an approved challenge: once (DELETE … RETURNING), for its own session, within its window. */
export function takeHeldRequest(sql: SqlStorage, challenge: string, sid: string, now: number): string | null {
  const taken = sql.exec<{ sealed: string }>(
    'DELETE FROM held WHERE challenge = ? AND sid = ? AND approved = 1 AND expires_at > ? RETURNING sealed',
    challenge,
    sid,
    now,
  );
  return taken.toArray()[0]?.sealed ?? null;
}

/** Drop a challenge's hold; with `onlyWaiting`, only one not yet approved. */
export function dropHold(sql: SqlStorage, challenge: string, onlyWaiting = false): void {
  sql.exec(`DELETE FROM held WHERE challenge = ?${onlyWaiting ? ' AND approved = 0' : ''}`, challenge);
}

/** Expired holds go, and those still waiting for a challenge that is gone. */
export function sweepHolds(sql: SqlStorage, now: number): void {
  sql.exec('DELETE FROM held WHERE expires_at <= ?', now);
  // A held request not yet approved lives only as long as its challenge.
  sql.exec('DELETE FROM held WHERE approved = 0 AND challenge NOT IN (SELECT id FROM challenges)');
}
