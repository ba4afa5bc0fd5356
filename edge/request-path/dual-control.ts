/**
 * @module Dual control on the request path (a rule with `require.approval`, docs/approvals.md): the
 * exact request — method, host, path, query, body, rule — waits, sealed, for other people's
 * approval. Asked again by the session that asked: carried out once when approved (with an
 * assertion naming the requester and every approver), else answered "still waiting". A request
 * the rule's approval changed since it was asked is closed: an approval never moves to another rule.
 */
import { ErrorCode } from '../../shared/errors';
import { openApproval, sessionHash, takeToCarryOut } from '../approvals/approval-flow';
import { approvalNotice } from '../approvals/approval-notice';
import { requirementOf } from '../approvals/approval-json';
import { openView, openVote } from '../approvals/approval-records';
import { type ApprovalRow, markCancelled, markClosureRecorded, openFor } from '../approvals/approval-store';
import { votesOf } from '../approvals/approval-vote-store';
import { settleQuorum } from '../approvals/approval-votes';
import { whoMustApprove } from '../approvals/approver-groups';
import { canonicalJson } from '../audit/canonical-json';
import { blindIndexes } from '../crypto/blind-index';
import { approvalAad } from '../crypto/encryption-context';
import { isNavigation, problem } from '../http/responses';
import { actionDigest } from '../policy/canonical-action';
import { canonicalOrigin, canonicalUrl } from '../policy/canonical-request';
import { notifyApproval } from '../notifications/notify';
import type { CompiledApproval } from '../policy/compile-policy';
import type { ActionToApprove } from './action-to-approve';
import { summarizeBody } from './body-summary';
import { openRequest, sealRequest } from './held-request';
import { requestedFrom } from './open-challenge';
import { continueToNextRecorded, type StepUp, signAssertionFor } from './pass-step-up';
import type { IdentifiedRequest } from './protected-request';

/** The digest that names the exact request for dual control (whatever the rule's `bind`). */
export const approvalDigest = (r: IdentifiedRequest, action: ActionToApprove): Promise<string> =>
  action.digest === null ? actionDigest(action.canonical, r.match.rule.id, action.matchedMethod) : Promise.resolve(action.digest);

/**
 * Before any step-up: this session's open request for exactly this action — carried out if approved
 * (once), answered "still waiting" if pending. Null when there is none (or it was closed here
 * because the rule's approval changed since it was asked).
 */
export async function openApprovalOf(
  r: IdentifiedRequest,
  approval: CompiledApproval,
  digest: string,
): Promise<Response | null | 'forwarded'> {
  const { rt, me } = r;
  const row = await openFor(rt.db, await blindIndexes(rt.keys, 'user', me.sub), await sessionHash(me.sid), digest);
  if (!row || row.expires_at <= rt.now()) return null;
  if (row.app_id !== rt.app.id || row.rule !== r.match.rule.id || canonicalJson(requirementOf(row)) !== canonicalJson(approval)) {
    // Why: approvals given under another rule (or other approver groups) do not carry over to this one.
    if (await markCancelled(rt.db, row.id, await blindIndexes(rt.keys, 'user', me.sub), rt.now())) {
      await rt.audit.record({
        type: 'approval.cancelled',
        outcome: 'info',
        actor: me.sub,
        via: 'system',
        ...r.where,
        rule: row.rule,
        details: { approval: row.id, why: 'rule-changed' },
      });
      await markClosureRecorded(rt.db, [row.id]);
    }
    return null;
  }
  // A quorum whose record failed earlier is settled now (it is carried out only once it is on the record).
  if (row.state === 'pending' || row.quorum_recorded === 0) {
    if (!(await settleQuorum(rt, row, { actor: me.sub, app: r.where.app }))) return approvalPending(r, row, approval);
  }
  return carryOut(r, row);
}

