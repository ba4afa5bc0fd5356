/**
 * @module The approvers' decisions on a dual-control request. The rules that cannot be bent are
 * checked here, for every way in: the requester never decides their own request (any session,
 * token or role: one person is one index under the request's key); one person counts once; only
 * people of the request's organisation, in one of the rule's approver groups, decide; a closed or
 * expired request takes no decision. An approval is recorded with Stepgate's signed statement of
 * exactly what was approved; when the last group has its count the request is approved, once.
 */
import { ErrorCode } from '../../shared/errors';
import { recordRefusal } from '../audit/audit-log';
import { blindIndex } from '../crypto/blind-index';
import { signApprovalStatement } from '../signing/approval-statement';
import { type ApprovalDeps, type ApprovalWhere, approverDigest } from './approval-flow';
import { approverGroupsOf, effectiveState, requirementOf, type Viewer } from './approval-json';
import { openView, sealVote } from './approval-records';
import { type ApprovalRow, markApproved, markQuorumRecorded, unmarkApproved } from './approval-store';
import { dropUnrecordedVote, hasDecided, insertVote, markVoteRecorded, votesOf } from './approval-vote-store';
import { groupsOf, quorum } from './approver-groups';

export type DecisionRefusalReason = 'not-found' | 'other-org' | 'other-app' | 'self' | 'not-eligible' | 'closed' | 'already-decided';

export interface DecisionRefusal {
  ok: false;
  reason: DecisionRefusalReason;
  status: 403 | 404 | 409;
  code: (typeof ErrorCode)[keyof typeof ErrorCode];
  detail: string;
}

const REFUSALS: Record<DecisionRefusalReason, Omit<DecisionRefusal, 'ok' | 'reason'>> = {
  'not-found': { status: 404, code: ErrorCode.ApprovalNotFound, detail: 'There is no such request waiting for approval.' },
  // Why 404: a person of another organisation learns nothing about this one's requests.
  'other-org': { status: 404, code: ErrorCode.ApprovalNotFound, detail: 'There is no such request waiting for approval.' },
  // Why: who a person is (their subject, their groups) is read by the app's own identity configuration.
  'other-app': {
    status: 403,
    code: ErrorCode.ApprovalNotEligible,
    detail: 'Decide on this request on its own app’s site: that is where you are known as one of the people it names.',
  },
  self: { status: 403, code: ErrorCode.ApprovalSelf, detail: 'You asked for this request; someone else must approve it.' },
  'not-eligible': {
    status: 403,
    code: ErrorCode.ApprovalNotEligible,
    detail: 'You are not one of the people this rule asks to approve.',
  },
  closed: { status: 409, code: ErrorCode.ApprovalClosed, detail: 'This request is closed: carried out, denied, expired or cancelled.' },
  'already-decided': { status: 409, code: ErrorCode.ApprovalClosed, detail: 'You have already decided on this request.' },
};

export const decisionRefusal = (reason: DecisionRefusalReason): DecisionRefusal => ({ ok: false, reason, ...REFUSALS[reason] });

/** A person who may decide on `row` now, with their index and groups; or why not (recorded). */
export async function checkDecider(
  d: ApprovalDeps,
  row: ApprovalRow | null,
  me: Viewer,
  at: { org: string; appId: string },
  where: ApprovalWhere,
  step: 'approve' | 'deny' | 'step-up',
): Promise<{ ok: true; row: ApprovalRow; ref: string; groups: number[] } | DecisionRefusal> {
  const refuse = async (reason: DecisionRefusalReason): Promise<DecisionRefusal> => {
    await recordRefusal(d.audit, {
      type: 'approval.refused',
      outcome: 'denied',
      actor: me.sub,
      via: 'session',
      ...where,
      reason,
      details: { approval: row?.id ?? null, step },
    });
    return decisionRefusal(reason);
  };
  if (!row) return refuse('not-found');
  if (row.org_id !== at.org) return refuse('other-org');
  if (row.app_id !== at.appId) return refuse('other-app');
  const ref = await blindIndex(d.keys, 'user', me.sub, row.key_id);
  if (ref === row.requester_ref) return refuse('self');
  const groups = groupsOf(requirementOf(row), me, row.app_id);
  if (groups.length === 0) return refuse('not-eligible');
  const state = effectiveState(row, d.now());
  if (state !== 'pending' && !(step === 'deny' && state === 'approved')) return refuse('closed');
  return { ok: true, row, ref, groups };
}

/** The approver's passkey assertion (base64url, as the browser sent it): their authenticator's signature over the action. */
export interface PasskeyEvidence {
  credential: string;
  clientDataJSON: string;
  authenticatorData: string;
  signature: string;
}

export interface Approved {
  ok: true;
  /** This vote completed the quorum (the request is now approved). */
  quorumReached: boolean;
}

