/**
 * @module How an approval request reads, in words, for the popup, the options page and the approval
 * window alike: where it stands in a list, how many approvals are still needed, what a vote did,
 * what a refusal means. (The approval window's rows use the edge pages' own words,
 * shared/approval-words.ts.) Pure: tested in Node.
 */
import { ErrorCode } from '../../../shared/errors';
import type { ApprovalJson } from '../../../shared/wire-shapes';

/** Approvals still needed for the quorum: every group's missing ones, summed (all groups are required). */
export const approvalsNeeded = (a: Pick<ApprovalJson, 'required'>): number =>
  a.required.reduce((n, g) => n + Math.max(0, g.count - g.have), 0);

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Whether it still waits for decisions: pending and not past its expiry (the edge expires it; the clock may be ahead of the list). */
export const isOpen = (a: Pick<ApprovalJson, 'state' | 'expires_at'>, now: number): boolean =>
  a.state === 'pending' && Date.parse(a.expires_at) > now;

/** Whether this person can still approve or deny it here. */
export const canDecide = (a: ApprovalJson, now: number): boolean =>
  isOpen(a, now) && a.you.can_approve && !a.you.requester && a.you.voted === null;

/** The state, in words, as the requester reads it ("Your requests"). */
export function stateWords(a: ApprovalJson, now: number): string {
  switch (a.state) {
    case 'pending': {
      if (!isOpen(a, now)) return 'Expired';
      const n = approvalsNeeded(a);
      return n > 0 ? `Waiting for ${plural(n, 'more approval')}` : 'Waiting for approval';
    }
    case 'approved':
      return 'Approved — carry it out';
    case 'denied': {
      const d = a.votes.find((v) => v.vote === 'deny');
      return d ? `Denied by ${d.person}${d.reason ? `: ${d.reason}` : ''}` : 'Denied';
    }
    case 'expired':
      return 'Expired';
    case 'cancelled':
      return 'Cancelled';
    case 'carried-out':
      return 'Carried out';
  }
}

/** After the person's approve vote: what it did, from the request as the edge answered it. */
export function voteResult(a: ApprovalJson): string {
  if (a.state === 'approved') return `Approved: ${a.requester} can carry it out now.`;
  const n = approvalsNeeded(a);
  if (a.state === 'pending') return n > 0 ? `Your approval is recorded; ${n} more needed.` : 'Your approval is recorded.';
  // Closed meanwhile (denied by another, expired): say where it stands.
  return `Your approval is recorded. ${stateWords(a, 0)}.`;
}

/** After the person's denial. */
export const denyResult = (a: Pick<ApprovalJson, 'requester'>): string => `Denied. ${a.requester}’s request will not be carried out.`;

/** Refusals of an approval, by code, as plain sentences; null for codes that are not about the approval itself. */
export function approvalRefusal(code: string): string | null {
  switch (code) {
    case ErrorCode.ApprovalSelf:
      return 'You asked for this yourself: someone else has to approve it.';
    case ErrorCode.ApprovalNotEligible:
      return 'You are not one of the people this rule lets approve it.';
    case ErrorCode.ApprovalClosed:
      return 'This request no longer takes a decision from you: you already decided, or it was approved, denied, cancelled or has expired.';
    case ErrorCode.ApprovalNotFound:
      return 'This request does not exist, or you may not see it.';
    default:
      return null;
  }
}
