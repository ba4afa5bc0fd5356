/**
 * @module decideRequest(): the request path of every request that is not for Stepgate's own
 * endpoints — match the rule; an unprotected request goes straight on; a protected one is decided
 * by decideProtected(), which reads top to bottom as the steps (identify, grant or approval, challenge).
 */
import type { Next } from 'hono';
import { ErrorCode } from '../../shared/errors';
import { auditRequest, recordRefusal } from '../audit/audit-log';
import { errorResponse, problem } from '../http/responses';
import { canonicalOrigin, type CanonicalRequest } from '../policy/canonical-request';
import type { RuleMatch } from '../policy/compile-policy';
import type { Runtime } from '../deployment/runtime';
import { awaitPrompt } from './await-prompt';
import { actionApproval, actionToApprove, sessionGrant } from './check-grant';
import { identifyCaller } from './identify-caller';
import { bodyMayClaimMethod, matchRule, matchWithBodyClaims } from './match-rule';
import { openChallenge } from './open-challenge';
import { passStepUp } from './pass-step-up';
import {
  deniedEvent,
  executionContextOf,
  handOver,
  type RequestPathResult,
  type StepgateContext,
  type StepgateHonoContext,
} from './stepgate-context';
import { stepUpRequired } from './step-up-required';

/** A held request taken after its approval (continueHeld): it goes through the decision in place of the request that continued it. */
export interface HeldRequest {
  challenge: string;
  request: Request;
  body: Uint8Array<ArrayBuffer>;
}

/**
 * Decide a request: forward it (`next()`), or answer it. Not async on purpose: an unprotected
 * request whose body cannot change the match is handed on with no await and nothing read.
 */
export function decideRequest(
  c: StepgateHonoContext,
  next: Next,
  rt: Runtime,
  canonical: CanonicalRequest,
  held: HeldRequest | null,
): RequestPathResult {
  const request = held === null ? c.req.raw : held.request;
  try {
    const match = matchRule(rt.policy, canonical);
    const readBody = bodyMayClaimMethod(rt.policy, canonical);
    if (match !== null || readBody) return decideMatched(c, next, rt, canonical, match, request, held, readBody);
    const body = held === null ? null : held.body;
    return goOn(c, next, { canonical, match, identity: null, body, request, identitySource: rt.identitySource });
  } catch (err) {
    return Promise.resolve(errorResponse(err));
  }
}

/** Hand the request on to what follows Stepgate: the gateway's forward(), or the app's own handlers. */
function goOn(c: StepgateHonoContext, next: Next, ctx: StepgateContext): Promise<void> {
  c.set('stepgate', ctx);
  handOver(c.req, ctx);
  return next();
}

async function decideMatched(
  c: StepgateHonoContext,
  next: Next,
  rt: Runtime,
  canonical: CanonicalRequest,
  match: RuleMatch | null,
  request: Request,
  held: HeldRequest | null,
  readBody: boolean,
): RequestPathResult {
  try {
    let body = held === null ? null : held.body;
    if (readBody) ({ canonical, match, body } = await matchWithBodyClaims(rt.policy, canonical, match, request, body));
    const ctx: StepgateContext = { canonical, match, identity: null, body, request, identitySource: rt.identitySource };
    if (match === null) return goOn(c, next, ctx);
    c.set('stepgate', ctx);
    return await decideProtected(c, next, rt, ctx, match, held !== null);
  } catch (err) {
    return errorResponse(err);
  }
}

/**
 * A request a rule matched: identify the caller; pass on a session grant or an approval of this
 * exact action; else open a challenge, wait for the extension's prompt if it asked for one, and
 * answer "step-up required".
 */
async function decideProtected(
  c: StepgateHonoContext,
  next: Next,
  rt: Runtime,
  ctx: StepgateContext,
  match: RuleMatch,
  held: boolean,
): RequestPathResult {
  const { canonical, request: req } = ctx;
  const rule = match.rule;
  const where = { app: canonical.hostname, request: await auditRequest(req, canonical), rule: rule.id };
  const ec = executionContextOf(c);
  const me = await identifyCaller(rt, req, canonical, where, ec);
  if (me instanceof Response) return me;
  const identified = { c, next, rt, ctx, match, me, where, ec };
  const gate = rt.userState(me.sub);

  const grant = await sessionGrant(rt, req, canonical, rule, me);
  if (grant) return await passStepUp(identified, grant);
  const subject = await actionToApprove(rt, ctx, match);
  const approval = await actionApproval(gate, me, rule, subject, { held });
  if (approval) return await passStepUp(identified, approval);
  if (held) {
    // The held request still needs approval (e.g. the grant cookie was not sent): say so plainly.
    await recordRefusal(rt.audit, deniedEvent(me.sub, where, 'not-approved'));
    return problem(ErrorCode.StepUpRequired, 401, 'This action is not approved (or was already carried out). Start it again.');
  }

  const opened = await openChallenge(rt, gate, ctx, rule, me, subject, where);
  if (opened instanceof Response) return opened;
  if (opened.prompted) {
    const answered = await awaitPrompt(rt, gate, me, rule, subject, opened.challenge);
    if (answered instanceof Response) return answered;
    if (answered) return await passStepUp(identified, answered);
    // Timed out (or the approval was spent elsewhere): the normal answer, with the challenge.
  }
  return stepUpRequired(req, opened.challenge, canonicalOrigin(canonical), opened.kept);
}
