/**
 * @module An app's policy versions through the admin API (edge/admin/policy-versions.ts): list them,
 * propose one (optionally as a canary), approve or reject a proposal, roll back to an earlier one — under
 * /.stepgate/api/admin/orgs/:org/apps/:app/policy/versions. Each is `policy.update` (reading,
 * `policy.read`) after the caller checks of admin-access.ts; a weakening version waits for a second
 * person, and approving needs a person in a browser with a fresh step-up (never a token).
 */
import type { Hono } from 'hono';
import * as z from '../http/zod';
import { ErrorCode } from '../../shared/errors';
import { AppInputError, changesEnrolment } from '../admin/app-input';
import {
  activePolicy,
  activateVersion,
  approveVersion,
  getVersion,
  listVersions,
  rejectVersion,
  type VersionOutcome,
} from '../admin/policy-versions';
import type { Runtime } from '../deployment/runtime';
import { json, problem } from '../http/responses';
import { StepgateError } from '../http/stepgate-error';
import {
  type AdminCaller,
  adminBody,
  NOT_FOUND_APP,
  recordRefusal,
  refuseToken,
  requireAdminCaller,
  requireAllowed,
  subjectOf,
} from './admin-access';
import { appRef, CanaryPercent, proposeAndAnswer, recordPolicyEvent, recordVersionEvent, versionAnswer } from './policy-version-answers';

const BASE = '/.stepgate/api/admin/orgs/:org/apps/:app/policy/versions';
const Comment = z._default(z.string().check(z.maxLength(500)), '');

/** The version number of the path: a whole number, else 400. */
function versionOfPath(raw: string | undefined): number {
  if (!raw || !/^[1-9]\d{0,8}$/.test(raw)) throw new StepgateError(ErrorCode.BadRequest, 400, 'version: a whole number from 1');
  return Number(raw);
}

/**
 * policy.update, with whether `next` (undefined: no such version) changes `enrolment` compared with
 * the active policy (an app-admin may not).
 */
async function requireUpdate(rt: Runtime, req: Request, caller: AdminCaller, org: string, appId: string, next: unknown): Promise<void> {
  const active = await activePolicy(rt.db, appRef(rt, org, appId));
  await requireAllowed(rt, req, caller, 'policy.update', {
    orgId: org,
    appId,
    // A version that does not exist changes nothing: answered 404 after the caller is allowed to update the app.
    changesEnrolment: next === undefined ? false : changesEnrolment(active?.policy ?? null, next),
  });
}

