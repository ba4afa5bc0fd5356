/**
 * @module One-time codes, the readable format of recovery codes and enrolment invitations, and
 * spending one: exactly once, for its own user.
 */
import { blindIndexes } from '../crypto/blind-index';
import type { Keyring } from '../crypto/keyring';

// Recovery codes: 5 groups of 5 base32 characters = 125 bits, far above the 112 bits
// ASVS 6.5.2 asks for before a plain hash is allowed,
// so a plain SHA-256 (bound to the user) is a sufficient one-way hash.
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export const newRecoveryCode = (): string => {
  const b = crypto.getRandomValues(new Uint8Array(25));
  const chars = [...b].map((x) => B32[x & 31]).join('');
  return chars.match(/.{5}/g)!.join('-');
};
/** Normalize what a person typed: case, spaces and dashes do not matter. */
export const normalizeRecoveryCode = (typed: string): string | null => {
  const c = typed.toUpperCase().replace(/[\s-]/g, '');
  return /^[A-Z2-7]{25}$/.test(c) ? c.match(/.{5}/g)!.join('-') : null;
};

/**
 * Spend a one-time code of the user's (recovery code or invitation): a conditional UPDATE per key
 * id, so exactly one of any number of racing requests succeeds. Invitations must also be unexpired.
 */
export async function spendCode(
  db: D1Database,
  ring: Keyring,
  sub: string,
  typed: string,
  now: number,
  table: 'recovery_codes' | 'enrolment_invites',
  hash: (userRef: string, code: string) => Promise<string>,
): Promise<boolean> {
  const code = normalizeRecoveryCode(typed);
  if (!code) return false;
  const expiry = table === 'enrolment_invites' ? ' AND expires_at > ?' : '';
  for (const userRef of await blindIndexes(ring, 'user', sub)) {
    const r = await db
      .prepare(`UPDATE ${table} SET used_at = ? WHERE code_hash = ? AND user_ref = ? AND used_at IS NULL${expiry}`)
      .bind(now, await hash(userRef, code), userRef, ...(expiry ? [now] : []))
      .run();
    if (r.meta.changes === 1) return true;
  }
  return false;
}
