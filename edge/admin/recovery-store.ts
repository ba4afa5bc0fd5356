import { seal } from '../crypto/aead';
import { blindIndex, blindIndexes } from '../crypto/blind-index';
import { recoveryActorAad, recoveryPersonAad } from '../crypto/encryption-context';
import type { Keyring } from '../crypto/keyring';
import { placeholders } from '../factors/active-factors';
import { APPROVE_WITHIN_MS, COMPLETE_WITHIN_MS, type RecoveryState } from './recovery';
import { expireLapsed, OPEN_SQL, openAll, openRecovery, type Recovery, type RecoveryRow } from './recovery-rows';
import { newId } from '../crypto/random-id';

export type { Recovery } from './recovery-rows';

/** Open recoveries one organisation may have at once: a cap on what its people can make Stepgate store. */
export const MAX_OPEN_PER_ORG = 100;
/** Ended recoveries are kept this long (the audit log keeps their story), then deleted by the next start. */
export const KEEP_ENDED_MS = 30 * 24 * 60 * 60 * 1000;

export type StartResult =
  | { ok: true; recovery: Recovery }
  | { ok: false; code: 'exists'; reason: string }
  | { ok: false; code: 'too-many'; reason: string };

/**
 * Start a recovery of `person` in `orgId`, by `startedBy`. Who may is `authorize`'s decision, made
 * before. Refused while the person has an open recovery in `orgId` — decided in the inserting
 * statement over every blind index of the person, so of racing starts exactly one succeeds — and past
 * MAX_OPEN_PER_ORG open recoveries in the organisation.
 */
export async function startRecovery(
  db: D1Database,
  ring: Keyring,
  o: { orgId: string; person: string; startedBy: string; now: number },
): Promise<StartResult> {
  if (o.person === '' || o.startedBy === '') throw new TypeError('a recovery needs a person and who starts it');
  const id = newId();
  const refs = await blindIndexes(ring, 'user', o.person);
  const ph = placeholders(refs.length);
  const expiresAt = o.now + APPROVE_WITHIN_MS;
  const insert = db
    .prepare(
      'INSERT INTO recoveries (id, org_id, person_ref, person_sealed, started_by_ref, started_by_sealed, state, started_at, expires_at) ' +
        "SELECT ?1, ?2, ?3, ?4, ?5, ?6, 'started', ?7, ?8 WHERE " +
        `NOT EXISTS (SELECT 1 FROM recoveries WHERE org_id = ?2 AND ${OPEN_SQL} AND person_ref IN (${ph})) AND ` +
        `(SELECT COUNT(*) FROM recoveries WHERE org_id = ?2 AND ${OPEN_SQL}) < ${MAX_OPEN_PER_ORG} ` +
        'ON CONFLICT DO NOTHING',
    )
    .bind(
      id,
      o.orgId,
      await blindIndex(ring, 'user', o.person),
      await seal(ring, 'factor-metadata', o.person, recoveryPersonAad(id, o.orgId)),
      await blindIndex(ring, 'user', o.startedBy),
      await seal(ring, 'factor-metadata', o.startedBy, recoveryActorAad(id, 'started-by')),
      o.now,
      expiresAt,
      ...refs,
    );
  const prune = db.prepare('DELETE FROM recoveries WHERE ended_at IS NOT NULL AND ended_at < ?').bind(o.now - KEEP_ENDED_MS);
  const [, , inserted] = await db.batch([expireLapsed(db, o.now), prune, insert]);
  if (inserted!.meta.changes === 1) {
    return {
      ok: true,
      recovery: {
        id,
        orgId: o.orgId,
        person: o.person,
        startedBy: o.startedBy,
        approvedBy: null,
        state: 'started',
        startedAt: o.now,
        approvedAt: null,
        effectiveAt: null,
        expiresAt,
        endedAt: null,
        endedBy: null,
      },
    };
  }
  const open = await db
    .prepare(`SELECT 1 FROM recoveries WHERE org_id = ? AND ${OPEN_SQL} AND person_ref IN (${ph})`)
    .bind(o.orgId, ...refs)
    .first();
  return open
    ? { ok: false, code: 'exists', reason: 'this person already has a recovery under way: approve or cancel that one' }
    : { ok: false, code: 'too-many', reason: `this organisation already has ${MAX_OPEN_PER_ORG} recoveries under way` };
}

