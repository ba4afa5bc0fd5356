/**
 * @module decideRequest(): the request path of every request that is not for Stepgate's own
 * endpoints — match the rule; an unprotected request goes straight on; a protected one is decided
 * by decideProtected(), which reads top to bottom as the steps (identify, grant or approval, challenge).
 * During a canary, a request the app's two policy versions decide differently is decided by the
 * caller's version (decideCanary(), canary-policy.ts); every other request as without a canary.
 */
import type { Next } from 'hono';
import { ErrorCode } from '../../shared/errors';
import { auditRequest, recordRefusal } from '../audit/audit-log';
import type { Runtime } from '../deployment/runtime';
import { errorResponse, problem } from '../http/responses';
import { canonicalOrigin, type CanonicalRequest } from '../policy/canonical-request';
import { recordRoute } from '../policy/route-recorder';
import { type ActionToApprove, actionToApprove } from './action-to-approve';
import { awaitPrompt } from './await-prompt';
import { type CanaryViews, canaryViews, inCanary, knownIdentity, protectingVersion } from './canary-policy';
import { continueToNext } from './continue-to-next';
import { deniedEvent } from './denial-events';
import { approvalDigest, openApprovalOf, requestApproval } from './dual-control';
import { actionApproval, sessionGrant } from './grant-or-approval';
import type { HeldRequest } from './held-request';
import { executionContextOf, type RequestPathResult, type StepgateHonoContext } from './hono-context';
import { identifyCaller } from './identify-caller';
import { bodyMayClaimMethod, matchRule, matchWithBodyClaims } from './match-rule';
import { wayBackOf } from './navigation';
import { openChallenge } from './open-challenge';
import { passStepUp, type StepUp } from './pass-step-up';
import { countReportOnly } from './report-only';
import type { IdentifiedRequest, ProtectedRequest } from './protected-request';
import type { StepgateContext } from './stepgate-context';
import { stepUpRequired } from './step-up-required';

/**
 * Decide a request: let it go on (`next()`), or answer it. `held` is the held request being carried
 * out after its approval (continueHeld), else null. Not async on purpose: an unprotected request
 * whose body cannot change the match goes on with no await and nothing read.
 */
export function decideRequest(
  c: StepgateHonoContext,
  next: Next,
  rt: Runtime,
  canonical: CanonicalRequest,
  held: HeldRequest | null,
): RequestPathResult {
  try {
    const match = matchRule(rt.policy, canonical);
    // Report-only rules never change the decision: counted after the answer (a held request was counted when it came).
    if (rt.policy.hasReportRules && held === null) countReportOnly(c, rt, canonical, c.req.raw);
    // The routes seen, for replaying a draft policy (no await, no I/O here; a held request was recorded when it came).
    if (held === null) recordRoute(executionContextOf(c), rt, canonical);
    const ctx: StepgateContext = {
      canonical,
      match,
      identity: null,
      body: held === null ? null : held.body,
      request: held === null ? c.req.raw : held.request,
      identitySource: rt.identitySource,
      originUrl: rt.app.originUrl,
    };
    // A canary (rare): only a request its two versions decide differently costs more (canary-policy.ts).
    const canary = rt.app.canary;
    if (canary) {
      const views = canaryViews(rt.policy, canary, canonical, match, ctx.request);
      if (views !== null) return decideCanary(c, next, rt, ctx, views, canary.percent, held);
    }
    const readBody = bodyMayClaimMethod(rt.policy, canonical);
    if (match === null && !readBody) return continueToNext(c, next, ctx);
    return decideMatched(c, next, rt, ctx, held, readBody);
  } catch (err) {
    return Promise.resolve(errorResponse(err));
  }
}

/**
 * A request the canary's two versions decide differently: the person decides which version does
 * (a stable bucket by their key); nobody identified gets the version that protects. The chosen
 * version then decides as if it were the only one, so its rule is the one audit events name.
 */
