/**
 * @module What a change of an organisation's baseline does to each app of the organisation. The
 * baseline's rules run first in every app (baseline-merge.ts) and the first matching rule applies, so
 * a baseline rule that asks for less than an app rule it shadows weakens that app even though, next
 * to the previous baseline, it only "adds a rule". A baseline change is therefore classified twice:
 * the baseline against the previous one, and for every app (its active policy and, during a canary,
 * the version the others keep) the app behind the old baseline against the app behind the new one.
 */
import { readBaseline } from '../policy/baseline-document';
import { type Baseline, mergeBaseline } from '../policy/baseline-merge';
import type { Policy } from '../policy/schema';
import { formatProblem, PolicyError, validatePolicy } from '../policy/validate-policy';
import { type ChangeClassification, classifyChange, type PolicyChange } from '../policy/weakening';
import { isBundledApp } from './bundled-policy';

/** One policy an app of the organisation runs: its active version, or the canary's base for the others. */
export interface AppPolicyInForce {
  /** How reasons name it, e.g. `app "Shop" (a1b2)` or `app "Shop" (a1b2), canary base`. */
  label: string;
  policy: Policy;
}

/**
 * SQL for a fingerprint of the policies the apps of an organisation run (one `?`: the organisation):
 * each app's active hash and canary. A baseline write is a compare-and-set on it, so an app policy
 * saved while a baseline change was being classified makes the write fail (retry) instead of
 * putting an unchecked app behind the new baseline.
 */
export const APPS_FINGERPRINT_SQL =
  "(SELECT IFNULL(group_concat(x, ','), '') FROM (SELECT a.id || ':' || IFNULL(p.hash, '-') || ':' || " +
  "IFNULL(p.canary_percent, 0) || ':' || " +
  'IFNULL(length(p.canary_base_json), 0) AS x FROM apps a LEFT JOIN app_policies p ON p.app_id = a.id WHERE a.org_id = ? ORDER BY a.id))';

/** The most app weakenings listed in one classification (the answer and the audit event stay small). */
const MAX_APP_CHANGES = 100;

/**
 * Every policy the apps of `orgId` run now, with their fingerprint (one batch): each app's active document, and its canary
 * base while a canary runs. The bundled app without a policy in D1 runs `bundled` (policy.json). A
 * stored document that no longer validates is left out: the registry does not run it either.
 */
export async function appPoliciesInForce(
  db: D1Database,
  orgId: string,
  bundled: Policy | null,
): Promise<{ apps: AppPolicyInForce[]; fingerprint: string }> {
  // One batch: the fingerprint and the documents are read from the same state.
  const [fp, list] = await db.batch<Record<string, unknown>>([
    db.prepare(`SELECT ${APPS_FINGERPRINT_SQL} AS fingerprint`).bind(orgId),
    db
      .prepare(
        'SELECT a.id, a.name, p.document_json, p.canary_base_json FROM apps a LEFT JOIN app_policies p ON p.app_id = a.id ' +
          'WHERE a.org_id = ? ORDER BY a.name, a.id',
      )
      .bind(orgId),
  ]);
  const results = (list?.results ?? []) as unknown as {
    id: string;
    name: string;
    document_json: string | null;
    canary_base_json: string | null;
  }[];
  const fingerprint = String(fp?.results[0]?.fingerprint ?? '');
  const out: AppPolicyInForce[] = [];
  const read = (json: string): Policy | null => {
    try {
      return validatePolicy(JSON.parse(json));
    } catch {
      return null;
    }
  };
  for (const r of results) {
    const label = `app "${r.name}" (${r.id})`;
    const active = r.document_json !== null ? read(r.document_json) : isBundledApp(orgId, r.id) ? bundled : null;
    if (active) out.push({ label, policy: active });
    const base = r.canary_base_json === null ? null : read(r.canary_base_json);
    if (base) out.push({ label: `${label}, canary base`, policy: base });
  }
  return { apps: out, fingerprint };
}