/**
 * Record an approval by a checked decider (their step-up already spent): the vote and its signed
 * statement, on the record before it counts; then the quorum, reached once.
 */
export async function approve(
  d: ApprovalDeps,
  o: {
    row: ApprovalRow;
    ref: string;
    groups: number[];
    me: Viewer;
    amr: string[];
    challenge: string;
    passkey: PasskeyEvidence | null;
    where: ApprovalWhere;
  },
): Promise<Approved | DecisionRefusal> {
  const { row, me } = o;
  const now = d.now();
  const view = await openView(d.keys, row);
  const statement = await signApprovalStatement(
    d.keys,
    {
      approval: row.id,
      act: row.action_digest,
      org: row.org_id,
      app: row.app_id,
      rule: row.rule,
      requester: view.requester,
      approver: me.subject,
      amr: o.amr,
    },
    Math.floor(now / 1000),
  );
  const sealed = await sealVote(d.keys, row.id, o.ref, { subject: me.subject, sub: me.sub, amr: o.amr, reason: null, statement });
  const vote = {
    approval_id: row.id,
    approver_ref: o.ref,
    vote: 'approve' as const,
    eligible_json: JSON.stringify(o.groups),
    sealed,
    at: now,
  };
  if (!(await insertVote(d.db, vote, now))) return decisionRefusal((await hasDecided(d.db, row.id, o.ref)) ? 'already-decided' : 'closed');
  try {
    await d.audit.record({
      type: 'approval.approved',
      outcome: 'success',
      actor: me.sub,
      via: 'session',
      ...o.where,
      rule: row.rule,
      details: {
        approval: row.id,
        action_digest: row.action_digest,
        amr: o.amr,
        signature: statement,
        challenge: o.challenge,
        approver_digest: await approverDigest(row.id, row.action_digest),
        // A passkey's own signature: its clientDataJSON's challenge ends with SHA-256 of `approver_digest`.
        ...(o.passkey
          ? {
              passkey_credential: o.passkey.credential,
              passkey_client_data: o.passkey.clientDataJSON,
              passkey_authenticator_data: o.passkey.authenticatorData,
              passkey_signature: o.passkey.signature,
            }
          : {}),
      },
    });
  } catch (err) {
    // Not on the record: it never counted.
    await dropUnrecordedVote(d.db, row.id, o.ref);
    throw err;
  }
  await markVoteRecorded(d.db, row.id, o.ref);
  return { ok: true, quorumReached: await settleQuorum(d, row, { actor: me.sub, app: o.where.app }) };
}

/**
 * Approve the request if its recorded approvals fill every group: once (one conditional update), and
 * carried out only after `approval.quorum_reached` is on the record — if that record fails, the
 * request is pending again, and the next look at it (the requester asking again) settles it. True
 * when this call approved it.
 */
export async function settleQuorum(d: ApprovalDeps, row: ApprovalRow, by: { actor: string; app: string | null }): Promise<boolean> {
  const counted = approverGroupsOf(await votesOf(d.db, row.id));
  if (!quorum(requirementOf(row), counted).met || !(await markApproved(d.db, row.id, d.now()))) return false;
  try {
    await d.audit.record({
      type: 'approval.quorum_reached',
      outcome: 'success',
      actor: by.actor,
      via: 'session',
      app: by.app,
      rule: row.rule,
      details: { approval: row.id, approvals: counted.length },
    });
  } catch (err) {
    await unmarkApproved(d.db, row.id);
    throw err;
  }
  await markQuorumRecorded(d.db, row.id);
  return true;
}

/** Record a denial by a checked decider: the request is closed in the same transaction. */
export async function deny(
  d: ApprovalDeps,
  o: { row: ApprovalRow; ref: string; groups: number[]; me: Viewer; reason: string | null; where: ApprovalWhere },
): Promise<{ ok: true } | DecisionRefusal> {
  const now = d.now();
  const sealed = await sealVote(d.keys, o.row.id, o.ref, {
    subject: o.me.subject,
    sub: o.me.sub,
    amr: [],
    reason: o.reason,
    statement: null,
  });
  const vote = {
    approval_id: o.row.id,
    approver_ref: o.ref,
    vote: 'deny' as const,
    eligible_json: JSON.stringify(o.groups),
    sealed,
    at: now,
  };
  if (!(await insertVote(d.db, vote, now)))
    return decisionRefusal((await hasDecided(d.db, o.row.id, o.ref)) ? 'already-decided' : 'closed');
  // A denial is a safety action: it stands even if its record fails (the failure is logged by the audit log).
  await recordRefusal(d.audit, {
    type: 'approval.denied',
    outcome: 'success',
    actor: o.me.sub,
    via: 'session',
    ...o.where,
    rule: o.row.rule,
    ...(o.reason ? { reason: o.reason } : {}),
    details: { approval: o.row.id },
  });
  return { ok: true };
}
