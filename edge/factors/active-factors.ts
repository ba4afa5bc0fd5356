/**
 * @module What spans every kind of factor in D1: how many active factors a person has, the
 * first-factor condition, removal, and how an enrolment was allowed. Users appear only as blind indexes.
 */
import { blindIndexes } from '../crypto/blind-index';
import type { Keyring } from '../crypto/keyring';

/** `?, ?, …`: one placeholder per bound value (a user has one blind index per key). */
export const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');

/** How a factor is being enrolled, decided when it is completed: the first-factor policy, or a step-up with an existing factor. */
export type EnrolmentKind = 'first-use' | 'invite' | 'step-up';

/**
 * SQL that holds while the user (their blind indexes bound twice, `ph` each) has no active factor.
 * A first factor is stored on this condition in the same statement, so of racing first
 * enrolments exactly one is stored, and the others are left to a step-up.
 */
export const noActiveFactor = (ph: string) =>
  `NOT EXISTS (SELECT 1 FROM totp_factors WHERE status = 'active' AND user_ref IN (${ph})) AND
   NOT EXISTS (SELECT 1 FROM webauthn_credentials WHERE user_ref IN (${ph}))`;

/** How many active factors (of any kind) the user has. */
export async function activeFactorCount(db: D1Database, ring: Keyring, sub: string): Promise<number> {
  const refs = await blindIndexes(ring, 'user', sub);
  const ph = placeholders(refs.length);
  const row = await db
    .prepare(
      `SELECT (SELECT COUNT(*) FROM totp_factors WHERE status = 'active' AND user_ref IN (${ph})) +
              (SELECT COUNT(*) FROM webauthn_credentials WHERE user_ref IN (${ph})) AS n`,
    )
    .bind(...refs, ...refs)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** Remove one of the user's factors. True if it was theirs and is gone. */
export async function removeFactor(db: D1Database, ring: Keyring, sub: string, kind: 'totp' | 'webauthn', id: string): Promise<boolean> {
  const refs = await blindIndexes(ring, 'user', sub);
  const table = kind === 'totp' ? 'totp_factors' : 'webauthn_credentials';
  const ph = placeholders(refs.length);
  // One statement, so two racing removals cannot both see "two left" and leave none.
  const r = await db
    .prepare(
      `DELETE FROM ${table} WHERE id = ? AND user_ref IN (${ph}) AND
         (SELECT COUNT(*) FROM totp_factors WHERE status = 'active' AND user_ref IN (${ph})) +
         (SELECT COUNT(*) FROM webauthn_credentials WHERE user_ref IN (${ph})) > 1`,
    )
    .bind(id, ...refs, ...refs, ...refs)
    .run();
  return r.meta.changes === 1;
}
