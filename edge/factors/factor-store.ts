/**
 * @module D1 queries for factors. Users appear only as blind indexes; TOTP secrets only sealed
 * with AAD binding them to their row; recovery codes only as hashes.
 */
import { generateSecret } from 'otplib';
import { base64url, fromBase64url, sha256b64u } from '../../shared/base64';
import { open, seal } from '../crypto/aead';
import { blindIndex, blindIndexes } from '../crypto/blind-index';
import type { Keyring } from '../crypto/keyring';
import { passkeyNicknameAad, sealOwner, totpSecretAad } from '../crypto/encryption-context';

export interface TotpFactor {
  id: string;
  secret: string;
}

const newId = (): string => base64url(crypto.getRandomValues(new Uint8Array(16)));
const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');

/** A TOTP enrolment must be confirmed within ten minutes; maintenance deletes older pending rows. */
export const PENDING_TOTP_TTL_MS = 10 * 60 * 1000;

/**
 * Start a TOTP enrolment: a fresh 160-bit secret, stored sealed and pending until a first code
 * confirms it. A person has at most one pending enrolment: a new start replaces the old one, in
 * the same D1 batch, so however many starts race, one row is left.
 */
export async function createPendingTotp(
  db: D1Database,
  ring: Keyring,
  sub: string,
  now: number,
  begun: EnrolmentKind,
): Promise<TotpFactor> {
  const id = newId();
  const userRef = await blindIndex(ring, 'user', sub);
  const refs = await blindIndexes(ring, 'user', sub);
  const secret = generateSecret({ length: 20 });
  await db.batch([
    db.prepare(`DELETE FROM totp_factors WHERE status = 'pending' AND user_ref IN (${placeholders(refs.length)})`).bind(...refs),
    db
      .prepare('INSERT INTO totp_factors (id, user_ref, secret_sealed, status, created_at, sub_sealed, begun) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .bind(
        id,
        userRef,
        await seal(ring, 'totp-secret', secret, totpSecretAad(id, userRef)),
        'pending',
        now,
        await sealOwner(ring, 'totp_factors', id, sub),
        begun,
      ),
  ]);
  return { id, secret };
}

/** Delete every pending TOTP enrolment (of anyone) started at or before `before`: never confirmable again. How many went. */
export async function sweepPendingTotp(db: D1Database, before: number): Promise<number> {
  const r = await db.prepare("DELETE FROM totp_factors WHERE status = 'pending' AND created_at <= ?").bind(before).run();
  return r.meta.changes;
}

/** The user's TOTP factors in a state, with secrets opened. Rows that fail to open are skipped (and so cannot be used). */
export async function totpFactors(
  db: D1Database,
  ring: Keyring,
  sub: string,
  status: 'pending' | 'active',
  createdAfter = 0,
): Promise<TotpFactor[]> {
  const refs = await blindIndexes(ring, 'user', sub);
  const { results } = await db
    .prepare(
      `SELECT id, user_ref, secret_sealed FROM totp_factors ` +
        `WHERE status = ? AND created_at > ? AND user_ref IN (${placeholders(refs.length)})`,
    )
    .bind(status, createdAfter, ...refs)
    .all<{ id: string; user_ref: string; secret_sealed: string }>();
  const out: TotpFactor[] = [];
  for (const r of results) {
    try {
      out.push({ id: r.id, secret: await open(ring, 'totp-secret', r.secret_sealed, totpSecretAad(r.id, r.user_ref)) });
    } catch {
      console.error('stepgate: a TOTP factor failed to decrypt; it is ignored');
    }
  }
  return out;
}

/** How a factor is being enrolled, decided when it is completed: the first-factor policy, or a step-up with an existing factor. */
export type EnrolmentKind = 'first-use' | 'invite' | 'step-up';

/**
 * SQL that holds while the user (their blind indexes bound twice, `ph` each) has no active factor.
 * A first factor is stored on this condition in the same statement, so of racing first
 * enrolments exactly one is stored, and the others are left to a step-up.
 */
