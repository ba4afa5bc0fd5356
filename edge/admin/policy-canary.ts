/**
 * @module A canary of an app's active policy (`app_policies.canary_percent` / `canary_base_json`,
 * migration 0016): the active version enforces for that share of people (stable per person, decided
 * on the request path), the version active before it (`canary_base_json`) for the others. It is
 * started by a version that does not weaken (policy-versions.ts) and only ever widened here: 100 %
 * ends it; narrowing is a rollback. Any other activation ends it too.
 */
import { canonicalJson } from '../audit/canonical-json';
import { sha256b64u } from '../crypto/base64';
import { validatePolicy } from '../policy/validate-policy';
import { activePolicy, type AppRef } from './policy-version-reads';

/** A running canary: the share of people (1–99) and the version the others keep (null: it is no longer listed). */
export interface CanaryState {
  percent: number;
  baseVersion: number | null;
  /** The version enforcing for `percent` % of people (the active one). */
  version: number;
}

/** The running canary of an app of `orgId`, or null (none, or no such app). */
export async function canaryOf(db: D1Database, o: AppRef): Promise<CanaryState | null> {
  const r = await db
    .prepare(
      'SELECT p.canary_percent, p.canary_base_json FROM app_policies p JOIN apps a ON a.id = p.app_id WHERE p.app_id = ? AND a.org_id = ?',
    )
    .bind(o.appId, o.orgId)
    .first<{ canary_percent: number | null; canary_base_json: string | null }>();
  if (!r || r.canary_percent === null || r.canary_base_json === null) return null;
  const active = await activePolicy(db, o);
  if (!active) return null;
  // No column holds the base's version: the newest superseded version with the base document's hash.
  let hash: string | null = null;
  try {
    hash = await sha256b64u(canonicalJson(validatePolicy(JSON.parse(r.canary_base_json))));
  } catch {
    hash = null;
  }
  const base =
    hash === null
      ? null
      : await db
          .prepare("SELECT MAX(version) AS version FROM policy_versions WHERE app_id = ? AND hash = ? AND state = 'superseded'")
          .bind(o.appId, hash)
          .first<{ version: number | null }>();
  return { percent: r.canary_percent, baseVersion: base?.version ?? null, version: active.version };
}

export type WidenOutcome =
  | { ok: true; version: number; from: number; percent: number; completed: boolean }
  | { ok: false; code: 'not-found' | 'no-canary' | 'narrowing' | 'conflict'; reason: string };

/**
 * Widen the app's canary to `percent` (1–100): only larger than now; 100 gives everyone the active
 * version and ends the canary. The write holds only while the canary read is still the one running
 * (same active document, same share), so racing changes cannot narrow it or revive an ended one.
 */
export async function widenCanary(db: D1Database, o: AppRef & { percent: number; now: number }): Promise<WidenOutcome> {
  const r = await db
    .prepare('SELECT p.hash, p.canary_percent FROM app_policies p JOIN apps a ON a.id = p.app_id WHERE p.app_id = ? AND a.org_id = ?')
    .bind(o.appId, o.orgId)
    .first<{ hash: string; canary_percent: number | null }>();
  if (!r) return (await activePolicy(db, o)) ? noCanary : { ok: false, code: 'not-found', reason: 'no such app' };
  if (r.canary_percent === null) return noCanary;
  if (o.percent <= r.canary_percent)
    return {
      ok: false,
      code: 'narrowing',
      reason: `the canary is at ${r.canary_percent} %: it only widens; to narrow it, roll back instead`,
    };
  const active = await activePolicy(db, o);
  const completed = o.percent >= 100;
  const done = await db
    .prepare(
      'UPDATE app_policies SET canary_percent = ?1, canary_base_json = CASE WHEN ?1 IS NULL THEN NULL ELSE canary_base_json END, ' +
        'updated_at = ?2 WHERE app_id = ?3 AND hash = ?4 AND canary_percent = ?5',
    )
    .bind(completed ? null : o.percent, o.now, o.appId, r.hash, r.canary_percent)
    .run();
  if (done.meta.changes !== 1 || !active)
    return { ok: false, code: 'conflict', reason: 'the policy or its canary changed meanwhile: read it again and retry' };
  return { ok: true, version: active.version, from: r.canary_percent, percent: completed ? 100 : o.percent, completed };
}

const noCanary: WidenOutcome = { ok: false, code: 'no-canary', reason: 'no canary is running for this app' };
