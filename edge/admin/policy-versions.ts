/**
 * @module An app's policy as immutable versions (`policy_versions`), exactly one of them active.
 * `app_policies` stays the active copy the app registry reads: every activation updates it in the
 * same D1 batch (a transaction). A version that weakens protection (`classifyChange`,
 * edge/policy/weakening.ts) is only a proposal until a second person approves it; a rollback that
 * weakens is a proposal too. Racing activations cannot leave two active versions: the partial unique
 * index `policy_versions_one_active` refuses the second, and its whole batch is rolled back.
 */
import { open, seal } from '../crypto/aead';
import { blindIndex } from '../crypto/blind-index';
import { appPolicyEditorAad } from '../crypto/encryption-context';
import type { Keyring } from '../crypto/keyring';
import type { Policy } from '../policy/schema';
import { validatePolicy } from '../policy/validate-policy';
import { type ChangeClassification, classifyChange } from '../policy/weakening';
import { AppInputError, checkPolicy, checkPolicyServes } from './app-input';
import { getApp } from './app-store';

export type VersionState = 'active' | 'superseded' | 'proposed' | 'rejected';

/** Open proposals per app: beyond it, a new weakening version is refused (approve or supersede one first). */
export const MAX_OPEN_PROPOSALS = 10;
/** Superseded and rejected versions kept per app (the newest); older ones are deleted when a version is activated. */
export const KEPT_VERSIONS = 100;
/** The most versions one list returns. */
export const MAX_VERSIONS_LISTED = 50;

export interface PolicyVersion {
  appId: string;
  version: number;
  policy: unknown;
  hash: string;
  comment: string;
  /** Who wrote it (null: taken over from the policy saved before versions, or unreadable). */
  author: string | null;
  createdAt: number;
  state: VersionState;
  approvedBy: string | null;
}

/** What a proposal, approval or rollback did: the version now active, or the proposal waiting for a second person. */
export type VersionOutcome =
  | { ok: true; state: 'active' | 'proposed'; version: number; hash: string; from: number; change: ChangeClassification }
  | { ok: false; code: 'not-found' | 'conflict' | 'too-many-proposals' | 'same-person' | 'wrong-state'; reason: string };

interface Row {
  app_id: string;
  version: number;
  document_json: string;
  hash: string;
  comment: string;
  author_sealed: string | null;
  created_at: number;
  state: VersionState;
  approved_by_sealed: string | null;
}

const fail = (code: Exclude<VersionOutcome, { ok: true }>['code'], reason: string): VersionOutcome => ({ ok: false, code, reason });
const CONFLICT = 'the active version changed meanwhile: read the versions again and retry';

/**
 * Apps saved before versions have none: their app_policies row becomes version 1, active. Run first
 * in every write batch, so the active version is always a row here.
 */
const seedStatement = (db: D1Database, appId: string) =>
  db
    .prepare(
      'INSERT INTO policy_versions (app_id, version, document_json, hash, comment, author_ref, author_sealed, created_at, state) ' +
        "SELECT p.app_id, 1, p.document_json, p.hash, 'the policy saved before versions', NULL, p.updated_by_sealed, p.updated_at, " +
        "'active' " +
        'FROM app_policies p WHERE p.app_id = ?1 AND NOT EXISTS (SELECT 1 FROM policy_versions WHERE app_id = ?1)',
    )
    .bind(appId);

/** The active policy of an app of `orgId` (app_policies, with its version number: 1 before any version was made), or null. */
export async function activePolicy(
  db: D1Database,
  o: { orgId: string; appId: string },
): Promise<{ version: number; policy: Policy | null } | null> {
  const r = await db
    .prepare(
      'SELECT p.document_json, v.version FROM app_policies p JOIN apps a ON a.id = p.app_id ' +
        "LEFT JOIN policy_versions v ON v.app_id = p.app_id AND v.state = 'active' WHERE p.app_id = ? AND a.org_id = ?",
    )
    .bind(o.appId, o.orgId)
    .first<{ document_json: string; version: number | null }>();
  if (!r) return null;
  let policy: Policy | null = null;
  try {
    policy = validatePolicy(JSON.parse(r.document_json));
  } catch {
    policy = null; // an unreadable active policy: every change counts as weakening (below)
  }
  return { version: r.version ?? 1, policy };
}

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

