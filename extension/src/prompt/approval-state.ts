/**
 * @module The approval window's state machine (dual control), pure: another person's request is
 * `open` for this person's decision → `approving` (the approver's own step-up is opened, then
 * answered with a passkey or a code as a challenge's window answers one) → `approved`; or
 * `denying` → `denied`; or only shown (`view`: their own, closed, already decided, not theirs to
 * approve); or `failed`. Every rule about what may follow what lives here, where it is tested.
 */
import { ErrorCode } from '../../../shared/errors';
import type { ApprovalJson, BodySummary, RequestedFrom, VerifiedPrompt } from '../../../shared/wire-shapes';
import { APPROVAL_RULE_PREFIX } from '../lib/approval-check';
import { approvalRefusal, canDecide, isOpen } from '../lib/approval-words';
import { accepts, finalRefusal, type ApprovalMethod } from './prompt-state';

export type ApprovalPromptState =
  | { kind: 'loading' }
  /**
   * The person may approve or deny. `stepUp`: their own step-up challenge once opened (its verified
   * prompt), kept for another try after a wrong code; `error`: why the last attempt did not work.
   */
  | { kind: 'open'; approval: ApprovalJson; stepUp: VerifiedPrompt | null; error: string | null }
  | { kind: 'approving'; approval: ApprovalJson; stepUp: VerifiedPrompt | null; method: ApprovalMethod }
  | { kind: 'denying'; approval: ApprovalJson; stepUp: VerifiedPrompt | null }
  /** The vote is recorded: `approval` as the edge answered it (quorum reached or how many more). */
  | { kind: 'approved'; approval: ApprovalJson }
  | { kind: 'denied'; approval: ApprovalJson }
  /** Nothing for this person to decide here: shown with where it stands and why. */
  | { kind: 'view'; approval: ApprovalJson }
  | { kind: 'failed'; approval: ApprovalJson | null; code: string; reason: string };

export type ApprovalPromptEvent =
  | { type: 'loaded'; approval: ApprovalJson; now: number }
  | { type: 'load-failed'; code: string; message: string }
  /** The request as the site shows it now (the window asks every few seconds). */
  | { type: 'refreshed'; approval: ApprovalJson; now: number }
  | { type: 'approve'; method: ApprovalMethod }
  /** The approver's step-up is open and its signed prompt checked against the request (`stepUpMismatch`). */
  | { type: 'stepped-up'; stepUp: VerifiedPrompt }
  | { type: 'deny' }
  /** The step-up was answered: the vote is cast; `approval` from the verify answer. */
  | { type: 'voted'; approval: ApprovalJson }
  | { type: 'denied'; approval: ApprovalJson }
  | { type: 'refused'; code: string; message: string }
  | { type: 'tick'; now: number };

/** Said when the step-up takes only a passkey (the approver has one) and a code was tried. */
export const PASSKEY_ONLY = 'You have a passkey on this site: approve with it.';
/** Said when a recovery code was tried: an approval needs the approver's passkey or authenticator app. */
export const NO_RECOVERY = 'A recovery code cannot approve a request: use your passkey or your authenticator app.';
/** Said when the request shown changed while a step-up was held: that step-up is dropped. */
export const LOOK_AGAIN = 'The request changed while you were looking at it. Read it again, then approve or deny.';
/** Said when the step-up is gone (expired, or answered elsewhere) before it was answered here. */
export const STEP_UP_GONE = 'That confirmation is no longer open. Approve again to start a new one.';

const TERMINAL = new Set<ApprovalPromptState['kind']>(['approved', 'denied', 'failed']);
export const isApprovalTerminal = (s: ApprovalPromptState): boolean => TERMINAL.has(s.kind);

/** Whether two body summaries say the same, member by member (kind, size, every field in order, truncation). */
function sameBody(a: BodySummary | null, b: BodySummary | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.kind !== b.kind || a.bytes !== b.bytes || a.truncated !== b.truncated || a.fields.length !== b.fields.length) return false;
  return a.fields.every((f, i) => f.name === b.fields[i]!.name && f.value === b.fields[i]!.value);
}

/** Whether two "where it came from" say the same (page, address, browser). */
const sameFrom = (a: RequestedFrom | null, b: RequestedFrom | null): boolean =>
  a === null || b === null ? a === b : a.page === b.page && a.ip === b.ip && a.user_agent === b.user_agent;

/**
 * Why the approver's step-up challenge is not the one to answer for `approval`, or null when it is:
 * its signed rule is `approval:<id>`, it is a one-time approval, and it binds the exact action shown,
 * as the method it matched, with the body summary and the origin shown.
 * Why: the approval window is drawn from the unsigned request; answering a challenge signed for
 * another action would sign what the person did not see, and a body summary or origin the site's
 * API made up (`confirm = no` beside the real body's hash) would show them something else than
 * what the edge holds. Requester, justification, rule and approvers are not in the signed prompt.
 */
