/**
 * @module An app's policy as immutable versions (`policy_versions`), exactly one of them active.
 * `app_policies` stays the active copy the app registry reads: every activation updates it in the
 * same D1 batch (a transaction). A version that weakens protection (`classifyChange`,
 * edge/policy/weakening.ts) is only a proposal until a second person approves it; a rollback that
 * weakens is a proposal too; a proposal can be rejected. A version that does not weaken may start as
 * a canary (policy-canary.ts); any other activation ends a running canary. Racing activations cannot
 * leave two active versions: the partial unique index `policy_versions_one_active` refuses the second,
 * and its whole batch is rolled back. Any activation withdraws (rejects) every other open proposal in
 * its batch: each was classified against a version that is no longer active. Reading versions:
 * policy-version-reads.ts; what a version must satisfy: policy-version-checks.ts; the statements
 * around each write: policy-version-batches.ts; rejecting a proposal: policy-version-rejection.ts.
 */
import { seal } from '../crypto/aead';
import { blindIndex } from '../crypto/blind-index';
import { appPolicyEditorAad } from '../crypto/encryption-context';
import type { Keyring } from '../crypto/keyring';
import type { Policy } from '../policy/schema';
import { type ChangeClassification, classifyChange } from '../policy/weakening';
import { AppInputError } from './app-input';
import {
  type ActivationEffects,
  activationPrelude,
  batchOrConflict,
  effectsOf,
  pruneStatement,
  seedStatements,
} from './policy-version-batches';
import { checkedVersion, versionProblems } from './policy-version-checks';
import { type AppRef, activePolicy, getVersion, type VersionState } from './policy-version-reads';
export { KEPT_VERSIONS } from './policy-version-batches';
export { rejectVersion } from './policy-version-rejection';

export {
  type AppRef,
  activePolicy,
  getVersion,
  listVersions,
  MAX_VERSIONS_LISTED,
  type PolicyVersion,
  type VersionState,
} from './policy-version-reads';

/** Open proposals per app: beyond it, a new weakening version is refused (approve or supersede one first). */
export const MAX_OPEN_PROPOSALS = 10;

/** What a proposal, approval or rollback did: the version now active, or the proposal waiting for a second person. */
export type VersionOutcome =
  | {
      ok: true;
      state: 'active' | 'proposed';
      version: number;
      hash: string;
      from: number;
      change: ChangeClassification;
      /** The share of people (1–99 %) it enforces for as a canary; absent: everyone. */
      canary?: number;
      /** Only when it became active: the proposals it withdrew and the canary it ended (policy-version-batches.ts). */
      effects?: ActivationEffects;
    }
  | { ok: false; code: 'not-found' | 'conflict' | 'too-many-proposals' | 'same-person' | 'wrong-state'; reason: string };

const fail = (code: Exclude<VersionOutcome, { ok: true }>['code'], reason: string): VersionOutcome => ({ ok: false, code, reason });
const CONFLICT = 'the active version changed meanwhile: read the versions again and retry';
/** Why a canary is refused for a version that weakens: the people outside it would keep stronger rules only by chance. */
export const WEAKENING_CANARY = 'a weakening version cannot start as a canary';

/** Fail closed: a change from a policy that cannot be read cannot be shown not to weaken. */
const classify = (before: Policy | null, after: Policy): ChangeClassification =>
  before
    ? classifyChange(before, after)
    : {
        weakens: true,
        strengthens: false,
        changes: [
          {
            kind: 'weakens',
            rule: null,
            field: '(policy)',
            message: 'The active policy could not be read, so this change cannot be shown to keep protection.',
          },
        ],
      };

/**
 * Make a new version of the app's policy (validated, served hosts and the organisation baseline
 * checked): active at once, and copied to app_policies, unless it weakens the active one — then a
 * proposal, and nothing changes. With `canaryPercent` (1–99, only for a version that does not weaken)
 * it enforces for that share of people, the version it replaces for the others.
 *
 * @throws {AppInputError} listing every problem of the policy
 */