/** Carry out an approved request, once, with an assertion naming everyone; or 409 if it was just taken, denied or expired. */
async function carryOut(r: IdentifiedRequest, row: ApprovalRow): Promise<Response | 'forwarded'> {
  const { rt, me, where } = r;
  const votes = (await votesOf(rt.db, row.id)).filter((v) => v.vote === 'approve' && v.recorded === 1);
  const approvers = await Promise.all(votes.map(async (v) => ({ vote: await openVote(rt.keys, v), at: Math.floor(v.at / 1000) })));
  const view = await openView(rt.keys, row);
  const taken = await takeToCarryOut(rt, row, me.sid, () =>
    rt.audit.record({
      type: 'approval.carried_out',
      outcome: 'success',
      actor: me.sub,
      via: 'session',
      ...where,
      details: { approval: row.id, action_digest: row.action_digest, approvers: approvers.map((a) => a.vote.subject) },
    }),
  );
  if (!taken) return problem(ErrorCode.ApprovalClosed, 409, 'This request was already carried out, or it was denied or has expired.');
  // What was approved is what goes on: the sealed request (its body and headers as they were asked,
  // Content-Type included), with only the session and client headers of the request carrying it out.
  if (r.held === null && row.request_sealed !== null) {
    const sealed = await openRequest(rt.keys, approvalAad(row.id, row.org_id, 'request'), row.request_sealed, r.c.req.raw.headers);
    Object.assign(r.ctx, { request: sealed.request, body: sealed.body });
  }
  await signAssertionFor(r, {
    amr: view.amr,
    authTime: view.authTime ?? Math.floor(row.created_at / 1000),
    act: row.action_digest,
    approval: { id: row.id, approvers: approvers.map((a) => ({ sub: a.vote.subject, amr: a.vote.amr, at: a.at })) },
  });
  await continueToNextRecorded(r);
  return 'forwarded';
}

/**
 * The requester stepped up (or the rule asks none): the exact request now waits for approval.
 * Answered 202 (API) or with the approval page (a browser), or 429 past the caps.
 */
export async function requestApproval(
  r: IdentifiedRequest,
  approval: CompiledApproval,
  digest: string,
  action: ActionToApprove,
  stepUp: StepUp | null,
): Promise<Response> {
  const { rt, ctx, me, where } = r;
  const req = ctx.request;
  const app = await rt.db.prepare('SELECT name FROM apps WHERE id = ?').bind(rt.app.id).first<{ name: string }>();
  const opened = await openApproval(rt, {
    orgId: rt.app.org,
    appId: rt.app.id,
    rule: r.match.rule.id,
    requirement: approval,
    requesterSub: me.sub,
    sid: me.sid,
    digest,
    view: {
      requester: me.subject,
      requesterSub: me.sub,
      appName: app?.name ?? ctx.canonical.hostname,
      action: action.canonical,
      matchedMethod: action.matchedMethod,
      body: summarizeBody(ctx.body, req.headers.get('content-type')),
      requestedFrom: requestedFrom(r.held === null ? req : r.c.req.raw),
      ruleDescription: r.match.rule.source.description ?? null,
      amr: stepUp?.amr ?? [],
      authTime: stepUp?.authTime ?? null,
    },
    sealRequest: (id) =>
      sealRequest(
        rt.keys,
        approvalAad(id, rt.app.org, 'request'),
        canonicalUrl(ctx.canonical),
        ctx.canonical.method,
        req.headers,
        ctx.body,
      ),
    where,
  });
  if (opened.ok && opened.created) {
    const notice = approvalNotice(canonicalOrigin(ctx.canonical), opened.row, await openView(rt.keys, opened.row), 'approval.requested');
    notifyApproval(rt, (r.ec as ExecutionContext | undefined) ?? null, notice);
  }
  if (!opened.ok)
    return problem(
      ErrorCode.TooManyApprovals,
      429,
      opened.reason === 'person-cap'
        ? 'You have too many requests waiting for approval. Cancel one, or wait until one is decided.'
        : opened.reason === 'rate'
          ? 'You asked for approval too many times in the last hour. Try again later.'
          : 'This organisation has too many requests waiting for approval. Try again later.',
    );
  return approvalPending(r, opened.row, approval);
}

/** "Waiting for approval": 202 with where to follow it (API), or 303 to its page (a browser). */
function approvalPending(r: IdentifiedRequest, row: ApprovalRow, approval: CompiledApproval): Response {
  const page = `/.stepgate/approvals/${row.id}`;
  const status = `/.stepgate/api/approvals/${row.id}`;
  // A browser (or the page continuing a held navigation) is shown the request's page.
  if (isNavigation(r.c.req.raw)) return new Response(null, { status: 303, headers: { location: page, 'cache-control': 'no-store' } });
  return problem(
    ErrorCode.ApprovalPending,
    202,
    `This request waits for approval by ${whoMustApprove(approval)}. It is carried out once approved: ` +
      `send the identical request again from this session, or carry it out from ${page}.`,
    {
      approval_id: row.id,
      status_url: status,
      page_url: page,
      expires_at: new Date(row.expires_at).toISOString(),
      required: whoMustApprove(approval),
    },
    { location: status },
  );
}
