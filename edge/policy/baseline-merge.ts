/**
 * @module mergeBaseline: an app's policy with its organisation's baseline put in front of it. The
 * baseline's rules come first (the first matching rule applies), each renamed `baseline.<id>`, so no
 * rule of the app can shadow or replace them; document settings that change what those rules match
 * take the stricter of the two documents. Pure: no I/O. docs/policy.md, "Organisation baseline".
 */
import type { Policy, Rule } from './schema';

/** Rule ids of the baseline appear in every app as `baseline.<id>`; app policies may not use the prefix. */
export const BASELINE_ID_PREFIX = 'baseline.';
/** A rule id is at most 64 characters; a baseline id leaves room for the prefix. */
export const MAX_BASELINE_ID_LENGTH = 64 - BASELINE_ID_PREFIX.length;
/** The most rules a baseline holds (each is matched on every request of every app of the organisation). */
export const MAX_BASELINE_RULES = 100;
/** Default of `maxInspectBytes` (compile-policy.ts). */
const DEFAULT_INSPECT_BYTES = 1024 * 1024;

/** A baseline document: a policy without `hosts` (it applies to each app's own hosts). */
export type Baseline = Omit<Policy, 'hosts'>;

/** The id a baseline rule has inside an app's merged policy. */
export const baselineRuleId = (id: string): string => `${BASELINE_ID_PREFIX}${id}`;

/** Whether an app rule id uses the prefix reserved for baseline rules (any case, as "stepgate-" is checked). */
export const isBaselineRuleId = (id: string): boolean => id.toLowerCase().startsWith(BASELINE_ID_PREFIX);

const baselineRules = (baseline: Baseline): Rule[] => baseline.rules.map((r) => ({ ...r, id: baselineRuleId(r.id) }));

/**
 * The document settings the baseline holds an app to. `caseSensitive` and `allowPathInfo` change what
 * the baseline's own patterns match, so they stay off unless the baseline turns them on;
 * `maxInspectBytes` and `enrolment` bind an app only when the baseline sets them. The app's other
 * top-level fields (`hosts`, `$schema`) are its own.
 */
export function baselineSettings(baseline: Baseline, app: Policy): Partial<Policy> {
  const out: Partial<Policy> = {};
  // Why: a case-sensitive match or path info let `/ADMIN` or `/index.php/admin` past a baseline rule for `/admin`.
  if (app.caseSensitive && !baseline.caseSensitive) out.caseSensitive = false;
  if (app.allowPathInfo && !baseline.allowPathInfo) out.allowPathInfo = false;
  if (baseline.maxInspectBytes !== undefined && (app.maxInspectBytes ?? DEFAULT_INSPECT_BYTES) > baseline.maxInspectBytes)
    out.maxInspectBytes = baseline.maxInspectBytes;
  if (baseline.enrolment === 'invite') out.enrolment = 'invite';
  return out;
}

/** The app's document (settings and hosts as written) with the baseline's rules in front of its own. */
export function withBaselineRules(baseline: Baseline, app: Policy): Policy {
  return { ...app, rules: [...baselineRules(baseline), ...app.rules] };
}

/**
 * The baseline alone as the app would run it: the app's top-level fields held to the baseline's
 * settings, and only the baseline's rules. What the app's policy is compared with (baseline-check).
 */
export function baselineFloor(baseline: Baseline, app: Policy): Policy {
  return { ...app, ...baselineSettings(baseline, app), rules: baselineRules(baseline) };
}

/**
 * The policy an app of the organisation runs: `app` with the baseline's rules first (ids
 * `baseline.<id>`) and the baseline's settings where they are stricter. No baseline: `app` itself.
 * The app's `hosts` already limit where every rule, the baseline's included, applies.
 */
export function mergeBaseline(baseline: Policy | Baseline | null, app: Policy): unknown {
  if (!baseline) return app;
  return { ...withBaselineRules(baseline, app), ...baselineSettings(baseline, app) };
}