/** A recovery of `orgId` by its id (as of `now`), or null. */
export async function getRecovery(db: D1Database, ring: Keyring, orgId: string, id: string, now: number): Promise<Recovery | null> {
  const row = await db.prepare('SELECT * FROM recoveries WHERE id = ? AND org_id = ?').bind(id, orgId).first<RecoveryRow>();
  return row ? openRecovery(ring, row, now) : null;
}

/** The open recoveries of `orgId`, oldest first (at most MAX_OPEN_PER_ORG). */
export async function listOpenRecoveries(db: D1Database, ring: Keyring, orgId: string, now: number): Promise<Recovery[]> {
  const { results } = await db
    .prepare(`SELECT * FROM recoveries WHERE org_id = ? AND ${OPEN_SQL} AND expires_at > ? ORDER BY started_at, id LIMIT ?`)
    .bind(orgId, now, MAX_OPEN_PER_ORG)
    .all<RecoveryRow>();
  return openAll(ring, results, now);
}

/** The open recovery of `person` in `orgId` (the person's own view), if any: every open one their indexes find, checked. */
export async function openRecoveryFor(db: D1Database, ring: Keyring, orgId: string, person: string, now: number): Promise<Recovery | null> {
  const refs = await blindIndexes(ring, 'user', person);
  const { results } = await db
    .prepare(
      `SELECT * FROM recoveries WHERE org_id = ? AND ${OPEN_SQL} AND expires_at > ? AND person_ref IN (${placeholders(refs.length)})`,
    )
    .bind(orgId, now, ...refs)
    .all<RecoveryRow>();
  return (await openAll(ring, results, now)).find((r) => r.person === person) ?? null;
}

/**
 * The person's open recovery in `orgId`, as the people and console pages show it (effective_at in
 * ms, null until approved); null when there is none. For B's and D's pages.
 */
export async function openRecoveryOf(
  db: D1Database,
  ring: Keyring,
  orgId: string,
  person: string,
  now: number = Date.now(),
): Promise<{ id: string; state: RecoveryState; effective_at: number | null } | null> {
  const r = await openRecoveryFor(db, ring, orgId, person, now);
  return r ? { id: r.id, state: r.state, effective_at: r.effectiveAt } : null;
}

export type ApproveResult = { ok: true; recovery: Recovery } | { ok: false; code: 'not-open' | 'same-person' };

/**
 * Approve a started recovery, by `approvedBy`: effective after `waitMs`, and open for completion for
 * COMPLETE_WITHIN_MS after that. Only a started, unexpired recovery of this organisation; and — again
 * in the statement, beside `authorize` — never by the person who started it or the person recovered.
 * Of racing approvals exactly one succeeds.
 */
export async function approveRecovery(
  db: D1Database,
  ring: Keyring,
  o: { orgId: string; id: string; approvedBy: string; now: number; waitMs: number },
): Promise<ApproveResult> {
  const refs = await blindIndexes(ring, 'user', o.approvedBy);
  const ph = placeholders(refs.length);
  const effectiveAt = o.now + o.waitMs;
  const { results } = await db
    .prepare(
      "UPDATE recoveries SET state = 'approved', approved_by_ref = ?, approved_by_sealed = ?, approved_at = ?, effective_at = ?, " +
        `expires_at = ? WHERE id = ? AND org_id = ? AND state = 'started' AND expires_at > ? ` +
        `AND started_by_ref NOT IN (${ph}) AND person_ref NOT IN (${ph}) RETURNING *`,
    )
    .bind(
      await blindIndex(ring, 'user', o.approvedBy),
      await seal(ring, 'factor-metadata', o.approvedBy, recoveryActorAad(o.id, 'approved-by')),
      o.now,
      effectiveAt,
      effectiveAt + COMPLETE_WITHIN_MS,
      o.id,
      o.orgId,
      o.now,
      ...refs,
      ...refs,
    )
    .all<RecoveryRow>();
  const row = results[0];
  const approved = row ? await openRecovery(ring, row, o.now) : null;
  if (approved) return { ok: true, recovery: approved };
  const still = await getRecovery(db, ring, o.orgId, o.id, o.now);
  return { ok: false, code: still?.state === 'started' ? 'same-person' : 'not-open' };
}

