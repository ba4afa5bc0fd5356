/**
 * @module Personal API tokens: how automation (the CLI) acts for a person — never a shared admin
 * key. A token is `sgt.<id>.<secret>`, shown once; D1 keeps its secret only as a SHA-256 hash, the
 * person as a blind index (and sealed, for key rotation), and the label sealed. Tokens are scoped
 * (token-scopes.ts), belong to their owner's organisation, expire (at most 30 days), can be revoked,
 * are capped per person, and carry no role: the person's roles are read from the role store on
 * every use, so revoking someone's role disables their tokens at once.
 */
import { base64url, sha256b64u } from '../crypto/base64';
import { open, seal } from '../crypto/aead';
import { blindIndex, blindIndexes } from '../crypto/blind-index';
import type { Keyring } from '../crypto/keyring';
import { apiTokenLabelAad, apiTokenOwnerAad } from '../crypto/encryption-context';
import { DEFAULT_ORG } from './org-store';
import { TOKEN_SCOPES, type TokenScope } from './token-scopes';
import { newId } from '../crypto/random-id';

export { TOKEN_SCOPES, type TokenScope } from './token-scopes';
export const MAX_TOKEN_TTL_DAYS = 30;
/**
 * How many tokens one person may hold live, and have stored at all (live, or ended less than
 * `KEEP_ENDED_DAYS` ago): no client grows D1 without bound, even by making and revoking tokens in a
 * loop. Older ended tokens are deleted when the person makes a new one.
 */
export const MAX_LIVE_TOKENS = 20;
export const MAX_STORED_TOKENS = 100;
export const KEEP_ENDED_DAYS = 7;

/** The organisation of a person's key (Identity.sub): `<org>/<subject>`, or a bare subject of the default organisation. */
export const orgOfPerson = (sub: string): string => (sub.includes('/') ? sub.slice(0, sub.indexOf('/')) : DEFAULT_ORG);

/** A person already holds as many tokens as Stepgate keeps for one person. */
export class TooManyTokens extends Error {
  override readonly name = 'TooManyTokens';
}

const TOKEN = /^sgt\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/;