/** Run a batch; a UNIQUE failure (another activation won the race) is `null`. */
async function batchOrConflict(db: D1Database, stmts: D1PreparedStatement[]): Promise<D1Result[] | null> {
  try {
    return await db.batch(stmts);
  } catch (e) {
    if (e instanceof Error && /UNIQUE/i.test(e.message)) return null;
    throw e;
  }
}

/** Delete the oldest superseded and rejected versions beyond KEPT_VERSIONS. */
const pruneStatement = (db: D1Database, appId: string) =>
  db
    .prepare(
      "DELETE FROM policy_versions WHERE app_id = ?1 AND state IN ('superseded', 'rejected') " +
        'AND version <= (SELECT MAX(version) FROM policy_versions WHERE app_id = ?1) - ?2',
    )
    .bind(appId, KEPT_VERSIONS);

/**
 * Make a new version of the app's policy (validated, served hosts checked): active at once, and
 * copied to app_policies, unless it weakens the active one — then a proposal, and nothing changes.
 *
 * @throws {AppInputError} listing every problem of the policy
 */
export async function proposeVersion(
  db: D1Database,
  ring: Keyring,
  o: { orgId: string; appId: string; policy: unknown; comment: string; by: string; now: number },
): Promise<VersionOutcome> {
  const problems: string[] = [];
  const checked = await checkPolicy(o.policy, o.appId, problems);
  const app = await getApp(db, o.orgId, o.appId);
  if (!app) return fail('not-found', 'no such app');
  if (checked) checkPolicyServes(checked.policy, app.hosts, problems);
  if (!checked || problems.length) throw new AppInputError(problems);
  const active = await activePolicy(db, o);
  if (!active) return fail('not-found', 'no such app');
  const change = classify(active.policy, checked.policy);
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
  if (change.weakens) {
    const [, r] = (await db.batch([seedStatement(db, o.appId), insert])) as [D1Result, D1Result<{ version: number }>];
    const v = r.results[0]?.version;
    if (v === undefined) return fail('too-many-proposals', `at most ${MAX_OPEN_PROPOSALS} proposals wait for approval per app`);
    return { ok: true, state: 'proposed', version: v, hash: checked.hash, from: active.version, change };
  }
  // The active version read above is superseded; if another activation came first, the insert
  // breaks the one-active index and nothing of this batch is kept.
  const r = await batchOrConflict(db, [
    seedStatement(db, o.appId),
    db
      .prepare("UPDATE policy_versions SET state = 'superseded' WHERE app_id = ? AND version = ? AND state = 'active'")
      .bind(o.appId, active.version),
    insert,
    db
      .prepare('UPDATE app_policies SET document_json = ?, hash = ?, updated_at = ?, updated_by_sealed = ? WHERE app_id = ?')
      .bind(doc, checked.hash, o.now, sealed, o.appId),
    pruneStatement(db, o.appId),
  ]);
  const v = (r?.[2] as D1Result<{ version: number }> | undefined)?.results[0]?.version;
  if (v === undefined) return fail('conflict', CONFLICT);
  return { ok: true, state: 'active', version: v, hash: checked.hash, from: active.version, change };
}

/** One version of an app of `orgId`, or null. */
export async function getVersion(
  db: D1Database,
  ring: Keyring,
  o: { orgId: string; appId: string; version: number },
): Promise<PolicyVersion | null> {
  const r = await db
    .prepare('SELECT v.* FROM policy_versions v JOIN apps a ON a.id = v.app_id WHERE v.app_id = ? AND a.org_id = ? AND v.version = ?')
    .bind(o.appId, o.orgId, o.version)
    .first<Row>();
  return r ? versionOf(ring, r) : null;
}

/** The versions of an app of `orgId`, newest first, at most `limit` (≤ MAX_VERSIONS_LISTED). */
export async function listVersions(
  db: D1Database,
  ring: Keyring,
  o: { orgId: string; appId: string; limit: number },
): Promise<PolicyVersion[]> {
  const { results } = await db
    .prepare(
      'SELECT v.* FROM policy_versions v JOIN apps a ON a.id = v.app_id WHERE v.app_id = ? AND a.org_id = ? ' +
        'ORDER BY v.version DESC LIMIT ?',
    )
    .bind(o.appId, o.orgId, Math.min(Math.max(1, o.limit), MAX_VERSIONS_LISTED))
    .all<Row>();
  return Promise.all(results.map((r) => versionOf(ring, r)));
}

