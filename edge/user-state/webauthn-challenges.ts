/** @module WebAuthn ceremony challenges (a registration, or the assertion for a step-up), one per key, bound to a session. */
import { CHALLENGE_TTL_MS } from './challenge';

/** Remember a ceremony's challenge for this session (replacing the key's previous one); returns when it expires. */
export function putWebauthnChallenge(sql: SqlStorage, key: string, sid: string, challenge: string, now: number): number {
  const expiresAt = now + CHALLENGE_TTL_MS;
  sql.exec(
    'INSERT INTO webauthn_challenges (key, sid, challenge, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (key) ' +
      'DO UPDATE SET sid = excluded.sid, challenge = excluded.challenge, expires_at = excluded.expires_at',
    key,
    sid,
    challenge,
    expiresAt,
  );
  return expiresAt;
}

/** Take a ceremony's challenge: once (DELETE … RETURNING), for its own session, before it expires. */
export function takeWebauthnChallenge(sql: SqlStorage, key: string, sid: string, now: number): string | null {
  const row = sql
    .exec<{ challenge: string }>(
      'DELETE FROM webauthn_challenges WHERE key = ? AND sid = ? AND expires_at > ? RETURNING challenge',
      key,
      sid,
      now,
    )
    .toArray()[0];
  return row ? row.challenge : null;
}

/** Drop a key's challenge whichever session it is for. */
export function dropWebauthnChallenges(sql: SqlStorage, key: string): void {
  sql.exec('DELETE FROM webauthn_challenges WHERE key = ?', key);
}

export function sweepWebauthnChallenges(sql: SqlStorage, now: number): void {
  sql.exec('DELETE FROM webauthn_challenges WHERE expires_at <= ?', now);
}
