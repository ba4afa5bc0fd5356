/**
 * @module An organisation's policy baseline through the admin API (edge/admin/policy-baseline.ts,
 * baseline-writes.ts), under /.stepgate/api/admin/orgs/:org/policy-baseline: read it (owners, admins,
 * auditors and app-admins: `baseline.read`, in a browser: no token scope names it), save it, approve
 * or reject a waiting change (owners and admins: `baseline.update`, also with an admin:write token). A
 * change that weakens the baseline waits for a different owner or admin, who approves it in a browser
 * after their own fresh step-up, never with a token.
 */
import type { Hono } from 'hono';
import * as z from '../http/zod';
import { ErrorCode } from '../../shared/errors';
import { AppInputError } from '../admin/app-input';
import { approveBaseline, type BaselineOutcome, rejectBaseline, saveBaseline } from '../admin/baseline-writes';
import { appPoliciesInForce, classifyBaselineChange } from '../admin/baseline-impact';
import { getBaseline } from '../admin/policy-baseline';
import type { Runtime } from '../deployment/runtime';
import { json, problem } from '../http/responses';
import { readBaseline } from '../policy/baseline-document';
import {
  type AdminCaller,
  adminBody,
  recordChange,
  recordRefusal,
  refuseToken,
  requireAdminCaller,
  requireAllowed,
  subjectOf,
} from './admin-access';

export const BASELINE_PATH = '/.stepgate/api/admin/orgs/:org/policy-baseline';
/** The hash of the proposal the caller saw: approving or rejecting another one is refused (409). */
const Expected = z.strictObject({ hash: z.optional(z.string().check(z.maxLength(100))) });

type BaselineEvent = 'policy.baseline_updated' | 'policy.baseline_proposed' | 'policy.baseline_approved' | 'policy.baseline_rejected';

/** Record a baseline change with the classifier's reasons (at most 50). */
async function recordBaselineEvent(
  rt: Runtime,
  req: Request,
  caller: AdminCaller,
  type: BaselineEvent,
  org: string,
  r: Extract<BaselineOutcome, { ok: true }>,
): Promise<void> {
  // The baseline is the organisation's, not an app's: app_id is null.
  await recordChange(rt, req, caller, type, {
    org,
    appId: null,
    details: {
      baseline: r.hash,
      from: r.from,
      // A proposal this save withdrew: it was made against the baseline this one replaces.
      ...(r.withdrawn ? { withdrawn: r.withdrawn } : {}),
      ...(type === 'policy.baseline_rejected'
        ? {}
        : {
            weakens: r.change.weakens,
            reasons: r.change.changes
              .filter((c) => c.kind !== 'neutral')
              .slice(0, 50)
              .map((c) => c.message),
          }),
    },
  });
}

/** The answer to a store outcome: 200 in force (or rejected), 202 waiting for a second person, refusals as 4xx. */
function baselineAnswer(org: string, r: BaselineOutcome): Response {
  if (!r.ok)
    return problem(r.code === 'same-person' ? ErrorCode.Forbidden : ErrorCode.Conflict, r.code === 'same-person' ? 403 : 409, r.reason);
  return json(
    {
      org,
      state: r.state,
      hash: r.hash,
      weakens: r.change.weakens,
      changes: r.change.changes.map((c) => ({ kind: c.kind, rule: c.rule, field: c.field, message: c.message })),
    },
    r.state === 'proposed' ? 202 : 200,
  );
}

