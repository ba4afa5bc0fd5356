/**
 * @module D1 queries for enrolment invitations: one-time codes an administrator issues so that a
 * person may enrol a first factor (enrolment `invite`). Stored only as hashes bound to their user.
 * Capped (docs/admin.md, "Rules"): a few unspent ones per person, a day's worth per issuer, and
 * never by the one who just revoked the person's factors — that would be a recovery by one person.
 */
import { base64url, sha256b64u } from '../../crypto/base64';
import { blindIndex, blindIndexes } from '../../crypto/blind-index';
import type { Keyring } from '../../crypto/keyring';
import { ErrorCode } from '../../../shared/errors';
import { StepgateError } from '../../http/stepgate-error';
import { placeholders } from '../active-factors';
import { newRecoveryCode, spendCode } from '../one-time-code';

/** Invitations are valid for a day. */
export const INVITE_TTL_MS = 24 * 60 * 60 * 1000;
/**
 * Unspent invitations one person may have at once. A new one beyond this is refused rather than
 * the oldest dropped: dropping would let anyone who may invite silently void the one the person is
 * about to use, and refusing tells the issuer to use or revoke what is there.
 */
export const MAX_OPEN_INVITES_PER_PERSON = 5;
/** Invitations one person may issue in any 24 hours (a day of onboarding fits; a script's loop does not). */
export const MAX_INVITES_PER_ISSUER_PER_DAY = 100;
/** How long after revoking a person's factors the one who revoked them may not invite that person. */
export const REVOKER_BARRED_MS = 30 * 24 * 60 * 60 * 1000;

const DAY_MS = 24 * 60 * 60 * 1000;
/**
 * The revocation mark: a row of this table that no code opens (its `code_hash` is not a hash of any
 * code, so `useInvite` never matches it), naming who revoked (`issued_by`) whose factors (`user_ref`).
 * It is "unspent" so that `stepgate keys status` counts its blind indexes until it lapses, and the
 * person's next factor revocation or recovery (deleteOpenInvitesOf) removes it.
 */
const MARK = 'revoked:';
const IS_MARK = `code_hash LIKE '${MARK}%'`;
const NOT_MARK = `code_hash NOT LIKE '${MARK}%'`;

const inviteHash = (userRef: string, code: string) => sha256b64u(`invite\0${userRef}\0${code}`);
/** Numbered placeholders ?from, ?from+1, … for `n` values. */
const numbered = (from: number, n: number) => Array.from({ length: n }, (_, i) => `?${from + i}`).join(', ');

/** The blind indexes a new row stores: the person's and the issuer's, under the primary key. */
async function refsOf(ring: Keyring, sub: string, issuedBy: string): Promise<{ userRef: string; issuerRef: string }> {
  return { userRef: await blindIndex(ring, 'user', sub), issuerRef: await blindIndex(ring, 'user', issuedBy) };
}

/**
 * Issue a one-time invitation for `sub` to enrol a first factor, by the administrator `issuedBy`;
 * returns the code (shown once). The caps and the revoker's bar are decided in the inserting
 * statement, so racing issues never pass them.
 * @throws {StepgateError} 403 when `issuedBy` revoked the person's factors within REVOKER_BARRED_MS;
 *   409 past MAX_OPEN_INVITES_PER_PERSON or MAX_INVITES_PER_ISSUER_PER_DAY (nothing stored)
 */
export async function issueInvite(db: D1Database, ring: Keyring, sub: string, issuedBy: string, now: number): Promise<string> {
  const code = newRecoveryCode(); // 125 bits, the same readable format
  const { userRef, issuerRef } = await refsOf(ring, sub, issuedBy);
  const people = await blindIndexes(ring, 'user', sub);
  const issuers = await blindIndexes(ring, 'user', issuedBy);
  const p = numbered(6, people.length);
  const i = numbered(6 + people.length, issuers.length);
  // Lapsed unspent rows (invitations, marks) open nothing: they go first, so the table stays bounded.
  const prune = db.prepare('DELETE FROM enrolment_invites WHERE used_at IS NULL AND expires_at <= ?').bind(now);
  const insert = db
    .prepare(
      'INSERT INTO enrolment_invites (code_hash, user_ref, issued_by, created_at, expires_at) SELECT ?1, ?2, ?3, ?4, ?5 WHERE ' +
        `(SELECT COUNT(*) FROM enrolment_invites WHERE used_at IS NULL AND expires_at > ?4 AND ${NOT_MARK} AND user_ref IN (${p})) ` +
        `< ${MAX_OPEN_INVITES_PER_PERSON} ` +
        `AND (SELECT COUNT(*) FROM enrolment_invites WHERE created_at > ?4 - ${DAY_MS} AND ${NOT_MARK} AND issued_by IN (${i})) ` +
        `< ${MAX_INVITES_PER_ISSUER_PER_DAY} ` +
        `AND NOT EXISTS (SELECT 1 FROM enrolment_invites WHERE ${IS_MARK} AND expires_at > ?4 ` +
        `AND user_ref IN (${p}) AND issued_by IN (${i}))`,
    )
    .bind(await inviteHash(userRef, code), userRef, issuerRef, now, now + INVITE_TTL_MS, ...people, ...issuers);
  const [, inserted] = await db.batch([prune, insert]);
  if (inserted!.meta.changes === 1) return code;
  throw await whyRefused(db, people, issuers, now);
}