export function registerPolicyVersionRoutes(app: Hono, rt: Runtime): void {
  app.get(BASE, async (c) => {
    const req = c.req.raw;
    const [org, appId] = [c.req.param('org'), c.req.param('app')];
    const caller = await requireAdminCaller(rt, req, org, { write: false });
    await requireAllowed(rt, req, caller, 'policy.read', { orgId: org, appId });
    const raw = c.req.query('limit') ?? '20';
    if (!/^[1-9]\d?$/.test(raw) || Number(raw) > 50) return problem(ErrorCode.BadRequest, 400, 'limit: a whole number from 1 to 50');
    const ref = appRef(rt, org, appId);
    if (!(await activePolicy(rt.db, ref))) return problem(ErrorCode.NotFound, 404, NOT_FOUND_APP);
    const versions = await listVersions(rt.db, rt.keys, { ...ref, limit: Number(raw) });
    return json({
      app_id: appId,
      versions: versions.map((v) => ({
        version: v.version,
        state: v.state,
        hash: v.hash,
        comment: v.comment,
        author: v.author === null ? null : subjectOf(org, v.author),
        approved_by: v.approvedBy === null ? null : subjectOf(org, v.approvedBy),
        created_at: new Date(v.createdAt).toISOString(),
        policy: v.policy,
      })),
    });
  });

  app.post(BASE, async (c) => {
    const req = c.req.raw;
    const [org, appId] = [c.req.param('org'), c.req.param('app')];
    const caller = await requireAdminCaller(rt, req, org, { write: true });
    const body = await adminBody(req, z.strictObject({ policy: z.unknown(), comment: Comment, canary_percent: CanaryPercent }));
    await requireUpdate(rt, req, caller, org, appId, body.policy);
    return proposeAndAnswer(rt, req, caller, {
      org,
      appId,
      policy: body.policy,
      comment: body.comment,
      canaryPercent: body.canary_percent ?? null,
    });
  });

  app.post(`${BASE}/:n/approve`, async (c) => {
    const req = c.req.raw;
    const [org, appId] = [c.req.param('org'), c.req.param('app')];
    // Why: approving a weakening is the second person's own decision, after their own fresh step-up.
    refuseToken(req);
    const caller = await requireAdminCaller(rt, req, org, { write: true });
    await adminBody(req, z.strictObject({}));
    const n = versionOfPath(c.req.param('n'));
    const ref = appRef(rt, org, appId);
    const v = await getVersion(rt.db, rt.keys, { ...ref, version: n });
    await requireUpdate(rt, req, caller, org, appId, v?.policy);
    // Why: a weakening needs a second owner or admin — an app-admin may propose one, never approve another's.
    await requireAllowed(rt, req, caller, 'policy.approve', { orgId: org, appId });
    const r = await storeAnswer(() => approveVersion(rt.db, rt.keys, { ...ref, version: n, by: caller.me.sub, now: rt.now() }));
    if (r instanceof Response) return r;
    if (!r.ok && r.code === 'same-person') {
      await recordRefusal(rt, req, caller.me, { action: 'policy.update', code: 'same-person-approves', reason: r.reason, org, appId });
    }
    if (r.ok) await recordVersionEvent(rt, req, caller, 'policy.version_approved', { org, appId, r });
    return versionAnswer(appId, r);
  });

  app.post(`${BASE}/:n/activate`, async (c) => {
    const req = c.req.raw;
    const [org, appId] = [c.req.param('org'), c.req.param('app')];
    const caller = await requireAdminCaller(rt, req, org, { write: true });
    await adminBody(req, z.strictObject({}));
    const n = versionOfPath(c.req.param('n'));
    const ref = appRef(rt, org, appId);
    const v = await getVersion(rt.db, rt.keys, { ...ref, version: n });
    await requireUpdate(rt, req, caller, org, appId, v?.policy);
    const r = await storeAnswer(() => activateVersion(rt.db, rt.keys, { ...ref, version: n, by: caller.me.sub, now: rt.now() }));
    if (r instanceof Response) return r;
    if (r.ok)
      await recordVersionEvent(rt, req, caller, r.state === 'active' ? 'policy.rolled_back' : 'policy.version_proposed', { org, appId, r });
    return versionAnswer(appId, r);
  });

  // Reject a proposal: any owner, admin or app-admin of the app, its author too (withdrawing one's own).
  app.post(`${BASE}/:n/reject`, async (c) => {
    const req = c.req.raw;
    const [org, appId] = [c.req.param('org'), c.req.param('app')];
    const caller = await requireAdminCaller(rt, req, org, { write: true });
    await adminBody(req, z.strictObject({}));
    const n = versionOfPath(c.req.param('n'));
    // Rejecting changes no policy (not its enrolment either): allowed to whoever may update the app's policy.
    await requireAllowed(rt, req, caller, 'policy.update', { orgId: org, appId, changesEnrolment: false });
    const r = await rejectVersion(rt.db, { orgId: org, appId, version: n });
    if (!r.ok) return versionAnswer(appId, r);
    await recordPolicyEvent(rt, req, caller, 'policy.version_rejected', { org, appId, details: { version: r.version, policy: r.hash } });
    return json({ app_id: appId, version: r.version, state: 'rejected', hash: r.hash });
  });
}

/** Run an approval or rollback: a version that now weakens the organisation baseline is 400, listing why. */
async function storeAnswer(run: () => Promise<VersionOutcome>): Promise<VersionOutcome | Response> {
  try {
    return await run();
  } catch (e) {
    if (!(e instanceof AppInputError)) throw e;
    return problem(ErrorCode.BadRequest, 400, e.problems.join('; ') || 'invalid policy', { problems: e.problems });
  }
}
