/**
 * @module Revocation of a person's step-up state (docs/admin.md, "Revocation"): the moment before
 * which every grant they hold stops counting, and the sweep that drops everything pending — challenges,
 * held requests, one-time approvals, WebAuthn ceremonies — so nothing minted or approved before it
 * passes a request after it.
 */

/** What a revocation dropped. */
export interface RevokedState {
  challenges: number;
  held: number;
  approvals: number;
}

/** When the person's grants were last revoked (ms; 0 = never). A grant is honoured only if its auth_time is after it. */
export function grantsRevokedAt(sql: SqlStorage): number {
  return sql.exec<{ at: number }>('SELECT grants_revoked_at AS at FROM revocation WHERE id = 1').toArray()[0]?.at ?? 0;
}

/**
 * Revoke as of `at`: the revocation time only moves forward (two racing revocations keep the later
 * one), and every challenge (answerable or not), hold, approval and WebAuthn ceremony is deleted.
 * Returns the ids of the challenges deleted, so the requests waiting on them can be woken.
 */
export function revokeState(sql: SqlStorage, at: number): RevokedState & { challengeIds: string[] } {
  sql.exec(
    'INSERT INTO revocation (id, grants_revoked_at) VALUES (1, ?) ON CONFLICT (id) ' +
      'DO UPDATE SET grants_revoked_at = MAX(grants_revoked_at, excluded.grants_revoked_at)',
    at,
  );
  const challengeIds = sql
    .exec<{ id: string }>('DELETE FROM challenges RETURNING id')
    .toArray()
    .map((r) => r.id);
  // Approved holds too: an approval given before the revocation must not carry its request out after it.
  const held = sql.exec('DELETE FROM held RETURNING challenge').toArray().length;
  const approvals = sql.exec('DELETE FROM approvals RETURNING sid').toArray().length;
  sql.exec('DELETE FROM webauthn_challenges');
  return { challenges: challengeIds.length, held, approvals, challengeIds };
}

/**
 * Whether a grant stepped up at `authTime` (seconds, as grants carry it) is revoked by a revocation
 * at `revokedAt` (ms; 0 = never). One from the same second as the revocation is: the second cannot
 * tell before from after, and refusing is the safe side (the person steps up again a second later).
 */
export const grantRevoked = (authTime: number, revokedAt: number): boolean => revokedAt > 0 && authTime * 1000 <= revokedAt;
