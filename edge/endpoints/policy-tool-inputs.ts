/**
 * @module What the policy tools (policy-tool-routes.ts) read before they answer: the app (its hosts,
 * or for the bundled app policy.json), its active policy document, a draft's problems by rule and field (the messages of `stepgate policy
 * check`), and the policy the gateway would really run — the document behind the organisation's
 * baseline rules (edge/policy/baseline-merge.ts), compiled.
 */
import { ErrorCode } from '../../shared/errors';
import { baselineRow } from '../admin/policy-baseline';
import { isBundledApp } from '../admin/bundled-policy';
import { activePolicy } from '../admin/policy-versions';
import { getApp } from '../admin/app-store';
import type { Runtime } from '../deployment/runtime';
import { problem } from '../http/responses';
import { StepgateError } from '../http/stepgate-error';
import { readBaseline } from '../policy/baseline-document';
import { mergeBaseline } from '../policy/baseline-merge';
import { type CompiledPolicy, compilePolicy } from '../policy/compile-policy';
import type { Policy } from '../policy/schema';
import { PolicyError, validatePolicy } from '../policy/validate-policy';
import { NOT_FOUND_APP } from './admin-access';
import { appRef } from './policy-version-answers';

/** One problem of a draft, as the API answers it. */
export interface ToolProblem {
  rule: string | null;
  field: string | null;
  message: string;
}

/** The app the tools work on: its hosts and active policy. */
export interface ToolApp {
  hosts: readonly string[];
  /** The active version's number (1 for the bundled app before D1 holds a version of it). */
  version: number;
  /** The active document; null when it cannot be read (every comparison then fails closed). */
  active: Policy | null;
  /** The bundled app: the deployment's policy.json (null: not known here); undefined for a D1 app. */
  deployment: Policy | null | undefined;
}

/** `"x"` (a rule id as validatePolicy names it) → `x`; `#3` (a rule without a valid id) stays. */
const ruleName = (rule: string | undefined): string | null =>
  rule === undefined ? null : rule.startsWith('"') && rule.endsWith('"') ? rule.slice(1, -1) : rule;

/** validatePolicy's problems, by rule and field. */
export const toolProblems = (e: PolicyError): ToolProblem[] =>
  e.problems.map((p) => ({ rule: ruleName(p.rule), field: p.field || null, message: p.message }));

/** A draft: the validated policy, or its problems. */
export function readDraft(doc: unknown, appId: string): { policy: Policy; problems: [] } | { policy: null; problems: ToolProblem[] } {
  try {
    return { policy: validatePolicy(doc, `policy of ${appId}`), problems: [] };
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    return { policy: null, problems: toolProblems(e) };
  }
}

/** A draft the tester or replay runs, or a 400 answer listing its problems by rule and field. */
export function draftOrProblem(doc: unknown, appId: string): Policy | Response {
  const d = readDraft(doc, appId);
  if (d.policy) return d.policy;
  return problem(ErrorCode.BadRequest, 400, `invalid policy: ${d.problems.map((p) => p.message).join('; ')}`, { problems: d.problems });
}

/**
 * The app of `org` and its active policy (policy-version-reads.ts: for the bundled app, policy.json
 * until D1 holds a version of it), or 404.
 */
export async function requireToolApp(rt: Runtime, org: string, appId: string): Promise<ToolApp> {
  const ref = appRef(rt, org, appId);
  const bundled = isBundledApp(org, appId);
  const app = bundled ? null : await getApp(rt.db, org, appId);
  const a = bundled || app ? await activePolicy(rt.db, ref) : null;
  if (!a) throw new StepgateError(ErrorCode.NotFound, 404, NOT_FOUND_APP);
  return { hosts: app?.hosts ?? [], deployment: bundled ? (ref.bundled ?? null) : undefined, version: a.version, active: a.policy };
}

/**
 * The policy the gateway runs for `policy` in `org`: behind the organisation's baseline rules when
 * it has a baseline, compiled. A baseline that cannot be read, or a merge that does not validate
 * (the write path refuses such a draft), leaves the document alone.
 */
export async function runnablePolicy(rt: Runtime, org: string, policy: Policy): Promise<CompiledPolicy> {
  const row = await baselineRow(rt.db, org);
  const baseline = row ? readBaseline(row.document_json) : null;
  if (baseline) {
    try {
      return compilePolicy(validatePolicy(mergeBaseline(baseline, policy)));
    } catch {
      // fall through: the draft alone
    }
  }
  return compilePolicy(policy);
}
