/**
 * @module passStepUp(): let a protected request through on its step-up — sign the assertion,
 * record `grant.used` (fail closed: nothing is forwarded unless that record is durable), forward,
 * then record what the origin answered (`request.forwarded`).
 */
import type { Next } from 'hono';
import type { Identity } from '../identity/identity-source';
import type { RuleMatch } from '../policy/compile-policy';
import { signAssertion } from '../signing/origin-assertion';
import type { Runtime } from '../deployment/runtime';
import type { StepUp } from './check-grant';
import { handOver, type RequestWhere, type StepgateContext, type StepgateHonoContext, type WaitUntil } from './stepgate-context';

/** A protected request whose caller is known: what passing it on needs. */
export interface IdentifiedRequest {
  c: StepgateHonoContext;
  next: Next;
  rt: Runtime;
  ctx: StepgateContext;
  match: RuleMatch;
  me: Identity;
  where: RequestWhere;
  ec: WaitUntil;
}

export async function passStepUp(r: IdentifiedRequest, { amr, authTime, act, details }: StepUp): Promise<void> {
  const { rt, ctx, me, where } = r;
  const rule = r.match.rule;
  ctx.identity = me;
  ctx.assertion = await signAssertion(
    rt.keys,
    {
      sub: me.sub,
      aud: ctx.canonical.hostname,
      rule: rule.id,
      amr,
      auth_time: authTime,
      ...(act ? { act } : {}),
      session_hash: me.sessionHash,
    },
    Math.floor(rt.now() / 1000),
  );
  await rt.audit.record({
    type: 'grant.used',
    outcome: 'success',
    actor: me.sub,
    via: 'session',
    ...where,
    details: {
      bind: rule.bind,
      amr,
      auth_time: new Date(authTime * 1000).toISOString(),
      ...(act ? { action_digest: act } : {}),
      ...details,
    },
  });
  return forwardAudited(r);
}

/** Forward, then record what the origin answered (after the response: the action already happened). */
async function forwardAudited({ c, next, rt, ctx, me, where, ec }: IdentifiedRequest): Promise<void> {
  handOver(c.req, ctx);
  await next();
  const status = c.res.status;
  rt.audit.later(ec, {
    type: 'request.forwarded',
    outcome: status >= 500 ? 'failure' : 'success',
    actor: me.sub,
    via: 'session',
    ...where,
    details: { status },
  });
}