/** Why `app` behind `baseline` is not a valid policy (e.g. an app rule id `baseline.x` meets a baseline rule), or null. */
function mergeProblem(baseline: Baseline, app: AppPolicyInForce): string | null {
  try {
    validatePolicy(mergeBaseline(baseline, app.policy), 'policy with the organisation baseline');
    return null;
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    const why = e.problems.map(formatProblem).join('; ');
    return `With this baseline, the policy of ${app.label} is no longer valid, so that app could not load it: ${why}`;
  }
}

/** The app behind `baseline` (validated), or the app alone when there is none or the merge did not load. */
function behind(baseline: Baseline | null, app: Policy): Policy {
  if (!baseline) return app;
  try {
    return validatePolicy(mergeBaseline(baseline, app));
  } catch {
    return app;
  }
}

/** A first baseline, compared with nothing: every rule of it is new. */
const FIRST: PolicyChange = {
  kind: 'strengthens',
  rule: null,
  field: '(baseline)',
  message: 'The organisation had no baseline: every rule of it is new.',
};

/**
 * The change from baseline `before` (null: the organisation has none) to `after`, for the baseline
 * itself (an absent `maxInspectBytes` there means no cap) and for every app in `apps`: the weakenings
 * of each app are listed with the app named. `invalid` lists the apps whose policy would no longer
 * validate behind `after`: such a baseline is refused (the app would stop loading it).
 */
export function classifyBaselineChange(
  before: Baseline | null,
  after: Baseline,
  apps: AppPolicyInForce[],
): { change: ChangeClassification; invalid: string[] } {
  const own = before ? classifyChange(before, after, { unsetMaxInspectBytes: Number.POSITIVE_INFINITY }).changes : [FIRST];
  const invalid: string[] = [];
  const perApp: PolicyChange[] = [];
  for (const app of apps) {
    const problem = mergeProblem(after, app);
    if (problem) {
      invalid.push(problem);
      continue;
    }
    const next = validatePolicy(mergeBaseline(after, app.policy));
    for (const c of classifyChange(behind(before, app.policy), next).changes) {
      // Why: only what lowers an app's protection matters here; the baseline's own list already says what it adds.
      if (c.kind === 'weakens' && perApp.length < MAX_APP_CHANGES) perApp.push({ ...c, message: `In ${app.label}: ${c.message}` });
    }
  }
  const changes = [...own, ...perApp];
  const weakens = changes.some((c) => c.kind === 'weakens');
  return { change: { weakens, strengthens: !weakens && changes.some((c) => c.kind === 'strengthens'), changes }, invalid };
}

/** `classifyBaselineChange` against a stored baseline document (unreadable: every change weakens, fail closed). */
export function classifyFromStored(
  storedJson: string | null,
  after: Baseline,
  apps: AppPolicyInForce[],
): { change: ChangeClassification; invalid: string[] } {
  if (storedJson === null) return classifyBaselineChange(null, after, apps);
  const before = readBaseline(storedJson);
  const r = classifyBaselineChange(before, after, apps);
  if (before) return r;
  const unreadable: PolicyChange = { kind: 'weakens', rule: null, field: '(baseline)', message: 'The stored baseline could not be read.' };
  return { change: { weakens: true, strengthens: false, changes: [unreadable, ...r.change.changes] }, invalid: r.invalid };
}

/**
 * Why the waiting proposal `proposed` weakens the baseline in force (`storedJson`) or an app of
 * `orgId` as the apps are now: the sentences a second person reads before approving.
 */
export async function proposalReasons(
  db: D1Database,
  orgId: string,
  bundled: Policy | null,
  storedJson: string,
  proposed: Baseline,
): Promise<string[]> {
  const { apps } = await appPoliciesInForce(db, orgId, bundled);
  const { change, invalid } = classifyFromStored(storedJson, proposed, apps);
  return [...invalid, ...change.changes.filter((c) => c.kind === 'weakens').map((c) => c.message)];
}