async function versionOf(ring: Keyring, r: Row): Promise<PolicyVersion> {
  const opened = (s: string | null) =>
    s === null ? Promise.resolve(null) : open(ring, 'factor-metadata', s, appPolicyEditorAad(r.app_id, r.hash)).catch(() => null);
  return {
    appId: r.app_id,
    version: r.version,
    policy: JSON.parse(r.document_json) as unknown,
    hash: r.hash,
    comment: r.comment,
    author: await opened(r.author_sealed),
    createdAt: r.created_at,
    state: r.state,
    approvedBy: await opened(r.approved_by_sealed),
  };
}

/**
 * Make version `n` (in state `from`) the active one, superseding the active version `expected`,
 * and copy it to app_policies — all or nothing.
 */
async function activate(
  db: D1Database,
  o: { appId: string; version: number; from: VersionState; expected: number; approvedBy: string | null; now: number },
): Promise<boolean> {
  const r = await batchOrConflict(db, [
    seedStatement(db, o.appId),
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
        'UPDATE app_policies SET document_json = v.document_json, hash = v.hash, updated_at = ?3, updated_by_sealed = v.author_sealed ' +
          'FROM (SELECT document_json, hash, author_sealed FROM policy_versions ' +
          "WHERE app_id = ?1 AND version = ?2 AND state = 'active') AS v " +
          'WHERE app_policies.app_id = ?1',
      )
      .bind(o.appId, o.version, o.now),
    pruneStatement(db, o.appId),
  ]);
  return r !== null && r[2]!.meta.changes === 1;
}

/**
 * A second person approves proposal `n`: it becomes the active version. Its author cannot approve
 * it (`same-person`); an author that cannot be read is refused too (fail closed).
 */
export async function approveVersion(
  db: D1Database,
  ring: Keyring,
  o: { orgId: string; appId: string; version: number; by: string; now: number },
): Promise<VersionOutcome> {
  const v = await getVersion(db, ring, o);
  if (!v) return fail('not-found', 'no such version');
  if (v.state !== 'proposed') return fail('wrong-state', `version ${v.version} is ${v.state}, not a proposal`);
  // Why: the point of a proposal is a second pair of eyes; the author approving it would make it a formality.
  if (v.author === null || v.author === o.by)
    return fail('same-person', 'a weakening version must be approved by someone other than its author');
  const active = await activePolicy(db, o);
  if (!active) return fail('not-found', 'no such app');
  const change = classify(active.policy, validatePolicy(v.policy));
  const approvedBy = await seal(ring, 'factor-metadata', o.by, appPolicyEditorAad(o.appId, v.hash));
  const done = await activate(db, {
    appId: o.appId,
    version: v.version,
    from: 'proposed',
    expected: active.version,
    approvedBy,
    now: o.now,
  });
  if (!done) return fail('conflict', CONFLICT);
  return { ok: true, state: 'active', version: v.version, hash: v.hash, from: active.version, change };
}

/**
 * Roll back to an earlier (superseded) version `n`. If going back weakens the active version, it is
 * made a new proposal with `n`'s document (the same rule as any edit), and nothing changes.
 */
export async function activateVersion(
  db: D1Database,
  ring: Keyring,
  o: { orgId: string; appId: string; version: number; by: string; now: number },
): Promise<VersionOutcome> {
  const v = await getVersion(db, ring, o);
  if (!v) return fail('not-found', 'no such version');
  if (v.state !== 'superseded')
    return fail('wrong-state', `version ${v.version} is ${v.state}: only a superseded version is rolled back to`);
  const active = await activePolicy(db, o);
  if (!active) return fail('not-found', 'no such app');
  const change = classify(active.policy, validatePolicy(v.policy));
  if (change.weakens) {
    return proposeVersion(db, ring, { ...o, policy: v.policy, comment: `rollback to version ${v.version}` });
  }
  const done = await activate(db, {
    appId: o.appId,
    version: v.version,
    from: 'superseded',
    expected: active.version,
    approvedBy: null,
    now: o.now,
  });
  if (!done) return fail('conflict', CONFLICT);
  return { ok: true, state: 'active', version: v.version, hash: v.hash, from: active.version, change };
}