export function registerBaselineRoutes(app: Hono, rt: Runtime): void {
  app.get(BASELINE_PATH, async (c) => {
    const req = c.req.raw;
    const org = c.req.param('org');
    const caller = await requireAdminCaller(rt, req, org, { write: false });
    await requireAllowed(rt, req, caller, 'baseline.read', { orgId: org });
    const b = await getBaseline(rt.db, rt.keys, org);
    if (!b) return json({ org, baseline: null, proposal: null });
    const proposed = b.proposal ? readBaseline(JSON.stringify(b.proposal.document)) : null;
    const apps = proposed ? (await appPoliciesInForce(rt.db, org, rt.bundledPolicy.policy)).apps : [];
    const change = b.document && proposed ? classifyBaselineChange(b.document, proposed, apps).change : null;
    return json({
      org,
      baseline: {
        // null when the stored document no longer validates: every app policy write is then refused.
        policy: b.document,
        hash: b.hash,
        updated_at: new Date(b.updatedAt).toISOString(),
        updated_by: b.updatedBy === null ? null : subjectOf(org, b.updatedBy),
      },
      proposal: b.proposal
        ? {
            policy: b.proposal.document,
            hash: b.proposal.hash,
            proposed_by: b.proposal.by === null ? null : subjectOf(org, b.proposal.by),
            proposed_at: new Date(b.proposal.at).toISOString(),
            mine: b.proposal.by === caller.me.sub,
            changes: (change?.changes ?? [])
              .filter((x) => x.kind !== 'neutral')
              .map((x) => ({ kind: x.kind, rule: x.rule, message: x.message })),
          }
        : null,
    });
  });

  app.put(BASELINE_PATH, async (c) => {
    const req = c.req.raw;
    const org = c.req.param('org');
    const caller = await requireAdminCaller(rt, req, org, { write: true });
    const body = await adminBody(req, z.strictObject({ policy: z.unknown() }));
    await requireAllowed(rt, req, caller, 'baseline.update', { orgId: org });
    let r: BaselineOutcome;
    try {
      r = await saveBaseline(rt.db, rt.keys, {
        orgId: org,
        document: body.policy,
        by: caller.me.sub,
        now: rt.now(),
        bundled: rt.bundledPolicy.policy,
      });
    } catch (e) {
      if (!(e instanceof AppInputError)) throw e;
      return problem(ErrorCode.BadRequest, 400, e.problems.join('; ') || 'invalid baseline', { problems: e.problems });
    }
    if (r.ok)
      await recordBaselineEvent(rt, req, caller, r.state === 'active' ? 'policy.baseline_updated' : 'policy.baseline_proposed', org, r);
    return baselineAnswer(org, r);
  });

  app.post(`${BASELINE_PATH}/approve`, async (c) => {
    const req = c.req.raw;
    const org = c.req.param('org');
    // Why: approving a weakening is the second person's own decision, after their own fresh step-up.
    refuseToken(req);
    const caller = await requireAdminCaller(rt, req, org, { write: true });
    const body = await adminBody(req, Expected);
    await requireAllowed(rt, req, caller, 'baseline.update', { orgId: org });
    let r: BaselineOutcome;
    try {
      r = await approveBaseline(rt.db, rt.keys, {
        orgId: org,
        by: caller.me.sub,
        now: rt.now(),
        bundled: rt.bundledPolicy.policy,
        ...(body.hash ? { expected: body.hash } : {}),
      });
    } catch (e) {
      if (!(e instanceof AppInputError)) throw e;
      return problem(ErrorCode.BadRequest, 400, e.problems.join('; '), { problems: e.problems });
    }
    if (!r.ok && r.code === 'same-person') {
      await recordRefusal(rt, req, caller.me, { action: 'baseline.update', code: 'same-person-approves', reason: r.reason, org });
    }
    if (r.ok) await recordBaselineEvent(rt, req, caller, 'policy.baseline_approved', org, r);
    return baselineAnswer(org, r);
  });

  app.post(`${BASELINE_PATH}/reject`, async (c) => {
    const req = c.req.raw;
    const org = c.req.param('org');
    const caller = await requireAdminCaller(rt, req, org, { write: true });
    const body = await adminBody(req, Expected);
    await requireAllowed(rt, req, caller, 'baseline.update', { orgId: org });
    const r = await rejectBaseline(rt.db, { orgId: org, ...(body.hash ? { expected: body.hash } : {}) });
    if (r.ok) await recordBaselineEvent(rt, req, caller, 'policy.baseline_rejected', org, r);
    return baselineAnswer(org, r);
  });
}
