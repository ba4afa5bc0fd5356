/**
 * @module D1 queries for TOTP factors (authenticator apps): secrets only sealed with AAD binding
 * them to their row, users only as blind indexes.
 */
import { generateSecret } from 'otplib';
import { base64url } from '../../crypto/base64';
import { open, seal } from '../../crypto/aead';
import { blindIndex, blindIndexes } from '../../crypto/blind-index';
import type { Keyring } from '../../crypto/keyring';
import { sealOwner, totpSecretAad } from '../../crypto/encryption-context';
import { noActiveFactor, placeholders, type EnrolmentKind } from '../active-factors';

export interface TotpFactor {
  id: string;
  secret: string;
}

const newId = (): string => base64url(crypto.getRandomValues(new Uint8Array(16)));

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

/**
 * Delete every authenticator app of the person (`refs`: their blind indexes), active or pending — a
 * pending one begun with an invitation could otherwise still be confirmed — as a statement for one batch.
 */
export const deleteTotpOf = (db: D1Database, refs: readonly string[]): D1PreparedStatement =>
  db.prepare(`DELETE FROM totp_factors WHERE user_ref IN (${placeholders(refs.length)})`).bind(...refs);
