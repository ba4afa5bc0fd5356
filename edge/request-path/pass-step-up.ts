/**
 * @module passStepUp(): let a protected request through on its step-up — sign the assertion,
 * record `grant.used` (fail closed: nothing goes on unless that record is durable), continue to
 * what follows Stepgate, then record what it answered (`request.forwarded`).
 */
import { type AssertionClaims, signAssertion } from '../signing/origin-assertion';
import { continueToNext } from './continue-to-next';
import type { IdentifiedRequest } from './protected-request';

/** A step-up the request passes on: what the assertion and the `grant.used` record say. */
export interface StepUp {
  amr: string[];
  /** Seconds. */
  authTime: number;
  /** The approved action's digest (bind: action), else null. */
  act: string | null;
  details: Record<string, string | boolean | null>;
}

export async function passStepUp(r: IdentifiedRequest, { amr, authTime, act, details }: StepUp): Promise<void> {
  const { rt, me, where } = r;
  const rule = r.match.rule;
  await signAssertionFor(r, { amr, authTime, act });
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
  return continueToNextRecorded(r);
}

/**
 * Sign the `Stepgate-Assertion` the origin gets with this request (into `ctx.assertion`); with
 * `approval`, it also names the dual-control request and every person who approved it.
 */
export async function signAssertionFor(
  { rt, ctx, me, match }: IdentifiedRequest,
  o: Pick<StepUp, 'amr' | 'authTime' | 'act'> & { approval?: AssertionClaims['approval'] },
): Promise<void> {
  ctx.identity = me;
  ctx.assertion = await signAssertion(
    rt.keys,
    {
      // The app's own subject: the origin knows its people by it, not by Stepgate's per-organisation key.
      sub: me.subject,
      aud: ctx.canonical.hostname,
      // One key signs for every app of the deployment: the origin checks these are its own (docs/security.md).
      org: rt.app.org,
      app: rt.app.id,
      rule: match.rule.id,
      amr: o.amr,
      auth_time: o.authTime,
      ...(o.act ? { act: o.act } : {}),
      ...(o.approval ? { approval: o.approval } : {}),
      session_hash: me.sessionHash,
    },
    Math.floor(rt.now() / 1000),
  );
}

/** Continue to what follows Stepgate, then record what it answered (after the response: the action already happened). */
export async function continueToNextRecorded({ c, next, rt, ctx, me, where, ec }: IdentifiedRequest): Promise<void> {
  await continueToNext(c, next, ctx);
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