/** Why an invitation was not issued (read after the refusing insert, for the answer only). */
async function whyRefused(db: D1Database, people: string[], issuers: string[], now: number): Promise<StepgateError> {
  const [pp, ip] = [placeholders(people.length), placeholders(issuers.length)];
  const barred = await db
    .prepare(`SELECT 1 FROM enrolment_invites WHERE ${IS_MARK} AND expires_at > ? AND user_ref IN (${pp}) AND issued_by IN (${ip})`)
    .bind(now, ...people, ...issuers)
    .first();
  if (barred) {
    return new StepgateError(
      ErrorCode.Forbidden,
      403,
      'you revoked this person’s factors, so someone else must invite them (or recover their factors with a second person)',
    );
  }
  const open = await db
    .prepare(`SELECT COUNT(*) AS n FROM enrolment_invites WHERE used_at IS NULL AND expires_at > ? AND ${NOT_MARK} AND user_ref IN (${pp})`)
    .bind(now, ...people)
    .first<{ n: number }>();
  if ((open?.n ?? 0) >= MAX_OPEN_INVITES_PER_PERSON) {
    return new StepgateError(
      ErrorCode.Conflict,
      409,
      `this person already has ${MAX_OPEN_INVITES_PER_PERSON} unused invitations: let them use one, or revoke their factors to void them`,
    );
  }
  return new StepgateError(
    ErrorCode.Conflict,
    409,
    `you issued ${MAX_INVITES_PER_ISSUER_PER_DAY} invitations in the last 24 hours: try again later, or ask someone else`,
  );
}

/**
 * Issue the invitation that completes a factor recovery (two people and a waiting period already
 * stood behind it): not an administrator's invitation, so neither their caps nor a revoker's bar
 * apply. Call it right after the person's factors were revoked (which removed their open invitations).
 */
export async function issueRecoveryInvite(db: D1Database, ring: Keyring, sub: string, issuedBy: string, now: number): Promise<string> {
  const code = newRecoveryCode();
  const { userRef, issuerRef } = await refsOf(ring, sub, issuedBy);
  await db
    .prepare('INSERT INTO enrolment_invites (code_hash, user_ref, issued_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?)')
    .bind(await inviteHash(userRef, code), userRef, issuerRef, now, now + INVITE_TTL_MS)
    .run();
  return code;
}

/**
 * Mark that `revokedBy` revoked `sub`'s factors at `now`: for REVOKER_BARRED_MS they may not invite
 * `sub` (issueInvite). A statement for the revocation's batch, BEFORE its deletes: only a person who
 * has a factor (passkey, authenticator app, recovery code) is marked, so revoking made-up subjects
 * stores nothing. `refs`: the person's blind indexes.
 */
export async function markRevokedBy(
  db: D1Database,
  ring: Keyring,
  o: { sub: string; refs: readonly string[]; revokedBy: string; now: number },
): Promise<D1PreparedStatement> {
  const { userRef, issuerRef } = await refsOf(ring, o.sub, o.revokedBy);
  const mark = `${MARK}${base64url(crypto.getRandomValues(new Uint8Array(16)))}`;
  const ph = numbered(6, o.refs.length);
  const has = (table: string) => `EXISTS (SELECT 1 FROM ${table} WHERE user_ref IN (${ph}))`;
  return db
    .prepare(
      'INSERT INTO enrolment_invites (code_hash, user_ref, issued_by, created_at, expires_at) SELECT ?1, ?2, ?3, ?4, ?5 WHERE ' +
        [has('webauthn_credentials'), has('totp_factors'), has('recovery_codes')].join(' OR '),
    )
    .bind(mark, userRef, issuerRef, o.now, o.now + REVOKER_BARRED_MS, ...o.refs);
}

/** Spend an invitation: true exactly once, for its own user, before it expires. */
export const useInvite = (db: D1Database, ring: Keyring, sub: string, typed: string, now: number): Promise<boolean> =>
  spendCode(db, ring, sub, typed, now, 'enrolment_invites', inviteHash);

/**
 * Delete the person's unspent invitations (`refs`: their blind indexes; spent ones stay as history;
 * revocation marks stay until they lapse), as a statement for one batch.
 */
export const deleteOpenInvitesOf = (db: D1Database, refs: readonly string[]): D1PreparedStatement =>
  db
    .prepare(`DELETE FROM enrolment_invites WHERE used_at IS NULL AND ${NOT_MARK} AND user_ref IN (${placeholders(refs.length)})`)
    .bind(...refs);

/** SQL that keeps revocation marks out of a query on `enrolment_invites` (they are not invitations). */
export const NOT_A_REVOCATION_MARK = NOT_MARK;
