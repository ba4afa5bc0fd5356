/**
 * @module The approver's side of dual control at Stepgate's endpoints: who is looking (their roles
 * and groups), the approver's own step-up challenge for one request (rule `approval:<id>`, bound to
 * the request's exact action), and the approval vote cast when that challenge is answered.
 */
import { ErrorCode } from '../../shared/errors';
import type { ApprovalJson } from '../../shared/wire-shapes';
import { type ApprovalDeps, approverDigest } from '../approvals/approval-flow';
import { approvalJson, requirementOf, type Viewer } from '../approvals/approval-json';
import { groupsOf } from '../approvals/approver-groups';
import { openView } from '../approvals/approval-records';
import { approvalNotice } from '../approvals/approval-notice';
import { getApproval } from '../approvals/approval-store';
import { votesOf } from '../approvals/approval-vote-store';
import { approve, checkDecider, type PasskeyEvidence } from '../approvals/approval-votes';
import { rolesOf } from '../admin/role-store';
import { hashRef } from '../audit/audit-log';
import type { Runtime } from '../deployment/runtime';
import { StepgateError } from '../http/stepgate-error';
import type { Identity } from '../identity/identity-source';
import { notifyApproval } from '../notifications/notify';
import { auditBase } from './endpoint-helpers';

/** The rule id of an approver's step-up for approval request `id`. No policy rule id contains ":". */
export const approverRule = (id: string): string => `approval:${id}`;
/** The approval request an approver's step-up rule is for, or null for any other rule. */
export const approvalOfRule = (rule: string): string | null => (rule.startsWith('approval:') ? rule.slice('approval:'.length) : null);

/** The person as approver groups see them, in the organisation of the app they came through. */
export async function viewerOf(rt: Runtime, me: Identity): Promise<Viewer> {
  return { sub: me.sub, subject: me.subject, roles: await rolesOf(rt.db, rt.keys, rt.app.org, me.sub), groups: me.groups };
}

/** The request as `me` sees it; 404 unless they asked, may decide, or read the organisation's administration. */
export async function approvalFor(rt: Runtime, id: string, viewer: Viewer): Promise<ApprovalJson> {
  const row = await getApproval(rt.db, id);
  const notFound = () => new StepgateError(ErrorCode.ApprovalNotFound, 404, 'There is no such request for approval.');
  if (!row || row.org_id !== rt.app.org) throw notFound();
  const json = await approvalJson(rt.keys, row, await votesOf(rt.db, id), viewer, rt.now());
  const reader = viewer.roles.some((r) => r.role === 'owner' || r.role === 'admin' || r.role === 'auditor');
  // Whatever its state: one of the people the rule asks to decide.
  const decider = groupsOf(requirementOf(row), viewer, row.app_id).length > 0;
  if (!json.you.requester && !reader && !decider) throw notFound();
  return json;
}

/**
 * The caller as a decider on request `id` for `step` (through this app, of this organisation, not the
 * requester, in one of its groups, while it takes decisions): who they are to approver groups, where
 * they act, the request and their index; or the refusal thrown (recorded as `approval.refused`).
 */
export async function checkedDecider(rt: Runtime, req: Request, me: Identity, id: string, step: 'approve' | 'deny' | 'step-up') {
  const viewer = await viewerOf(rt, me);
  const where = await auditBase(req, me);
  const checked = await checkDecider(rt, await getApproval(rt.db, id), viewer, { org: rt.app.org, appId: rt.app.id }, where, step);
  if (!checked.ok) throw new StepgateError(checked.code, checked.status, checked.detail);
  return { ...checked, viewer, where };
}

/**
 * An approver answered their step-up for request `id`: spend the approval it produced (once) and
 * cast the vote. The answer's body gets the request as it now stands.
 */
export async function castApprovalVote(
  rt: Runtime,
  req: Request,
  ec: ExecutionContext | null,
  me: Identity,
  rule: string,
  challengeId: string,
  passkey: PasskeyEvidence | null,
): Promise<ApprovalJson> {
  const id = approvalOfRule(rule)!;
  const d: ApprovalDeps = rt;
  const { viewer, where, ...checked } = await checkedDecider(rt, req, me, id, 'approve');
  const spent = await rt.userState(me.sub).consumeApproval(me.sid, await approverDigest(checked.row.id, checked.row.action_digest), rule);
  // None: the step-up was answered from another browser session than the one that pressed Approve (or spent already).
  if (!spent) throw new StepgateError(ErrorCode.ChallengeUsed, 409, 'Approve from the browser session where you pressed Approve.');
  const done = await approve(d, { ...checked, me: viewer, amr: spent.amr, challenge: await hashRef(challengeId), passkey, where });
  if (!done.ok) throw new StepgateError(done.code, done.status, done.detail);
  const row = (await getApproval(rt.db, id))!;
  const view = await openView(rt.keys, row);
  if (done.quorumReached) notifyApproval(rt, ec, approvalNotice(new URL(req.url).origin, row, view, 'approval.approved'));
  return approvalJson(rt.keys, row, await votesOf(rt.db, id), viewer, rt.now(), view);
}
