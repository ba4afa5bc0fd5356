/**
 * @module The policy tools of the admin API, under /.stepgate/api/admin/orgs/:org/apps/:app/policy:
 * `check` (a draft's problems, diff and weakening against the active version, and what it would
 * weaken of the organisation baseline), `test` (which rule takes METHOD URL, and what happens),
 * `replay` (the last hour's recorded routes whose outcome the draft changes), and
 * `rules/:rule/promote` (a report-only rule made to enforce, as a new version). The first three
 * only read: `policy.read` (a token with admin:read is enough). Promoting is `policy.update` and goes
 * through the same version path as PUT …/policy (policy-version-answers.ts).
 */
import type { Hono } from 'hono';
import * as z from '../http/zod';
import { ErrorCode } from '../../shared/errors';
import { checkPolicy, checkPolicyServes } from '../admin/app-input';
import { checkBundledHosts } from '../admin/bundled-policy';
import { baselineProblems } from '../admin/policy-baseline';
import { hashRef } from '../audit/audit-log';
import type { Runtime } from '../deployment/runtime';
import { json, problem } from '../http/responses';
import { describeDiffEntry, diffPolicies } from '../policy/policy-diff';
import { replayRoutes } from '../policy/policy-replay';
import { testRequest } from '../policy/policy-tester';
import { routeRecorder } from '../policy/route-recorder';
import { HOUR_MS, routeSamples } from '../policy/route-sample-store';
import type { Policy } from '../policy/schema';
import { classifyChange } from '../policy/weakening';
import { adminBody, adminEventScope, requireAdminCaller, requireAllowed, viaOf } from './admin-access';
import { auditBase } from './endpoint-helpers';
import { proposeRecorded, versionAnswer } from './policy-version-answers';
import { draftOrProblem, readDraft, requireToolApp, runnablePolicy, type ToolApp, type ToolProblem } from './policy-tool-inputs';

const BASE = '/.stepgate/api/admin/orgs/:org/apps/:app/policy';
/** A method to test: an HTTP token of letters (the gateway refuses others before matching). */
const Method = z.string().check(z.regex(/^[A-Za-z]{1,20}$/, 'a method such as GET or DELETE'));
/** A path (`/api/projects/7`) or an absolute http(s) URL. */
const Url = z.string().check(z.maxLength(2048), z.regex(/^(\/|https?:\/\/)\S*$/i, 'a path (/api/projects/7) or an absolute http(s) URL'));
const RULE_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The caller may read this app's policy (after the checks of admin-access.ts); then the app, or 404. */
async function readTool(rt: Runtime, req: Request, org: string, appId: string): Promise<ToolApp> {
  const caller = await requireAdminCaller(rt, req, org, { write: false });
  await requireAllowed(rt, req, caller, 'policy.read', { orgId: org, appId });
  return requireToolApp(rt, org, appId);
}

/** What `check` says beyond validity: the diff and the weakening verdict against the active version. */
function comparison(active: Policy | null, draft: Policy) {
  if (!active) {
    // Fail closed, as the version path does: a change from a policy that cannot be read cannot be shown to keep protection.
    const reason = 'The active policy could not be read, so this change cannot be shown to keep protection.';
    return { diff: [], change: { weakening: true, reasons: [reason] } };
  }
  const c = classifyChange(active, draft);
  return {
    diff: diffPolicies(active, draft).map((e) => ({
      kind: e.op === 'moved' ? ('changed' as const) : e.op,
      rule: e.rule,
      text: describeDiffEntry(e),
    })),
    change: { weakening: c.weakens, reasons: c.changes.filter((x) => x.kind === 'weakens').map((x) => x.message) },
  };
}

