/**
 * @module D1 queries for enrolment invitations: one-time codes an administrator issues so that a
 * person may enrol a first factor (enrolment `invite`). Stored only as hashes bound to their user.
 */
import { sha256b64u } from '../../crypto/base64';
import { blindIndex } from '../../crypto/blind-index';
import type { Keyring } from '../../crypto/keyring';
import { newRecoveryCode, spendCode } from '../one-time-code';

/** Invitations are valid for a day. */
export const INVITE_TTL_MS = 24 * 60 * 60 * 1000;
const inviteHash = (userRef: string, code: string) => sha256b64u(`invite\0${userRef}\0${code}`);

/** Issue a one-time invitation for `sub` to enrol a first factor; returns the code (shown once). */
export async function issueInvite(db: D1Database, ring: Keyring, sub: string, issuedBy: string, now: number): Promise<string> {
  const code = newRecoveryCode(); // 125 bits, the same readable format
  const userRef = await blindIndex(ring, 'user', sub);
  await db
    .prepare('INSERT INTO enrolment_invites (code_hash, user_ref, issued_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?)')
    .bind(await inviteHash(userRef, code), userRef, await blindIndex(ring, 'user', issuedBy), now, now + INVITE_TTL_MS)
    .run();
  return code;
}

/** Spend an invitation: true exactly once, for its own user, before it expires. */
export const useInvite = (db: D1Database, ring: Keyring, sub: string, typed: string, now: number): Promise<boolean> =>
  spendCode(db, ring, sub, typed, now, 'enrolment_invites', inviteHash);