export async function proposeVersion(
  db: D1Database,
  ring: Keyring,
  o: AppRef & { policy: unknown; comment: string; by: string; now: number; canaryPercent?: number | null },
): Promise<VersionOutcome> {
  const found = await versionProblems(db, o);
  if (!found) return fail('not-found', 'no such app');
  const { problems, checked } = found;
  const canary = o.canaryPercent ?? null;
  if (canary !== null && !(Number.isInteger(canary) && canary >= 1 && canary <= 99))
    problems.push('canary_percent: a whole number from 1 to 99');
  if (!checked || problems.length) throw new AppInputError(problems);
  const active = await activePolicy(db, o);
  if (!active) return fail('not-found', 'no such app');
  const change = classify(active.policy, checked.policy);
  // Why: a weakening canary would apply before a second person approved it, for some people.
  if (change.weakens && canary !== null) throw new AppInputError([WEAKENING_CANARY]);
  const doc = JSON.stringify(checked.policy);
  const sealed = await seal(ring, 'factor-metadata', o.by, appPolicyEditorAad(o.appId, checked.hash));
  const ref = await blindIndex(ring, 'user', o.by);
  const state = change.weakens ? 'proposed' : 'active';
  const insert = db
    .prepare(
      'INSERT INTO policy_versions (app_id, version, document_json, hash, comment, author_ref, author_sealed, created_at, state) ' +
        'SELECT ?1, (SELECT COALESCE(MAX(version), 0) + 1 FROM policy_versions WHERE app_id = ?1), ?2, ?3, ?4, ?5, ?6, ?7, ?8 ' +
        "WHERE ?8 = 'active' OR (SELECT COUNT(*) FROM policy_versions WHERE app_id = ?1 AND state = 'proposed') < ?9 RETURNING version",
    )
    .bind(o.appId, doc, checked.hash, o.comment, ref, sealed, o.now, state, MAX_OPEN_PROPOSALS);
  const seeds = await seedStatements(db, o);
  if (change.weakens) {
    // Each proposal (and so each propose → reject loop) prunes too: rejected versions never pile up.
    const r = await db.batch([...seeds, insert, pruneStatement(db, o.appId)]);
    const v = (r[seeds.length] as D1Result<{ version: number }>).results[0]?.version;
    if (v === undefined) return fail('too-many-proposals', `at most ${MAX_OPEN_PROPOSALS} proposals wait for approval per app`);
    return { ok: true, state: 'proposed', version: v, hash: checked.hash, from: active.version, change };
  }
  // The active version read above is superseded; if another activation came first, the insert
  // breaks the one-active index and nothing of this batch is kept. In SQLite's UPDATE the right-hand
  // `document_json` is the row before it: the canary's base is the version being replaced.
  const prelude = activationPrelude(db, o.appId, { keep: null, guard: active.version, guardState: 'active', expected: active.version });
  const r = await batchOrConflict(db, [
    ...seeds,
    ...prelude,
    db
      .prepare("UPDATE policy_versions SET state = 'superseded' WHERE app_id = ? AND version = ? AND state = 'active'")
      .bind(o.appId, active.version),
    insert,
    db
      .prepare(
        'UPDATE app_policies SET document_json = ?1, hash = ?2, updated_at = ?3, updated_by_sealed = ?4, canary_percent = ?6, ' +
          'canary_base_json = CASE WHEN ?6 IS NULL THEN NULL ELSE document_json END WHERE app_id = ?5',
      )
      .bind(doc, checked.hash, o.now, sealed, o.appId, canary),
    pruneStatement(db, o.appId),
  ]);
  const v = (r?.[seeds.length + prelude.length + 1] as D1Result<{ version: number }> | undefined)?.results[0]?.version;
  if (!r || v === undefined) return fail('conflict', CONFLICT);
  return {
    ok: true,
    state: 'active',
    version: v,
    hash: checked.hash,
    from: active.version,
    change,
    ...(canary === null ? {} : { canary }),
    effects: effectsOf(r, seeds.length),
  };
}

/**
 * Make version `n` (in state `from`) the active one, superseding the active version `expected`,
 * and copy it to app_policies — all or nothing. What it withdrew and ended; null: it lost a race.
 */