export interface TokenInfo {
  id: string;
  /** The organisation the token works in: its owner's. */
  org: string;
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
  org_id: string;
  scopes: string;
  label: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

/**
 * Create a token for `sub`, in their organisation; returns it once.
 *
 * @throws {TooManyTokens} when the person already holds `MAX_LIVE_TOKENS` live or `MAX_STORED_TOKENS` in all (decided in the
 *   inserting statement itself, so racing creations cannot pass the cap together)
 */
export async function createToken(
  db: D1Database,
  ring: Keyring,
  sub: string,
  o: { scopes: TokenScope[]; ttlDays: number; label: string; now: number },
): Promise<{ token: string; info: TokenInfo }> {
  const id = newId();
  const secret = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const expiresAt = o.now + Math.min(o.ttlDays, MAX_TOKEN_TTL_DAYS) * 86_400_000;
  const org = orgOfPerson(sub);
  const refs = await blindIndexes(ring, 'user', sub);
  const inRefs = `user_ref IN (${refs.map(() => '?').join(', ')})`;
  const endedBefore = o.now - KEEP_ENDED_DAYS * 86_400_000;
  const [, inserted] = await db.batch([
    db.prepare(`DELETE FROM api_tokens WHERE ${inRefs} AND (revoked_at < ? OR expires_at < ?)`).bind(...refs, endedBefore, endedBefore),
    db
      .prepare(
        'INSERT INTO api_tokens (id, user_ref, sub_sealed, secret_hash, org_id, scopes, label, created_at, expires_at) ' +
          'SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE ' +
          `(SELECT COUNT(*) FROM api_tokens WHERE ${inRefs} AND revoked_at IS NULL AND expires_at > ?) < ? AND ` +
          `(SELECT COUNT(*) FROM api_tokens WHERE ${inRefs}) < ?`,
      )
      .bind(
        id,
        await blindIndex(ring, 'user', sub),
        await seal(ring, 'factor-metadata', sub, apiTokenOwnerAad(id)),
        await sha256b64u(secret),
        org,
        JSON.stringify(o.scopes),
        await seal(ring, 'factor-metadata', o.label, apiTokenLabelAad(id)),
        o.now,
        expiresAt,
        ...refs,
        o.now,
        MAX_LIVE_TOKENS,
        ...refs,
        MAX_STORED_TOKENS,
      ),
  ]);
  if (inserted?.meta.changes !== 1)
    throw new TooManyTokens(
      `at most ${MAX_LIVE_TOKENS} live tokens per person, and ${MAX_STORED_TOKENS} kept ` +
        `(live, or ended in the last ${KEEP_ENDED_DAYS} days): ` +
        'revoke one you no longer use, or wait',
    );
  return {
    token: `sgt.${id}.${secret}`,
    info: { id, org, label: o.label, scopes: o.scopes, createdAt: o.now, expiresAt, revokedAt: null, lastUsedAt: null },
  };
}

/** Scopes as stored, keeping only the ones Stepgate knows (a row edited in D1 gains nothing). */
const scopesOf = (stored: string): TokenScope[] => {
  try {
    const v: unknown = JSON.parse(stored);
    return Array.isArray(v) ? TOKEN_SCOPES.filter((s) => v.includes(s)) : [];
  } catch {
    return [];
  }
};

/** A token that authenticated: its owner (Identity.sub), id, organisation and scopes. */
export interface AuthenticatedToken {
  sub: string;
  id: string;
  org: string;
  scopes: TokenScope[];
}

/** The person, organisation and scopes of a presented token, or null (malformed, unknown, wrong secret, expired, revoked, edited). */
export async function authenticateToken(db: D1Database, ring: Keyring, presented: string, now: number): Promise<AuthenticatedToken | null> {
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
  // Its organisation must be its owner's: a row moved to another organisation in D1 works nowhere.
  if (row.org_id !== orgOfPerson(sub)) return null;
  await db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').bind(now, id).run();
  return { sub, id, org: row.org_id, scopes: scopesOf(row.scopes) };
}

/**
 * The person's tokens (never their secrets), newest first: only rows whose sealed owner opens to
 * this very person, so a blind index copied onto another's row in D1 shows nothing of theirs.
 */
export async function listTokens(db: D1Database, ring: Keyring, sub: string): Promise<TokenInfo[]> {
  const refs = await blindIndexes(ring, 'user', sub);
  const { results } = await db
    .prepare(
      `SELECT * FROM api_tokens WHERE org_id = ? AND user_ref IN (${refs.map(() => '?').join(', ')}) ORDER BY created_at DESC LIMIT ?`,
    )
    .bind(orgOfPerson(sub), ...refs, MAX_STORED_TOKENS)
    .all<TokenRow>();
  const mine = await Promise.all(
    results.map(async (r) => (await open(ring, 'factor-metadata', r.sub_sealed, apiTokenOwnerAad(r.id)).catch(() => null)) === sub),
  );
  return Promise.all(
    results
      .filter((_, i) => mine[i])
      .map(async (r) => ({
        id: r.id,
        org: r.org_id,
        label: await open(ring, 'factor-metadata', r.label, apiTokenLabelAad(r.id)).catch(() => '(unreadable)'),
        scopes: scopesOf(r.scopes),
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

/** Revoke every live (unrevoked, unexpired) token of the person at once (an administrator's revocation); how many there were. */
export async function revokeAllTokensOf(db: D1Database, ring: Keyring, sub: string, now: number): Promise<number> {
  const refs = await blindIndexes(ring, 'user', sub);
  const r = await db
    .prepare(
      'UPDATE api_tokens SET revoked_at = ? WHERE revoked_at IS NULL AND expires_at > ? ' +
        `AND user_ref IN (${refs.map(() => '?').join(', ')})`,
    )
    .bind(now, now, ...refs)
    .run();
  return r.meta.changes;
}

function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}