const noActiveFactor = (ph: string) =>
  `NOT EXISTS (SELECT 1 FROM totp_factors WHERE status = 'active' AND user_ref IN (${ph})) AND
   NOT EXISTS (SELECT 1 FROM webauthn_credentials WHERE user_ref IN (${ph}))`;

/**
 * Activate a pending factor of this user. True if it was pending and now is active. As the first
 * factor (`onlyIfFirst`), only while the user has no active factor, checked in the same statement.
 */
export async function activateTotp(
  db: D1Database,
  ring: Keyring,
  sub: string,
  id: string,
  now: number,
  onlyIfFirst = false,
): Promise<boolean> {
  const refs = await blindIndexes(ring, 'user', sub);
  const ph = placeholders(refs.length);
  const r = await db
    .prepare(
      `UPDATE totp_factors SET status = 'active', confirmed_at = ? ` +
        `WHERE id = ? AND status = 'pending' AND user_ref IN (${ph})${onlyIfFirst ? ` AND ${noActiveFactor(ph)}` : ''}`,
    )
    .bind(now, id, ...refs, ...(onlyIfFirst ? [...refs, ...refs] : []))
    .run();
  return r.meta.changes === 1;
}

/** Drop the user's pending TOTP enrolments (their first factor was just enrolled). */
export async function dropPendingTotp(db: D1Database, ring: Keyring, sub: string): Promise<void> {
  const refs = await blindIndexes(ring, 'user', sub);
  await db
    .prepare(`DELETE FROM totp_factors WHERE status = 'pending' AND user_ref IN (${placeholders(refs.length)})`)
    .bind(...refs)
    .run();
}

/** Whether a pending TOTP factor of the user was begun by spending an invitation. */
export async function pendingTotpInvited(db: D1Database, ring: Keyring, sub: string, id: string): Promise<boolean> {
  const refs = await blindIndexes(ring, 'user', sub);
  const row = await db
    .prepare(
      `SELECT 1 AS ok FROM totp_factors WHERE id = ? AND status = 'pending' ` +
        `AND begun = 'invite' AND user_ref IN (${placeholders(refs.length)})`,
    )
    .bind(id, ...refs)
    .first<{ ok: number }>();
  return row !== null;
}

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

// Recovery codes: 5 groups of 5 base32 characters = 125 bits, far above the 112 bits DESIGN.md asks for,
// so a plain SHA-256 (bound to the user) is a sufficient one-way hash.
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export const RECOVERY_CODE_COUNT = 10;
const newRecoveryCode = (): string => {
  const b = crypto.getRandomValues(new Uint8Array(25));
  const chars = [...b].map((x) => B32[x & 31]).join('');
  return chars.match(/.{5}/g)!.join('-');
};
/** Normalize what a person typed: case, spaces and dashes do not matter. */
export const normalizeRecoveryCode = (typed: string): string | null => {
  const c = typed.toUpperCase().replace(/[\s-]/g, '');
  return /^[A-Z2-7]{25}$/.test(c) ? c.match(/.{5}/g)!.join('-') : null;
};
/** Recovery codes before migration 0006 were hashed with the user's blind index (which key rotation cannot re-derive). */
const recoveryHash = (userRef: string, code: string) => sha256b64u(`recovery\0${userRef}\0${code}`);
/** Since 0006: the code alone (125 random bits); the row's user_ref binds it to its owner, and rotation can re-index it. */
const recoveryHashV2 = (code: string) => sha256b64u(`recovery\0v2\0${code}`);

/** The user id sealed beside a row's blind index, so key rotation can re-derive the index (AAD: table and row id). */

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

/**
 * Spend a one-time code of the user's (recovery code or invitation): a conditional UPDATE per key
 * id, so exactly one of any number of racing requests succeeds. Invitations must also be unexpired.
 */
