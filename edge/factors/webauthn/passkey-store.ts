/**
 * @module D1 queries for passkeys (WebAuthn credentials): nicknames only sealed with AAD binding
 * them to their row, users only as blind indexes, the signature counter only moving forward.
 */
import { base64url, fromBase64url } from '../../crypto/base64';
import { open, seal } from '../../crypto/aead';
import { blindIndex, blindIndexes } from '../../crypto/blind-index';
import type { Keyring } from '../../crypto/keyring';
import { passkeyNicknameAad, sealOwner } from '../../crypto/encryption-context';
import { noActiveFactor, placeholders } from '../active-factors';

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

/** Delete every passkey of the person (`refs`: their blind indexes), as a statement for one batch (edge/admin/person-revocation.ts). */
export const deletePasskeysOf = (db: D1Database, refs: readonly string[]): D1PreparedStatement =>
  db.prepare(`DELETE FROM webauthn_credentials WHERE user_ref IN (${placeholders(refs.length)})`).bind(...refs);