export function registerPolicyToolRoutes(app: Hono, rt: Runtime): void {
  app.post(`${BASE}/check`, async (c) => {
    const req = c.req.raw;
    const [org, appId] = [c.req.param('org'), c.req.param('app')];
    const tool = await readTool(rt, req, org, appId);
    const body = await adminBody(req, z.strictObject({ policy: z.unknown() }));
    const draft = readDraft(body.policy, appId);
    if (!draft.policy) {
      return json({ valid: false, problems: draft.problems, diff: [], change: { weakening: false, reasons: [] }, baseline: [] });
    }
    // What the version path adds to the schema (checkPolicy, and the app's hosts served), as sentences.
    const more: string[] = [];
    await checkPolicy(body.policy, appId, more);
    if (tool.deployment === undefined) checkPolicyServes(draft.policy, tool.hosts, more);
    else if (tool.deployment === null)
      more.push("The deployment's policy.json is not known here, so the bundled app's hosts cannot be checked.");
    else checkBundledHosts(tool.deployment, draft.policy, more);
    const problems: ToolProblem[] = more.map((message) => ({ rule: null, field: null, message }));
    const baseline = await baselineProblems(rt.db, org, appId, body.policy);
    return json({ valid: problems.length === 0 && baseline.length === 0, problems, ...comparison(tool.active, draft.policy), baseline });
  });

  app.post(`${BASE}/test`, async (c) => {
    const req = c.req.raw;
    const [org, appId] = [c.req.param('org'), c.req.param('app')];
    const tool = await readTool(rt, req, org, appId);
    const body = await adminBody(req, z.strictObject({ policy: z.optional(z.unknown()), method: Method, url: Url }));
    let doc: Policy;
    if (body.policy === undefined) {
      if (!tool.active) return problem(ErrorCode.Conflict, 409, 'The active policy could not be read: send a policy to test.');
      doc = tool.active;
    } else {
      const d = draftOrProblem(body.policy, appId);
      if (d instanceof Response) return d;
      doc = d;
    }
    const r = testRequest(await runnablePolicy(rt, org, doc), body.method, body.url, { appHosts: tool.hosts });
    return json({ rule: r.rule, mode: r.mode, outcome: r.outcome, text: r.text });
  });

  app.post(`${BASE}/replay`, async (c) => {
    const req = c.req.raw;
    const [org, appId] = [c.req.param('org'), c.req.param('app')];
    const tool = await readTool(rt, req, org, appId);
    const body = await adminBody(req, z.strictObject({ policy: z.unknown() }));
    const draft = draftOrProblem(body.policy, appId);
    if (draft instanceof Response) return draft;
    if (!tool.active) return problem(ErrorCode.Conflict, 409, 'The active policy could not be read, so there is nothing to compare with.');
    // This isolate's latest counts first (elsewhere they reach D1 with each isolate's next flush).
    await routeRecorder.flushAll(rt.db);
    const samples = await routeSamples(rt.db, appId, rt.now() - HOUR_MS);
    const [from, to] = [await runnablePolicy(rt, org, tool.active), await runnablePolicy(rt, org, draft)];
    const r = replayRoutes(samples, from, to, { appHosts: tool.hosts });
    return json({ hours: 1, routes: r.routes, changed: r.changed });
  });

  app.post(`${BASE}/rules/:rule/promote`, async (c) => {
    const req = c.req.raw;
    const [org, appId, ruleId] = [c.req.param('org'), c.req.param('app'), c.req.param('rule')];
    const caller = await requireAdminCaller(rt, req, org, { write: true });
    await adminBody(req, z.strictObject({}));
    // Promoting changes no `enrolment`: an app-admin of the app may do it.
    await requireAllowed(rt, req, caller, 'policy.update', { orgId: org, appId, changesEnrolment: false });
    const tool = await requireToolApp(rt, org, appId);
    if (!tool.active) return problem(ErrorCode.Conflict, 409, 'The active policy could not be read: promote by saving a new version.');
    const rule = RULE_ID.test(ruleId) ? tool.active.rules.find((r) => r.id === ruleId) : undefined;
    if (!rule) return problem(ErrorCode.NotFound, 404, `The active policy has no rule "${ruleId.slice(0, 64)}".`);
    if (rule.mode !== 'report') return problem(ErrorCode.Conflict, 409, `Rule "${rule.id}" is not report-only: it already enforces.`);
    // The active document with that one rule's `mode` removed (enforce, the default); everything else as it is.
    const promoted = { ...tool.active, rules: tool.active.rules.map((r) => (r === rule ? withoutMode(r) : r)) };
    const comment = `rule "${rule.id}" promoted from report-only to enforce`;
    const r = await proposeRecorded(rt, req, caller, { org, appId, policy: promoted, comment });
    if (r instanceof Response) return r;
    if (r.ok) {
      await rt.audit.record({
        type: 'policy.rule_promoted',
        outcome: 'success',
        ...(await auditBase(req, caller.me, viaOf(caller))),
        ...adminEventScope(rt, caller.me),
        details: {
          org,
          app_id: appId,
          ...(caller.token ? { token: await hashRef(caller.token.id) } : {}),
          rule: rule.id,
          version: r.version,
          from: r.from,
          state: r.state,
          policy: r.hash,
        },
      });
    }
    return versionAnswer(appId, r);
  });
}

const withoutMode = (r: Policy['rules'][number]): Policy['rules'][number] => {
  const { mode: _mode, ...rest } = r;
  return rest;
};
