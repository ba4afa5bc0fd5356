/** @module D1 queries for recovery codes: stored only as hashes, users only as blind indexes. */
import { sha256b64u } from '../../crypto/base64';
import { blindIndex, blindIndexes } from '../../crypto/blind-index';
import type { Keyring } from '../../crypto/keyring';
import { sealOwner } from '../../crypto/encryption-context';
import { placeholders } from '../active-factors';
import { newRecoveryCode, normalizeRecoveryCode, spendCode } from '../one-time-code';

export const RECOVERY_CODE_COUNT = 10;
/** Recovery codes before migration 0006 were hashed with the user's blind index (which key rotation cannot re-derive). */
const recoveryHash = (userRef: string, code: string) => sha256b64u(`recovery\0${userRef}\0${code}`);
/** Since 0006: the code alone (125 random bits); the row's user_ref binds it to its owner, and rotation can re-index it. */
const recoveryHashV2 = (code: string) => sha256b64u(`recovery\0v2\0${code}`);

/** Replace the user's recovery codes with a new set; returns the codes, which are never stored or shown again. */
export async function issueRecoveryCodes(db: D1Database, ring: Keyring, sub: string, now: number): Promise<string[]> {
  const userRef = await blindIndex(ring, 'user', sub);
  const refs = await blindIndexes(ring, 'user', sub);
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  await db.batch([
    db.prepare(`DELETE FROM recovery_codes WHERE user_ref IN (${placeholders(refs.length)})`).bind(...refs),
    ...(await Promise.all(
      codes.map(async (c) =>
        db
          .prepare('INSERT INTO recovery_codes (code_hash, user_ref, created_at, sub_sealed) VALUES (?, ?, ?, ?)')
          .bind(await recoveryHashV2(c), userRef, now, await sealOwner(ring, 'recovery_codes', await recoveryHashV2(c), sub)),
      ),
    )),
  ]);
  return codes;
}

/** Spend a recovery code: true exactly once per code, however many requests race (one conditional UPDATE). */
export const useRecoveryCode = async (db: D1Database, ring: Keyring, sub: string, typed: string, now: number): Promise<boolean> => {
  const code = normalizeRecoveryCode(typed);
  if (code) {
    const refs = await blindIndexes(ring, 'user', sub);
    const r = await db
      .prepare(
        `UPDATE recovery_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL AND user_ref IN (${placeholders(refs.length)})`,
      )
      .bind(now, await recoveryHashV2(code), ...refs)
      .run();
    if (r.meta.changes === 1) return true;
  }
  return spendCode(db, ring, sub, typed, now, 'recovery_codes', recoveryHash);
};

/** How many unused recovery codes the user has left. */
export async function recoveryCodesLeft(db: D1Database, ring: Keyring, sub: string): Promise<number> {
  const refs = await blindIndexes(ring, 'user', sub);
  const row = await db
    .prepare(`SELECT COUNT(*) AS n FROM recovery_codes WHERE used_at IS NULL AND user_ref IN (${placeholders(refs.length)})`)
    .bind(...refs)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** Delete every recovery code of the person (`refs`: their blind indexes), used or not, as a statement for one batch. */
export const deleteRecoveryCodesOf = (db: D1Database, refs: readonly string[]): D1PreparedStatement =>
  db.prepare(`DELETE FROM recovery_codes WHERE user_ref IN (${placeholders(refs.length)})`).bind(...refs);
