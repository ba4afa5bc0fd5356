/**
 * @module Notices to the person: what Stepgate must tell them wherever they next look (its own
 * pages, the extension). Two kinds: someone started recovering their factors (docs/admin.md,
 * "Factor recovery"), and an administrator revoked their factors ("Revocation"). D1 is the record;
 * the notice is how the person hears of it, kept in their own Durable Object so that every poll
 * reads one object, not D1.
 */

/** A notice as kept and returned (times in ms). */
export type Notice = RecoveryNotice | RevocationNotice;

/** Someone started (or approved) a recovery of the person's factors. */
export interface RecoveryNotice {
  /** The recovery's id: putting a notice with the same id replaces it. */
  id: string;
  kind: 'recovery';
  state: 'started' | 'approved';
  startedAt: number;
  /** When an approved recovery takes effect; null while only started. */
  effectiveAt: number | null;
  /** When the notice lapses by itself (the recovery expires then). */
  expiresAt: number;
}

/** An administrator revoked the person's factors (one such notice at a time: its id is fixed). */
export interface RevocationNotice {
  id: 'factors-revoked';
  kind: 'factors-revoked';
  revokedAt: number;
  expiresAt: number;
}

/** Notices one person can have at once: the oldest beyond this are dropped (a recovery is one at a time, a revocation notice one). */
export const MAX_NOTICES = 4;
const ID = /^[A-Za-z0-9_-]{1,64}$/;

interface NoticeRow {
  id: string;
  kind: string;
  state: string;
  started_at: number;
  effective_at: number | null;
  expires_at: number;
  [k: string]: SqlStorageValue;
}

const time = (t: unknown) => typeof t === 'number' && Number.isSafeInteger(t) && t >= 0;

/** @throws {TypeError} for a notice that is not well formed (nothing is stored) */
function checkNotice(n: Notice): void {
  if (n.kind === 'factors-revoked') {
    if (n.id !== 'factors-revoked' || !time(n.revokedAt) || !time(n.expiresAt)) throw new TypeError('notice: malformed');
    return;
  }
  if (
    typeof n.id !== 'string' ||
    !ID.test(n.id) ||
    n.kind !== 'recovery' ||
    (n.state !== 'started' && n.state !== 'approved') ||
    !time(n.startedAt) ||
    !time(n.expiresAt) ||
    (n.effectiveAt !== null && !time(n.effectiveAt)) ||
    (n.state === 'approved') !== (n.effectiveAt !== null)
  ) {
    throw new TypeError('notice: malformed');
  }
}

/** Keep a notice (replacing one of the same id); expired ones go, and the oldest beyond MAX_NOTICES. */
export function putNotice(sql: SqlStorage, n: Notice, now: number): void {
  checkNotice(n);
  sql.exec('DELETE FROM notices WHERE expires_at <= ?', now);
  // A revocation notice is kept in the same columns: `state` 'revoked', its time as `started_at`.
  const [state, startedAt, effectiveAt] = n.kind === 'recovery' ? [n.state, n.startedAt, n.effectiveAt] : ['revoked', n.revokedAt, null];
  sql.exec(
    'INSERT OR REPLACE INTO notices (id, kind, state, started_at, effective_at, expires_at, put_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    n.id,
    n.kind,
    state,
    startedAt,
    effectiveAt,
    n.expiresAt,
    now,
  );
  sql.exec('DELETE FROM notices WHERE id NOT IN (SELECT id FROM notices ORDER BY put_at DESC, id DESC LIMIT ?)', MAX_NOTICES);
}

/** Drop a notice; true if it was there. */
export function clearNotice(sql: SqlStorage, id: string): boolean {
  return sql.exec('DELETE FROM notices WHERE id = ?', id).rowsWritten > 0;
}

/** The person's notices that have not lapsed, newest first. */
export function listNotices(sql: SqlStorage, now: number): Notice[] {
  sql.exec('DELETE FROM notices WHERE expires_at <= ?', now);
  return sql
    .exec<NoticeRow>('SELECT * FROM notices ORDER BY put_at DESC, id DESC')
    .toArray()
    .map(
      (r): Notice =>
        r.kind === 'factors-revoked'
          ? { id: 'factors-revoked', kind: 'factors-revoked', revokedAt: r.started_at, expiresAt: r.expires_at }
          : {
              id: r.id,
              kind: 'recovery',
              state: r.state === 'approved' ? 'approved' : 'started',
              startedAt: r.started_at,
              effectiveAt: r.effective_at,
              expiresAt: r.expires_at,
            },
    );
}