async function spendCode(
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

/** How many unused recovery codes the user has left. */
export async function recoveryCodesLeft(db: D1Database, ring: Keyring, sub: string): Promise<number> {
  const refs = await blindIndexes(ring, 'user', sub);
  const row = await db
    .prepare(`SELECT COUNT(*) AS n FROM recovery_codes WHERE used_at IS NULL AND user_ref IN (${placeholders(refs.length)})`)
    .bind(...refs)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

// ---- WebAuthn credentials ----

export interface StoredCredential {
  id: string;
  publicKey: Uint8Array<ArrayBuffer>;
  counter: number;
  transports: string[];
  deviceType: string;
  backedUp: boolean;
  nickname: string | null;
  createdAt: number;
  lastUsedAt: number | null;
}

interface CredentialRow {
  id: string;
  user_ref: string;
  public_key: string;
  counter: number;
  transports: string;
  device_type: string;
  backed_up: number;
  nickname_sealed: string | null;
  created_at: number;
  last_used_at: number | null;
}

async function toCredential(ring: Keyring, r: CredentialRow): Promise<StoredCredential> {
  let nickname: string | null = null;
  if (r.nickname_sealed) {
    try {
      nickname = await open(ring, 'factor-metadata', r.nickname_sealed, passkeyNicknameAad(r.id, r.user_ref));
    } catch {
      nickname = null;
    }
  }
  return {
    id: r.id,
    publicKey: fromBase64url(r.public_key),
    counter: r.counter,
    transports: JSON.parse(r.transports) as string[],
    deviceType: r.device_type,
    backedUp: r.backed_up === 1,
    nickname,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
  };
}

/** A verified credential, to be stored. */
export interface NewCredential {
  id: string;
  publicKey: Uint8Array;
  counter: number;
  transports: string[];
  deviceType: string;
  backedUp: boolean;
  nickname: string | null;
}

/**
 * Store a verified new credential for the user. True if stored. As the first factor
 * (`onlyIfFirst`), only while the user has no active factor, checked in the same statement.
 */
export async function addWebauthnCredential(
  db: D1Database,
  ring: Keyring,
  sub: string,
  c: NewCredential,
  now: number,
  onlyIfFirst = false,
): Promise<boolean> {
  const userRef = await blindIndex(ring, 'user', sub);
  const refs = onlyIfFirst ? await blindIndexes(ring, 'user', sub) : [];
  const r = await db
    .prepare(
      'INSERT INTO webauthn_credentials (id, user_ref, public_key, counter, ' +
        'transports, device_type, backed_up, nickname_sealed, created_at, sub_sealed) ' +
        (onlyIfFirst
          ? `SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE ${noActiveFactor(placeholders(refs.length))}`
          : 'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)') +
        // A credential id registered before (by anyone) is not stored again: false, never a D1 error.
        ' ON CONFLICT (id) DO NOTHING',
    )
    .bind(
      c.id,
      userRef,
      base64url(c.publicKey),
      c.counter,
      JSON.stringify(c.transports),
      c.deviceType,
      c.backedUp ? 1 : 0,
      c.nickname ? await seal(ring, 'factor-metadata', c.nickname, passkeyNicknameAad(c.id, userRef)) : null,
      now,
      await sealOwner(ring, 'webauthn_credentials', c.id, sub),
      ...refs,
      ...refs,
    )
    .run();
  return r.meta.changes === 1;
}

/** The user's credentials; with `id`, only that one — and only if it is the user's. */
export async function webauthnCredentials(db: D1Database, ring: Keyring, sub: string, id?: string): Promise<StoredCredential[]> {
  const refs = await blindIndexes(ring, 'user', sub);
  const byId = id === undefined ? '' : ' AND id = ?';
  const { results } = await db
    .prepare(`SELECT * FROM webauthn_credentials WHERE user_ref IN (${placeholders(refs.length)})${byId}`)
    .bind(...refs, ...(id === undefined ? [] : [id]))
    .all<CredentialRow>();
  return Promise.all(results.map((r) => toCredential(ring, r)));
}

/** Record a use: the new signature counter (only ever forward) and the backup state. */
export async function recordWebauthnUse(db: D1Database, id: string, counter: number, backedUp: boolean, now: number): Promise<boolean> {
  const r = await db
    .prepare('UPDATE webauthn_credentials SET counter = ?, backed_up = ?, last_used_at = ? WHERE id = ? AND (counter < ? OR ? = 0)')
    .bind(counter, backedUp ? 1 : 0, now, id, counter, counter)
    .run();
  return r.meta.changes === 1;
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

// ---- Enrolment invitations ----

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