async function activate(
  db: D1Database,
  o: AppRef & { version: number; from: VersionState; expected: number; approvedBy: string | null; now: number },
): Promise<ActivationEffects | null> {
  const seeds = await seedStatements(db, o);
  const prelude = activationPrelude(db, o.appId, { keep: o.version, guard: o.version, guardState: o.from, expected: o.expected });
  const r = await batchOrConflict(db, [
    ...seeds,
    ...prelude,
    // Only while `n` is still in state `from`: an approval racing another leaves the active version alone.
    db
      .prepare(
        "UPDATE policy_versions SET state = 'superseded' WHERE app_id = ?1 AND version = ?2 AND state = 'active' " +
          'AND EXISTS (SELECT 1 FROM policy_versions WHERE app_id = ?1 AND version = ?3 AND state = ?4)',
      )
      .bind(o.appId, o.expected, o.version, o.from),
    db
      .prepare(
        "UPDATE policy_versions SET state = 'active', approved_by_sealed = COALESCE(?4, approved_by_sealed) " +
          'WHERE app_id = ?1 AND version = ?2 AND state = ?3',
      )
      .bind(o.appId, o.version, o.from, o.approvedBy),
    db
      .prepare(
        // Any activation but a new canary version ends a running canary: everyone gets this version.
        'UPDATE app_policies SET document_json = v.document_json, hash = v.hash, updated_at = ?3, updated_by_sealed = v.author_sealed, ' +
          'canary_percent = NULL, canary_base_json = NULL ' +
          'FROM (SELECT document_json, hash, author_sealed FROM policy_versions ' +
          "WHERE app_id = ?1 AND version = ?2 AND state = 'active') AS v " +
          'WHERE app_policies.app_id = ?1',
      )
      .bind(o.appId, o.version, o.now),
    pruneStatement(db, o.appId),
  ]);
  if (r === null || r[seeds.length + prelude.length + 1]!.meta.changes !== 1) return null;
  return effectsOf(r, seeds.length);
}

/**
 * A second person approves proposal `n`: it becomes the active version. Its author cannot approve
 * it (`same-person`); an author that cannot be read is refused too (fail closed). It must still be a
 * valid version of the app as it is now: its hosts and the organisation baseline (400 otherwise).
 *
 * @throws {AppInputError} listing what the proposal no longer satisfies
 */
export async function approveVersion(
  db: D1Database,
  ring: Keyring,
  o: AppRef & { version: number; by: string; now: number },
): Promise<VersionOutcome> {
  const v = await getVersion(db, ring, o);
  if (!v) return fail('not-found', 'no such version');
  if (v.state !== 'proposed') return fail('wrong-state', `version ${v.version} is ${v.state}, not a proposal`);
  // Why: the point of a proposal is a second pair of eyes; the author approving it would make it a formality.
  if (v.author === null || v.author === o.by)
    return fail('same-person', 'a weakening version must be approved by someone other than its author');
  const active = await activePolicy(db, o);
  if (!active) return fail('not-found', 'no such app');
  // Why: a proposal older than the active version was classified against another one (activations
  // withdraw open proposals, so only a proposal left from before that rule can be here).
  if (v.version < active.version)
    return fail('wrong-state', `version ${v.version} was proposed before the active version ${active.version}: propose it again`);
  const checked = await checkedVersion(db, { ...o, policy: v.policy });
  if (!checked) return fail('not-found', 'no such app');
  const change = classify(active.policy, checked.policy);
  const approvedBy = await seal(ring, 'factor-metadata', o.by, appPolicyEditorAad(o.appId, v.hash));
  const effects = await activate(db, { ...o, version: v.version, from: 'proposed', expected: active.version, approvedBy, now: o.now });
  if (!effects) return fail('conflict', CONFLICT);
  return { ok: true, state: 'active', version: v.version, hash: v.hash, from: active.version, change, effects };
}

/**
 * Roll back to an earlier (superseded) version `n`. If going back weakens the active version, it is
 * made a new proposal with `n`'s document (the same rule as any edit), and nothing changes. Either
 * way it must be a valid version of the app as it is now: its hosts and the organisation baseline.
 *
 * @throws {AppInputError} listing what the version no longer satisfies
 */
export async function activateVersion(
  db: D1Database,
  ring: Keyring,
  o: AppRef & { version: number; by: string; now: number },
): Promise<VersionOutcome> {
  const v = await getVersion(db, ring, o);
  if (!v) return fail('not-found', 'no such version');
  if (v.state !== 'superseded')
    return fail('wrong-state', `version ${v.version} is ${v.state}: only a superseded version is rolled back to`);
  const active = await activePolicy(db, o);
  if (!active) return fail('not-found', 'no such app');
  const checked = await checkedVersion(db, { ...o, policy: v.policy });
  if (!checked) return fail('not-found', 'no such app');
  const change = classify(active.policy, checked.policy);
  if (change.weakens) {
    return proposeVersion(db, ring, { ...o, policy: v.policy, comment: `rollback to version ${v.version}` });
  }
  const effects = await activate(db, {
    ...o,
    version: v.version,
    from: 'superseded',
    expected: active.version,
    approvedBy: null,
    now: o.now,
  });
  if (!effects) return fail('conflict', CONFLICT);
  return { ok: true, state: 'active', version: v.version, hash: v.hash, from: active.version, change, effects };
}
