/**
 * @module Dual control in words (docs/approvals.md): an approval request's state, who must approve
 * and who has, each decision, and its times — one wording for the edge's approval pages and their
 * scripts (and the extension's prompt), so every surface says the same thing about the same request.
 * Plain text only: each surface escapes it for its medium.
 */
import type { ApprovalJson, ApprovalRequirementJson, ApprovalState, ApprovalVoteJson } from './wire-shapes';

/** A state, short: the badge beside a request. */
export const APPROVAL_STATE_WORDS: Record<ApprovalState, string> = {
  pending: 'Waiting for approval',
  approved: 'Approved',
  denied: 'Denied',
  expired: 'Expired',
  cancelled: 'Cancelled',
  'carried-out': 'Carried out',
};

/** States after which nothing more happens to a request (a page stops asking for news). */
export const isClosed = (s: ApprovalState): boolean => s !== 'pending' && s !== 'approved';

/** The factor of an approver's step-up, from its amr values. */
export function factorWords(amr: readonly string[]): string {
  if (amr.includes('hwk') || amr.includes('swk')) return 'a passkey';
  if (amr.includes('otp')) return 'a code from an authenticator app';
  if (amr.includes('recovery')) return 'a recovery code';
  return 'a step-up';
}

/** "1 from admins: 0 of 1 approved so far". */
export const requirementWords = (r: ApprovalRequirementJson): string =>
  `${r.count} from ${r.from}: ${Math.min(r.have, r.count)} of ${r.count} approved${r.have >= r.count ? '' : ' so far'}`;

/** "bob approved with a passkey", "carol denied: not during the freeze". */
export const voteWords = (v: ApprovalVoteJson): string =>
  v.vote === 'approve'
    ? `${v.person} approved with ${factorWords(v.factor)}`
    : `${v.person} denied it${v.reason ? `: ${v.reason}` : ' (no reason given)'}`;

const UNITS: [number, string][] = [
  [86_400_000, 'day'],
  [3_600_000, 'hour'],
  [60_000, 'minute'],
];

/** A duration in words, the largest unit only: "3 hours", "1 minute", "40 seconds". */
function span(ms: number): string {
  for (const [size, unit] of UNITS) {
    const n = Math.floor(ms / size);
    if (n >= 1) return `${n} ${unit}${n === 1 ? '' : 's'}`;
  }
  const s = Math.max(1, Math.floor(ms / 1000));
  return `${s} second${s === 1 ? '' : 's'}`;
}

/** A time relative to `now`: "in 5 minutes", "2 hours ago", "just now"; "unknown" for an unreadable one. */
export function relativeTime(iso: string, now: number): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return 'unknown';
  const d = t - now;
  if (Math.abs(d) < 5000) return 'just now';
  return d > 0 ? `in ${span(d)}` : `${span(-d)} ago`;
}

/** The expiry of an open request, counting down: "expires in 4 minutes 10 seconds"; "has expired" once past. */
export function countdownWords(expiresIso: string, now: number): string {
  const t = Date.parse(expiresIso);
  if (Number.isNaN(t)) return 'expiry unknown';
  const left = t - now;
  if (left <= 0) return 'has expired';
  if (left >= 3_600_000) return `expires in ${span(left)}`;
  const m = Math.floor(left / 60_000);
  const s = Math.floor((left % 60_000) / 1000);
  return `expires in ${m ? `${m} minute${m === 1 ? '' : 's'} ` : ''}${s} second${s === 1 ? '' : 's'}`;
}

/** A canonical path and query for people (percent-decoding undone where it is valid UTF-8). */
export function readablePath(path: string, query: string): string {
  let p = path;
  try {
    p = decodeURIComponent(path);
  } catch {
    /* canonical paths are valid UTF-8; keep the encoded form otherwise */
  }
  return query ? `${p}?${query}` : p;
}

/** What the requester of an expired request can do. */
const AGAIN = '; if it is still needed, repeat the action to ask again';

/** The denial that ended a request, if one did. */
const denial = (a: ApprovalJson): ApprovalVoteJson | undefined => a.votes.find((v) => v.vote === 'deny');

/**
 * Where the request stands, said plainly to the person looking at it (requester, approver or
 * reader): what happened, and what they can do next. Closed states always say that nothing more
 * will happen, and whether anything was sent.
 */
export function stateSentence(a: ApprovalJson): string {
  const mine = a.you.requester;
  switch (a.state) {
    case 'pending':
      if (mine) return 'Nothing has been sent yet; this page updates by itself.';
      if (a.you.voted === 'approve') return 'You approved it. It still waits for the other approvals it needs.';
      return a.you.can_approve ? 'It waits for your decision.' : 'It waits for the approvals it needs.';
    case 'approved':
      return mine
        ? 'Approved. Carry it out below: it is sent once, exactly as you asked.'
        : `Approved. It waits for ${a.requester} to carry it out; nothing has been sent yet.`;
    case 'denied': {
      const d = denial(a);
      const by = d ? `${d.person} denied it${d.reason ? `: “${d.reason}”` : ' without giving a reason'}` : 'It was denied';
      return `Denied. ${by}. Nothing was sent${mine ? '; if it is still needed, talk to the approvers and ask again' : ''}.`;
    }
    case 'expired':
      return `Expired: it was not approved in time. Nothing was sent${mine ? AGAIN : ''}.`;
    case 'cancelled':
      return mine ? 'You cancelled it. Nothing was sent.' : `Cancelled by ${a.requester}. Nothing was sent.`;
    case 'carried-out':
      return 'Carried out: the request was sent to the app once, exactly as it was approved.';
  }
}

/**
 * What a queue shows, in one string: which requests, in which state, with how many approvals. The
 * queue page renders it, and its script asks for the queue again and shows it anew when it differs.
 */
export const queueSignature = (list: { awaiting_you: readonly ApprovalJson[]; yours: readonly ApprovalJson[] }): string =>
  [list.awaiting_you, list.yours]
    .map((l) => l.map((a) => `${a.id}:${a.state}:${a.votes.length}:${a.justification === null ? 0 : 1}`).join(','))
    .join('|');
