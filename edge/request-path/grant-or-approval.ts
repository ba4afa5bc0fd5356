/**
 * @module What lets a protected request through without a new challenge: a session grant it
 * presents (`sessionGrant`: the rule's cookie or `Stepgate-Grant` header), or this session's
 * one-time approval of this exact action (`actionApproval`).
 */
import { grantMeetsRule } from '../grants/grant-meets-rule';
import { hashRef } from '../audit/audit-log';
import { verifyPresentedGrant } from '../grants/verify-presented-grant';
import { grantRevoked } from '../user-state/revocation';
import type { ActionToApprove } from './action-to-approve';
import type { StepUp } from './pass-step-up';
import type { IdentifiedRequest } from './protected-request';

/**
 * A valid session grant for this person, session, host and rule (`bind: "session"` only), stepped up
 * after the person's grants were last revoked; or null.
 */
export async function sessionGrant({ rt, ctx, match, me, userState }: IdentifiedRequest): Promise<StepUp | null> {
  const { rule } = match;
  if (rule.bind !== 'session') return null;
  const { canonical } = ctx;
  const grant = await verifyPresentedGrant(rt.keys, ctx.request, {
    rule: rule.id,
    sub: me.sub,
    sid: me.sid,
    hostname: canonical.hostname,
    secure: canonical.protocol === 'https:',
    now: Math.floor(rt.now() / 1000),
  });
  if (!grant) return null;
  // The rule as the active version has it now: a grant made under an older, weaker requirement of the same rule no longer passes.
  if (!grantMeetsRule(grant, rule, Math.floor(rt.now() / 1000))) return null;
  // Revocation works on the next request: the person's Durable Object is asked every time a grant
  // is presented (one RPC, no cache). An unverifiable grant never costs that call.
  if (grantRevoked(grant.auth_time, await userState.grantsRevokedAt())) return null;
  return { amr: grant.amr, authTime: grant.auth_time, act: null, details: { grant: await hashRef(grant.jti) } };
}

/** This session's approval of exactly this action (`bind: "action"` only), spent as it is found; or null. */
export async function actionApproval(
  { userState, me, match }: IdentifiedRequest,
  { digest }: ActionToApprove,
  details: StepUp['details'],
): Promise<StepUp | null> {
  if (!digest) return null;
  // An approved action passes exactly once: the Durable Object deletes the approval as it answers.
  const approval = await userState.consumeApproval(me.sid, digest, match.rule.id);
  return approval ? { amr: approval.amr, authTime: approval.authTime, act: digest, details } : null;
}
