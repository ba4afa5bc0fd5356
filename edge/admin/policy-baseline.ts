/**
 * @module An organisation's policy baseline (`org_policy_baselines`, migration 0016): rules every app
 * of the organisation runs before its own (edge/policy/baseline-merge.ts), which app-admins cannot
 * remove or weaken. Reading it, what an app policy would weaken of it (`baselineProblems`, called on
 * every version write), and every baseline at once for the app registry (`loadBaselines`). Writes
 * (save, propose, approve, reject) are in baseline-writes.ts.
 */
import { open } from '../crypto/aead';
import { baselineEditorAad } from '../crypto/encryption-context';
import type { Keyring } from '../crypto/keyring';
import { readBaseline } from '../policy/baseline-document';
import { type Baseline, baselineFloor, isBaselineRuleId, withBaselineRules } from '../policy/baseline-merge';
import type { Policy } from '../policy/schema';
import { validatePolicy } from '../policy/validate-policy';
import { classifyChange } from '../policy/weakening';

/** One `org_policy_baselines` row as stored. */
export interface BaselineRow {
  org_id: string;
  document_json: string;
  hash: string;
  updated_at: number;
  updated_by_sealed: string | null;
  proposed_json: string | null;
  proposed_hash: string | null;
  proposed_by_ref: string | null;
  proposed_by_sealed: string | null;
  proposed_at: number | null;
}

/** An organisation's baseline as read: the document in force and a weakening change waiting for a second person. */
export interface PolicyBaseline {
  orgId: string;
  /** The stored document (null when it no longer validates: every app write is then refused, fail closed). */
  document: Baseline | null;
  hash: string;
  updatedAt: number;
  /** Who saved it (null: unreadable). */
  updatedBy: string | null;
  proposal: { document: unknown; hash: string; by: string | null; at: number } | null;
}

export async function baselineRow(db: D1Database, orgId: string): Promise<BaselineRow | null> {
  return db.prepare('SELECT * FROM org_policy_baselines WHERE org_id = ?').bind(orgId).first<BaselineRow>();
}

/** The baseline of `orgId`, or null when it has none. */
export async function getBaseline(db: D1Database, ring: Keyring, orgId: string): Promise<PolicyBaseline | null> {
  const r = await baselineRow(db, orgId);
  if (!r) return null;
  const opened = (s: string | null, hash: string | null, part: 'saved-by' | 'proposed-by') =>
    s === null || hash === null
      ? Promise.resolve(null)
      : open(ring, 'factor-metadata', s, baselineEditorAad(orgId, hash, part)).catch(() => null);
  return {
    orgId,
    document: readBaseline(r.document_json),
    hash: r.hash,
    updatedAt: r.updated_at,
    updatedBy: await opened(r.updated_by_sealed, r.hash, 'saved-by'),
    proposal:
      r.proposed_json === null || r.proposed_hash === null
        ? null
        : {
            document: JSON.parse(r.proposed_json) as unknown,
            hash: r.proposed_hash,
            by: await opened(r.proposed_by_sealed, r.proposed_hash, 'proposed-by'),
            at: r.proposed_at ?? 0,
          },
  };
}

/** Every organisation's baseline document (JSON as stored), for the app registry: one query. */
export async function loadBaselines(db: D1Database): Promise<Map<string, string>> {
  const { results } = await db
    .prepare('SELECT org_id, document_json FROM org_policy_baselines')
    .all<{ org_id: string; document_json: string }>();
  return new Map(results.map((r) => [r.org_id, r.document_json]));
}

/**
 * Plain sentences saying why `policy` (an app's policy document) weakens `baseline`: every weakening
 * the classifier finds going from the baseline alone (with the app's top-level fields held to the
 * baseline's settings) to the app's policy behind it, and rule ids that take the `baseline.` prefix.
 * Empty when nothing weakens it. Pure: `baselineProblems` reads the baseline and calls it.
 */
export function problemsAgainst(baseline: Baseline, policy: Policy): string[] {
  const problems = policy.rules
    .filter((r) => isBaselineRuleId(r.id))
    .map((r) => `Rule "${r.id}": ids beginning "baseline." are reserved for the organisation baseline's rules.`);
  const own = { ...policy, rules: policy.rules.filter((r) => !isBaselineRuleId(r.id)) };
  const change = classifyChange(baselineFloor(baseline, own), withBaselineRules(baseline, own));
  for (const c of change.changes) {
    if (c.kind === 'weakens') problems.push(`It weakens the organisation baseline: ${c.message}`);
  }
  return problems;
}

/**
 * Why the app policy `policy` of app `appId` in `orgId` may not be saved under the organisation's
 * baseline: plain sentences, empty when fine or when the organisation has no baseline. A document that
 * is not a valid policy gives none here (its validation problems are reported where it is checked).
 * A stored baseline that cannot be read refuses every app policy (fail closed).
 */
export async function baselineProblems(db: D1Database, orgId: string, appId: string, policy: unknown): Promise<string[]> {
  const row = await db
    .prepare('SELECT document_json FROM org_policy_baselines WHERE org_id = ?')
    .bind(orgId)
    .first<{ document_json: string }>();
  if (!row) return [];
  const baseline = readBaseline(row.document_json);
  if (!baseline) return [`The organisation baseline of ${orgId} could not be read, so no policy of ${appId} can be shown to keep it.`];
  let app: Policy;
  try {
    app = validatePolicy(policy, `policy of ${appId}`);
  } catch {
    return [];
  }
  return problemsAgainst(baseline, app);
}