async function decideCanary(
  c: StepgateHonoContext,
  next: Next,
  rt: Runtime,
  ctx: StepgateContext,
  views: CanaryViews,
  percent: number,
  held: HeldRequest | null,
): RequestPathResult {
  try {
    const who = await rt.identify(ctx.request);
    const chosen = who.ok
      ? { ...((await inCanary(rt.keys, rt.app.id, who.identity.sub, percent)) ? views.active : views.base), body: ctx.body }
      : await protectingVersion(views, ctx.request, ctx.body);
    if (chosen.canonical === null) return errorResponse(chosen.refusal);
    // The caller is known already: the steps after this one do not identify them twice.
    const version: Runtime = { ...rt, policy: chosen.policy, identify: knownIdentity(rt.identify, ctx.request, who) };
    Object.assign(ctx, { canonical: chosen.canonical, match: chosen.match, body: chosen.body });
    if (chosen.match === null && !chosen.readBody) return await continueToNext(c, next, ctx);
    return await decideMatched(c, next, version, ctx, held, chosen.readBody);
  } catch (err) {
    return errorResponse(err);
  }
}

/** A request a rule matched, or that some rule may match once its body's method claims are read (`readBody`). */
async function decideMatched(
  c: StepgateHonoContext,
  next: Next,
  rt: Runtime,
  ctx: StepgateContext,
  held: HeldRequest | null,
  readBody: boolean,
): RequestPathResult {
  try {
    // The match again with the body's method claims: its canonical request, match and body replace ctx's.
    if (readBody) Object.assign(ctx, await matchWithBodyClaims(rt.policy, ctx.canonical, ctx.match, ctx.request, ctx.body));
    const { canonical, match, request } = ctx;
    if (match === null) return continueToNext(c, next, ctx);
    c.set('stepgate', ctx);
    const where = { app: canonical.hostname, request: await auditRequest(request, canonical), rule: match.rule.id };
    return await decideProtected({ c, next, rt, ctx, match, where, ec: executionContextOf(c), held });
  } catch (err) {
    return errorResponse(err);
  }
}

/**
 * A request a rule matched: identify the caller; pass on a session grant or an approval of this
 * exact action; else open a challenge, wait for the extension's prompt if it asked for one, and
 * answer "step-up required". A rule with `require.approval` (dual control) first carries out or
 * reports this session's open request for the exact action; a step-up then opens one instead of passing.
 */
async function decideProtected(r: ProtectedRequest): RequestPathResult {
  const me = await identifyCaller(r);
  if (me instanceof Response) return me;
  const identified: IdentifiedRequest = { ...r, me, userState: r.rt.userState(me.sub) };
  const dual = r.match.rule.approval;

  if (dual === null) {
    // Before the body is read: a session grant needs nothing of it.
    const grant = await sessionGrant(identified);
    if (grant) return await passStepUp(identified, grant);
  }
  const action = await actionToApprove(identified);
  if (dual === null) {
    const stepUp = await stepUpOf(identified, action);
    return stepUp instanceof Response ? stepUp : await passStepUp(identified, stepUp);
  }
  const digest = await approvalDigest(identified, action);
  const open = await openApprovalOf(identified, dual, digest);
  if (open === 'forwarded') return;
  if (open !== null) return open;
  const stepUp = dual.requesterStepUp ? ((await sessionGrant(identified)) ?? (await stepUpOf(identified, action))) : null;
  if (stepUp instanceof Response) return stepUp;
  return await requestApproval(identified, dual, digest, action, stepUp);
}

/**
 * The caller's step-up for this exact action (a one-time approval), or the answer that asks for one:
 * open a challenge, wait for the extension's prompt if it asked for one, else "step-up required".
 */
async function stepUpOf(r: IdentifiedRequest, action: ActionToApprove): Promise<StepUp | Response> {
  const approval = await actionApproval(r, action, { held: r.held !== null });
  if (approval) return approval;
  if (r.held !== null) {
    // The held request still needs approval (e.g. the grant cookie was not sent): say so plainly.
    await recordRefusal(r.rt.audit, deniedEvent(r.me.sub, r.where, 'not-approved'));
    return problem(ErrorCode.StepUpRequired, 401, 'This action is not approved (or was already carried out). Start it again.');
  }
  const opened = await openChallenge(r, action);
  if (opened instanceof Response) return opened;
  if (opened.prompted) {
    const answered = await awaitPrompt(r, action, opened.challenge);
    if (answered) return answered;
    // Timed out (or the approval was spent elsewhere): the normal answer, with the challenge.
  }
  const { request, canonical } = r.ctx;
  return stepUpRequired(request, opened.challenge, canonicalOrigin(canonical), opened.holdsRequest, wayBackOf(request, canonical));
}
