/**
 * @module actionToApprove(): the exact action a step-up approves — method, host, path, query and the
 * body's hash (the body is read for it, bounded) — and, for `bind: "action"`, its digest.
 */
import { base64url } from '../crypto/base64';
import { actionDigest, type CanonicalAction } from '../policy/canonical-action';
import type { ProtectedRequest } from './protected-request';
import { readBounded } from './read-body';

/** The exact action a step-up approves: method, host, path, query, body hash; and, for `bind: "action"`, its digest. */
export interface ActionToApprove {
  canonical: CanonicalAction;
  /** The method the rule matched as (HEAD when a GET rule matched a HEAD). */
  matchedMethod: string;
  digest: string | null;
}

/** The action to approve; reads the body (bounded, into `ctx.body`) when the rule binds the action or the method has one. */
export async function actionToApprove({ rt, ctx, match }: ProtectedRequest): Promise<ActionToApprove> {
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
  return { canonical: action, matchedMethod, digest };
}