/**
 * Take back an approval whose notice could not be given to the person (they must be told before
 * it can take effect): back to started, if it is still this approval.
 */
export async function undoApproval(db: D1Database, o: { id: string; approvedAt: number }): Promise<void> {
  await db
    .prepare(
      "UPDATE recoveries SET state = 'started', approved_by_ref = NULL, approved_by_sealed = NULL, approved_at = NULL, " +
        "effective_at = NULL, expires_at = started_at + ? WHERE id = ? AND state = 'approved' AND approved_at = ?",
    )
    .bind(APPROVE_WITHIN_MS, o.id, o.approvedAt)
    .run();
}

/**
 * End an open recovery: cancelled by an administrator, or by the person (`person` given: only their
 * own). Returns it as it was, or null when there is no such open recovery.
 */
export async function cancelRecovery(
  db: D1Database,
  ring: Keyring,
  o: { orgId: string; id: string; now: number; by: 'admin' | 'person'; person?: string },
): Promise<Recovery | null> {
  const refs = o.person === undefined ? [] : await blindIndexes(ring, 'user', o.person);
  const mine = o.person === undefined ? '' : ` AND person_ref IN (${placeholders(refs.length)})`;
  const { results } = await db
    .prepare(
      "UPDATE recoveries SET state = 'cancelled', ended_at = ?, ended_by = ? " +
        `WHERE id = ? AND org_id = ? AND ${OPEN_SQL} AND expires_at > ?${mine} RETURNING *`,
    )
    .bind(o.now, o.by, o.id, o.orgId, o.now, ...refs)
    .all<RecoveryRow>();
  return results[0] ? openRecovery(ring, results[0], o.now) : null;
}

export type CompleteClaim =
  | { ok: true; recovery: Recovery }
  | { ok: false; code: 'not-found' | 'not-approved' | 'too-early'; recovery?: Recovery };

/**
 * The person completes their approved recovery once it is effective: exactly one of racing
 * completions claims it (marked completed). `reopenRecovery` gives the claim back if what follows fails.
 */
export async function claimCompletion(
  db: D1Database,
  ring: Keyring,
  o: { orgId: string; id: string; person: string; now: number },
): Promise<CompleteClaim> {
  const refs = await blindIndexes(ring, 'user', o.person);
  const { results } = await db
    .prepare(
      "UPDATE recoveries SET state = 'completed', ended_at = ?, ended_by = 'completion' WHERE id = ? AND org_id = ? " +
        `AND state = 'approved' AND effective_at <= ? AND expires_at > ? AND person_ref IN (${placeholders(refs.length)}) RETURNING *`,
    )
    .bind(o.now, o.id, o.orgId, o.now, o.now, ...refs)
    .all<RecoveryRow>();
  const claimed = results[0] ? await openRecovery(ring, results[0], o.now) : null;
  if (claimed && claimed.person === o.person) return { ok: true, recovery: claimed };
  const r = await getRecovery(db, ring, o.orgId, o.id, o.now);
  if (!r || r.person !== o.person) return { ok: false, code: 'not-found' };
  if (r.state === 'approved') return { ok: false, code: 'too-early', recovery: r };
  return { ok: false, code: 'not-approved', recovery: r };
}

/** Give back a completion claim whose revocation failed, so that the person can try again. */
export async function reopenRecovery(db: D1Database, id: string): Promise<void> {
  await db
    .prepare(
      "UPDATE recoveries SET state = 'approved', ended_at = NULL, ended_by = NULL WHERE id = ? AND state = 'completed' " +
        `AND NOT EXISTS (SELECT 1 FROM recoveries o WHERE o.${OPEN_SQL} ` +
        'AND o.org_id = recoveries.org_id AND o.person_ref = recoveries.person_ref)',
    )
    .bind(id)
    .run()
    .catch((err: unknown) => console.error('stepgate: a recovery was not reopened:', err instanceof Error ? err.message : 'non-error'));
}
