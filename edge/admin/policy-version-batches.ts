/**
 * @module The D1 statements policy-versions.ts puts around a version write, each in the write's own
 * batch (a transaction, so all or nothing): seeding version 1, withdrawing the open proposals an
 * activation makes stale, reading the canary it ends, and pruning old versions. Their results are
 * what the activation's audit event records (`withdrawn`, `canary_ended`).
 */
import { bundledSeedStatements, isBundledApp } from './bundled-policy';
import type { AppRef, VersionState } from './policy-version-reads';

/** Superseded and rejected versions kept per app (the newest); older ones are deleted by each version write. */
export const KEPT_VERSIONS = 100;

/** What an activation did besides activating: the proposals it withdrew, and the share of the canary it ended (null: none ran). */
export interface ActivationEffects {
  withdrawn: number[];
  canaryEnded: number | null;
}

/**
 * Apps saved before versions have none: their app_policies row becomes version 1, active. Run first
 * in every write batch, so the active version is always a row here. For the bundled app, policy.json
 * is seeded first (bundled-policy.ts).
 */
export async function seedStatements(db: D1Database, o: AppRef): Promise<D1PreparedStatement[]> {
  const bundled = isBundledApp(o.orgId, o.appId) && o.bundled ? await bundledSeedStatements(db, o.bundled) : [];
  return [
    ...bundled,
    db
      .prepare(
        'INSERT INTO policy_versions (app_id, version, document_json, hash, comment, author_ref, author_sealed, created_at, state) ' +
          "SELECT p.app_id, 1, p.document_json, p.hash, 'the policy saved before versions', NULL, p.updated_by_sealed, p.updated_at, " +
          "'active' " +
          'FROM app_policies p WHERE p.app_id = ?1 AND NOT EXISTS (SELECT 1 FROM policy_versions WHERE app_id = ?1)',
      )
      .bind(o.appId),
  ];
}

/** Run a batch; a UNIQUE failure (another activation won the race) is `null`. */
export async function batchOrConflict(db: D1Database, stmts: D1PreparedStatement[]): Promise<D1Result[] | null> {
  try {
    return await db.batch(stmts);
  } catch (e) {
    if (e instanceof Error && /UNIQUE/i.test(e.message)) return null;
    throw e;
  }
}

/** Delete the oldest superseded and rejected versions beyond KEPT_VERSIONS (by version number: the newest is never one). */
export const pruneStatement = (db: D1Database, appId: string): D1PreparedStatement =>
  db
    .prepare(
      "DELETE FROM policy_versions WHERE app_id = ?1 AND state IN ('superseded', 'rejected') " +
        'AND version <= (SELECT MAX(version) FROM policy_versions WHERE app_id = ?1) - ?2',
    )
    .bind(appId, KEPT_VERSIONS);

/**
 * The two statements that go first (after the seeds) in an activation's batch: every open proposal
 * but `keep` becomes 'rejected', and the running canary's share is read — both as they were before
 * the activation. Why withdraw: a proposal was classified against the version active when it was
 * made; approved over another active version it would silently drop what that one added. The
 * proposals are withdrawn only while version `guard` is still in state `guardState` and `expected`
 * is the active one — exactly when the rest of the batch activates — so an activation that loses a
 * race withdraws nothing (and a batch that fails is rolled back whole).
 */
export function activationPrelude(
  db: D1Database,
  appId: string,
  o: { keep: number | null; guard: number; guardState: VersionState; expected: number },
): D1PreparedStatement[] {
  return [
    db
      .prepare(
        "UPDATE policy_versions SET state = 'rejected' WHERE app_id = ?1 AND state = 'proposed' AND version != ?2 " +
          'AND EXISTS (SELECT 1 FROM policy_versions WHERE app_id = ?1 AND version = ?3 AND state = ?4) ' +
          "AND EXISTS (SELECT 1 FROM policy_versions WHERE app_id = ?1 AND version = ?5 AND state = 'active') RETURNING version",
      )
      .bind(appId, o.keep ?? 0, o.guard, o.guardState, o.expected),
    db.prepare('SELECT canary_percent FROM app_policies WHERE app_id = ?').bind(appId),
  ];
}

/** The effects of an activation from the results of its prelude (activationPrelude), at `at` in the batch. */
export function effectsOf(results: D1Result[], at: number): ActivationEffects {
  const withdrawn = ((results[at] as D1Result<{ version: number }>).results ?? []).map((r) => r.version).sort((a, b) => a - b);
  const canary = (results[at + 1] as D1Result<{ canary_percent: number | null }>).results?.[0]?.canary_percent ?? null;
  return { withdrawn, canaryEnded: canary };
}