export function stepUpMismatch(stepUp: VerifiedPrompt, approval: ApprovalJson): string | null {
  if (stepUp.rule !== `${APPROVAL_RULE_PREFIX}${approval.id}`)
    return `The confirmation the site opened is for "${stepUp.rule}", not this request.`;
  if (stepUp.bind !== 'action') return 'The confirmation the site opened is not a one-time approval.';
  const [a, b] = [stepUp.action, approval.action];
  if (a.method !== b.method || a.host !== b.host || a.path !== b.path || a.query !== b.query || a.bodySha256 !== b.bodySha256)
    return 'The confirmation the site opened is for another request than the one shown. Nothing was approved.';
  if (stepUp.matched_method !== approval.matched_method)
    return (
      `The confirmation the site opened acts as ${stepUp.matched_method}, ` +
      `not as the ${approval.matched_method} shown. Nothing was approved.`
    );
  if (!sameBody(stepUp.body, approval.body))
    return 'The confirmation the site opened signs another body than the one shown. Nothing was approved.';
  if (!sameFrom(stepUp.requested_from, approval.requested_from))
    return 'The confirmation the site opened says the request came from elsewhere than shown. Nothing was approved.';
  return null;
}

/**
 * Whether `b` asks the person the same as `a`: everything the window shows about the request and
 * why, but not the decisions so far (others' votes, how many have approved, what this person may do).
 */
export function sameAsk(a: ApprovalJson, b: ApprovalJson): boolean {
  const ask = (x: ApprovalJson) =>
    JSON.stringify([
      x.id,
      x.app,
      x.rule,
      x.rule_description,
      x.action,
      x.matched_method,
      x.body,
      x.requester,
      x.requested_from,
      x.justification,
      x.created_at,
      x.expires_at,
      x.required.map((g) => [g.from, g.kind, g.count]),
    ]);
  return ask(a) === ask(b);
}

/** Why the step-up does not take `method`, in words. */
const notTaken = (stepUp: VerifiedPrompt, method: ApprovalMethod): string =>
  method === 'recovery'
    ? NO_RECOVERY
    : accepts(stepUp, 'webauthn') && stepUp.factors.length === 1
      ? PASSKEY_ONLY
      : 'This confirmation does not take that.';

const after = (approval: ApprovalJson, now: number): ApprovalPromptState =>
  canDecide(approval, now) ? { kind: 'open', approval, stepUp: null, error: null } : { kind: 'view', approval };

/** The next state. Events that make no sense in a state leave it unchanged (a double click, a late answer). */
export function nextApprovalState(s: ApprovalPromptState, e: ApprovalPromptEvent): ApprovalPromptState {
  if (isApprovalTerminal(s)) return s;
  switch (e.type) {
    case 'loaded':
      return s.kind === 'loading' ? after(e.approval, e.now) : s;
    case 'load-failed':
      if (s.kind !== 'loading') return s;
      return {
        kind: 'failed',
        approval: null,
        code: e.code,
        reason: approvalRefusal(e.code) ?? finalRefusal(e.code, e.message) ?? e.message,
      };
    case 'refreshed':
      if (s.kind === 'view') return { kind: 'view', approval: e.approval };
      if (s.kind !== 'open') return s;
      if (!canDecide(e.approval, e.now)) return { kind: 'view', approval: e.approval };
      // Why: the held step-up was checked against what the person saw; once the site shows something
      // else (or something the signed prompt does not say), answering it would sign unseen words.
      if (s.stepUp && (!sameAsk(s.approval, e.approval) || stepUpMismatch(s.stepUp, e.approval) !== null))
        return { kind: 'open', approval: e.approval, stepUp: null, error: LOOK_AGAIN };
      return { ...s, approval: e.approval };
    case 'approve':
      if (s.kind !== 'open') return s;
      if (s.stepUp && !accepts(s.stepUp, e.method)) return { ...s, error: notTaken(s.stepUp, e.method) };
      return { kind: 'approving', approval: s.approval, stepUp: s.stepUp, method: e.method };
    case 'stepped-up':
      if (s.kind !== 'approving') return s;
      if (!accepts(e.stepUp, s.method))
        return {
          kind: 'open',
          approval: s.approval,
          stepUp: e.stepUp,
          error: notTaken(e.stepUp, s.method),
        };
      return { ...s, stepUp: e.stepUp };
    case 'deny':
      return s.kind === 'open' ? { kind: 'denying', approval: s.approval, stepUp: s.stepUp } : s;
    case 'voted':
      return s.kind === 'approving' ? { kind: 'approved', approval: e.approval } : s;
    case 'denied':
      return s.kind === 'denying' ? { kind: 'denied', approval: e.approval } : s;
    case 'refused': {
      if (s.kind !== 'approving' && s.kind !== 'denying') return s;
      const about = approvalRefusal(e.code);
      if (about) return { kind: 'failed', approval: s.approval, code: e.code, reason: about };
      // The step-up expired or was answered elsewhere (the console page): start a new one on the next try.
      if (s.kind === 'approving' && (e.code === ErrorCode.ChallengeNotFound || e.code === ErrorCode.ChallengeUsed))
        return { kind: 'open', approval: s.approval, stepUp: null, error: STEP_UP_GONE };
      const final = finalRefusal(e.code, e.message);
      if (final === null) return { kind: 'open', approval: s.approval, stepUp: s.stepUp, error: e.message };
      return { kind: 'failed', approval: s.approval, code: e.code, reason: final };
    }
    case 'tick':
      return s.kind === 'open' && !isOpen(s.approval, e.now) ? { kind: 'view', approval: s.approval } : s;
  }
}
