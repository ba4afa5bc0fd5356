/**
 * @module Personal API tokens: how automation (the CLI) acts for a person — never a shared admin
 * key. A token is `sgt.<id>.<secret>`, shown once; D1 keeps its secret only as a SHA-256 hash, the
 * person as a blind index (and sealed, for key rotation), and the label sealed. Tokens are scoped,
 * expire (at most 30 days), can be revoked, and carry no role: the person's roles are read from the
 * role store on every use, so revoking someone's auditor role disables their tokens at once.
 */
import { base64url, sha256b64u } from '../crypto/base64';
import { open, seal } from '../crypto/aead';
import { blindIndex, blindIndexes } from '../crypto/blind-index';
import type { Keyring } from '../crypto/keyring';
import { apiTokenLabelAad, apiTokenOwnerAad } from '../crypto/encryption-context';

export const TOKEN_SCOPES = ['audit:read'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];
export const MAX_TOKEN_TTL_DAYS = 30;

const TOKEN = /^sgt\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/;

export interface TokenInfo {
  id: string;
  label: string;
  scopes: TokenScope[];
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

interface TokenRow {
  id: string;
  user_ref: string;
  sub_sealed: string;
  secret_hash: string;
  scopes: string;
  label: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

/** Create a token for `sub`; returns it once. */
export async function createToken(
  db: D1Database,
  ring: Keyring,
  sub: string,
  o: { scopes: TokenScope[]; ttlDays: number; label: string; now: number },
): Promise<{ token: string; info: TokenInfo }> {
  const id = base64url(crypto.getRandomValues(new Uint8Array(12)));
  const secret = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const expiresAt = o.now + Math.min(o.ttlDays, MAX_TOKEN_TTL_DAYS) * 86_400_000;
  await db
    .prepare(
      'INSERT INTO api_tokens (id, user_ref, sub_sealed, secret_hash, scopes, label, created_at, expires_at) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    )
    .bind(
      id,
      await blindIndex(ring, 'user', sub),
      await seal(ring, 'factor-metadata', sub, apiTokenOwnerAad(id)),
      await sha256b64u(secret),
      JSON.stringify(o.scopes),
      await seal(ring, 'factor-metadata', o.label, apiTokenLabelAad(id)),
      o.now,
      expiresAt,
    )
    .run();
  return {
    token: `sgt.${id}.${secret}`,
    info: { id, label: o.label, scopes: o.scopes, createdAt: o.now, expiresAt, revokedAt: null, lastUsedAt: null },
  };
}

/** The person and scopes of a presented token, or null (malformed, unknown, wrong secret, expired, revoked). */
export async function authenticateToken(
  db: D1Database,
  ring: Keyring,
  presented: string,
  now: number,
): Promise<{ sub: string; id: string; scopes: TokenScope[] } | null> {
  const m = TOKEN.exec(presented);
  if (!m) return null;
  const [, id, secret] = m as unknown as [string, string, string];
  const row = await db.prepare('SELECT * FROM api_tokens WHERE id = ?').bind(id).first<TokenRow>();
  if (!row || row.revoked_at !== null || row.expires_at <= now) return null;
  const hash = await sha256b64u(secret);
  if (!timingSafeEqual(hash, row.secret_hash)) return null;
  let sub: string;
  try {
    sub = await open(ring, 'factor-metadata', row.sub_sealed, apiTokenOwnerAad(id));
  } catch {
    return null;
  }
  // The blind index must still name the same person (a row edited in D1 does not grant anyone else).
  if (!(await blindIndexes(ring, 'user', sub)).includes(row.user_ref)) return null;
  await db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').bind(now, id).run();
  return { sub, id, scopes: JSON.parse(row.scopes) as TokenScope[] };
}

/** The person's tokens (never their secrets). */
export async function listTokens(db: D1Database, ring: Keyring, sub: string): Promise<TokenInfo[]> {
  const refs = await blindIndexes(ring, 'user', sub);
  const { results } = await db
    .prepare(`SELECT * FROM api_tokens WHERE user_ref IN (${refs.map(() => '?').join(', ')}) ORDER BY created_at DESC`)
    .bind(...refs)
    .all<TokenRow>();
  return Promise.all(
    results.map(async (r) => ({
      id: r.id,
      label: await open(ring, 'factor-metadata', r.label, apiTokenLabelAad(r.id)).catch(() => '(unreadable)'),
      scopes: JSON.parse(r.scopes) as TokenScope[],
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      revokedAt: r.revoked_at,
      lastUsedAt: r.last_used_at,
    })),
  );
}

/** Revoke one of the person's tokens; false if they have no such live token. */
export async function revokeToken(db: D1Database, ring: Keyring, sub: string, id: string, now: number): Promise<boolean> {
  const refs = await blindIndexes(ring, 'user', sub);
  const r = await db
    .prepare(`UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL AND user_ref IN (${refs.map(() => '?').join(', ')})`)
    .bind(now, id, ...refs)
    .run();
  return r.meta.changes === 1;
}

function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}
