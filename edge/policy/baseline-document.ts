/**
 * @module An organisation baseline document, checked: a policy (the same schema and messages as
 * `policy check`) without `hosts`, whose rule ids leave room for the `baseline.` prefix.
 */
import { type Baseline, MAX_BASELINE_ID_LENGTH, MAX_BASELINE_RULES } from './baseline-merge';
import { formatProblem, PolicyError, validatePolicy } from './validate-policy';

const FILE = 'organisation baseline';

/** The validated baseline, or every problem of it (each a sentence naming the rule and field). */
export function checkBaseline(doc: unknown): { baseline: Baseline; problems: [] } | { baseline: null; problems: string[] } {
  let policy: Baseline & { hosts?: unknown };
  try {
    policy = validatePolicy(doc, FILE);
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    return { baseline: null, problems: e.problems.map(formatProblem) };
  }
  const problems: string[] = [];
  if (policy.hosts !== undefined)
    problems.push(`${FILE}: hosts: a baseline has no "hosts": its rules apply on the hosts of each app of the organisation`);
  if (policy.rules.length > MAX_BASELINE_RULES) problems.push(`${FILE}: rules: at most ${MAX_BASELINE_RULES} rules`);
  for (const r of policy.rules) {
    if (r.id.length > MAX_BASELINE_ID_LENGTH)
      problems.push(`${FILE}: rule "${r.id}": id: at most ${MAX_BASELINE_ID_LENGTH} characters (apps see it as "baseline.${r.id}")`);
  }
  return problems.length ? { baseline: null, problems } : { baseline: policy, problems: [] };
}

/** A stored baseline document read back; null when it no longer validates (the caller fails closed). */
export function readBaseline(json: string): Baseline | null {
  try {
    return checkBaseline(JSON.parse(json)).baseline;
  } catch {
    return null;
  }
}
