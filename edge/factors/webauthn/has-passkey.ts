/**
 * @module hasPasskey: whether a person has registered at least one passkey. Administration asks it
 * (one D1 read per admin call) to decide whether a step-up made with a code is enough.
 */
import { blindIndexes } from '../../crypto/blind-index';
import type { Keyring } from '../../crypto/keyring';
import { placeholders } from '../active-factors';

/** Whether `sub` has a passkey: one indexed EXISTS over their blind indexes (every live key), nothing decrypted. */
export async function hasPasskey(db: D1Database, ring: Keyring, sub: string): Promise<boolean> {
  const refs = await blindIndexes(ring, 'user', sub);
  const row = await db
    .prepare(`SELECT EXISTS (SELECT 1 FROM webauthn_credentials WHERE user_ref IN (${placeholders(refs.length)})) AS has`)
    .bind(...refs)
    .first<{ has: number }>();
  return (row?.has ?? 0) === 1;
}
