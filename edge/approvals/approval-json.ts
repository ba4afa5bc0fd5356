/**
 * @module A dual-control request as its API, pages and the extension show it (`ApprovalJson`):
 * opened from its sealed view and votes, with the quorum so far and what the viewer may do.
 */
import type { ApprovalJson, ApprovalVoteJson } from '../../shared/wire-shapes';
import { blindIndex } from '../crypto/blind-index';
import type { Keyring } from '../crypto/keyring';
import type { CompiledApproval } from '../policy/compile-policy';
import { type ApprovalView, openJustification, openVote, openView } from './approval-records';
import type { ApprovalRow } from './approval-store';
import type { VoteRow } from './approval-vote-store';
import { type ApproverFacts, groupsOf, quorum, requirementJson } from './approver-groups';

/** The person looking, with what decides what they may do. */
export interface Viewer extends ApproverFacts {
  /** Stepgate's key for the person. */
  sub: string;
}

export const requirementOf = (row: Pick<ApprovalRow, 'requirement_json'>): CompiledApproval =>
  JSON.parse(row.requirement_json) as CompiledApproval;

/** The decisions that count: denials, and approvals whose event is on the record. */
export const countedVotes = (votes: readonly VoteRow[]): VoteRow[] => votes.filter((v) => v.vote === 'deny' || v.recorded === 1);

/** The recorded approvals' groups, in the order they came: what the quorum counts. */
export const approverGroupsOf = (votes: readonly VoteRow[]): number[][] =>
  votes.filter((v) => v.vote === 'approve' && v.recorded === 1).map((v) => JSON.parse(v.eligible_json) as number[]);

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The request's state as people should read it: an open request past its expiry is expired, even before the sweep records it. */
export const effectiveState = (row: Pick<ApprovalRow, 'state' | 'expires_at'>, now: number): ApprovalRow['state'] =>
  (row.state === 'pending' || row.state === 'approved') && row.expires_at <= now ? 'expired' : row.state;

/** Why the viewer may not approve, or null when they may. */
async function whyNot(
  ring: Keyring,
  row: ApprovalRow,
  viewer: Viewer,
  votes: readonly VoteRow[],
  now: number,
): Promise<{ requester: boolean; voted: 'approve' | 'deny' | null; whyNot: string | null }> {
  const ref = await blindIndex(ring, 'user', viewer.sub, row.key_id);
  const requester = ref === row.requester_ref;
  const voted = votes.find((v) => v.approver_ref === ref)?.vote ?? null;
  if (requester) return { requester, voted, whyNot: 'You asked for this; someone else must approve it.' };
  if (voted) return { requester, voted, whyNot: voted === 'approve' ? 'You approved this already.' : 'You denied this.' };
  if (effectiveState(row, now) !== 'pending') return { requester, voted, whyNot: 'This request is closed.' };
  if (groupsOf(requirementOf(row), viewer, row.app_id).length === 0)
    return { requester, voted, whyNot: 'You are not one of the people who may approve this.' };
  return { requester, voted, whyNot: null };
}

/** The request as the wire shows it to `viewer`. */
export async function approvalJson(
  ring: Keyring,
  row: ApprovalRow,
  votes: readonly VoteRow[],
  viewer: Viewer,
  now: number,
  view?: ApprovalView,
): Promise<ApprovalJson> {
  const v = view ?? (await openView(ring, row));
  const approval = requirementOf(row);
  const { have } = quorum(approval, approverGroupsOf(votes));
  const shown = countedVotes(votes);
  const opened = await Promise.all(shown.map((vote) => openVote(ring, vote)));
  const voteJson: ApprovalVoteJson[] = shown.map((vote, i) => ({
    person: opened[i]!.subject,
    vote: vote.vote,
    at: new Date(vote.at).toISOString(),
    factor: opened[i]!.amr,
    reason: opened[i]!.reason,
  }));
  const you = await whyNot(ring, row, viewer, votes, now);
  return {
    id: row.id,
    state: effectiveState(row, now),
    app: { id: row.app_id, name: v.appName },
    rule: row.rule,
    rule_description: v.ruleDescription,
    action: v.action,
    matched_method: v.matchedMethod,
    body: v.body,
    requester: v.requester,
    requested_from: v.requestedFrom,
    justification: await openJustification(ring, row),
    created_at: new Date(row.created_at).toISOString(),
    expires_at: new Date(row.expires_at).toISOString(),
    closed_at: iso(row.closed_at),
    required: requirementJson(approval, have),
    votes: voteJson,
    you: { requester: you.requester, can_approve: you.whyNot === null, voted: you.voted, why_not: you.whyNot },
    status_url: `/.stepgate/api/approvals/${row.id}`,
    page_url: `/.stepgate/approvals/${row.id}`,
  };
}
