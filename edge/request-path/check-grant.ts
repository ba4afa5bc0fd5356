/**
 * @module checkGrant: what lets a protected request through without a new challenge — a session
 * grant (the rule's cookie or `Stepgate-Grant` header) or a one-time approval of this exact action.
 */
import { base64url } from '../crypto/base64';
import { hashRef } from '../audit/audit-log';
import type { Identity } from '../identity/identity-source';
import { actionDigest, type CanonicalAction } from '../policy/canonical-action';
import type { CanonicalRequest } from '../policy/canonical-request';
import type { CompiledRule, RuleMatch } from '../policy/compile-policy';
import type { Runtime } from '../deployment/runtime';
import type { UserState } from '../user-state/user-state';
import { readBounded } from './read-body';
import type { StepgateContext } from './stepgate-context';
import { verifyPresentedGrant } from '../grants/verify-presented-grant';

/** A step-up the request passes on: what the assertion and the `grant.used` record say. */
export interface StepUp {
  amr: string[];
  /** Seconds. */
  authTime: number;
  /** The approved action's digest (bind: action), else null. */
  act: string | null;
  details: Record<string, string | boolean | null>;
}

/** The exact action a step-up approves: method, host, path, query, body hash; and, for `bind: "action"`, its digest. */
export interface ActionToApprove {
  action: CanonicalAction;
  /** The method the rule matched as (HEAD when a GET rule matched a HEAD). */
  matchedMethod: string;
  digest: string | null;
}

/** A valid session grant for this person, session, host and rule (`bind: "session"` only), or null. */
export async function sessionGrant(
  rt: Runtime,
  req: Request,
  canonical: CanonicalRequest,
  rule: CompiledRule,
  me: Identity,
): Promise<StepUp | null> {
  if (rule.bind !== 'session') return null;
  const grant = await verifyPresentedGrant(rt.keys, req, {
    rule: rule.id,
    sub: me.sub,
    sid: me.sid,
    hostname: canonical.hostname,
    secure: canonical.protocol === 'https:',
    now: Math.floor(rt.now() / 1000),
  });
  return grant ? { amr: grant.amr, authTime: grant.auth_time, act: null, details: { grant: await hashRef(grant.jti) } } : null;
}

/** The action to approve; reads the body (bounded, into `ctx.body`) when the rule binds the action or the method has one. */
export async function actionToApprove(rt: Runtime, ctx: StepgateContext, match: RuleMatch): Promise<ActionToApprove> {
  const { canonical, request: req } = ctx;
  const rule = match.rule;
  if (ctx.body === null && (rule.bind === 'action' || canonical.method !== 'GET')) {
    ctx.body = await readBounded(req, rt.policy.maxInspectBytes);
  }
  const action: CanonicalAction = {
    method: canonical.method,
    host: canonical.host,
    path: canonical.path,
    query: canonical.query,
    bodySha256: base64url(await crypto.subtle.digest('SHA-256', ctx.body ?? new Uint8Array(0))),
  };
  const matchedMethod = match.method === 'GET' && canonical.method === 'HEAD' ? 'HEAD' : match.method;
  const digest = rule.bind === 'action' ? await actionDigest(action, rule.id, matchedMethod) : null;
  return { action, matchedMethod, digest };
}

/** This session's approval of exactly this action (`bind: "action"` only), spent as it is found; or null. */
export async function actionApproval(
  gate: DurableObjectStub<UserState>,
  me: Identity,
  rule: CompiledRule,
  { digest }: ActionToApprove,
  details: StepUp['details'],
): Promise<StepUp | null> {
  if (!digest) return null;
  // An approved action passes exactly once: the Durable Object deletes the approval as it answers.
  const approval = await gate.consumeApproval(me.sid, digest, rule.id);
  return approval ? { amr: approval.amr, authTime: approval.authTime, act: digest, details } : null;
}
