/**
 * @module What the approval window shows of an approval request (dual control): the request's rows
 * exactly as a challenge's window shows them (prompt-view.ts), then who asked and why, the rule's
 * description, who must approve and who has, and where it stands, in the words of the edge's own
 * approval pages (shared/approval-words.ts). Once the approver's step-up is open, the rows its
 * signed prompt covers (request, what it acts as, body summary, where it came from) are drawn from
 * that verified prompt. Hidden characters in any of it are marked and warned about. DOM nodes only,
 * built with `h`; no page state.
 */
import { requirementWords, stateSentence, voteWords } from '../../../shared/approval-words';
import { localTime } from '../../../shared/local-time';
import type { ApprovalJson, VerifiedPrompt } from '../../../shared/wire-shapes';
import { approvalsNeeded } from '../lib/approval-words';
import { h } from '../lib/dom';
import { marked } from '../lib/marked-text';
import { hiddenCharactersWarning, requestRows } from './prompt-view';

/** The texts an approval shows beside the request's own (who, why, the rule's words, the approvers). */
const extraTexts = (a: ApprovalJson): string[] => [
  a.app.name,
  a.requester,
  a.justification ?? '',
  a.rule_description ?? '',
  ...a.required.map((g) => g.from),
  ...a.votes.flatMap((v) => [v.person, v.reason ?? '']),
];

/**
 * The approval as the window shows it: with `signed` (the approver's step-up prompt, verified and
 * checked to match by `stepUpMismatch`), the rows a signature covers come from it, not from the
 * site's unsigned answer. Who asked, why, the rule and the approvers stay as the site answered.
 */
export const withSignedRows = (a: ApprovalJson, signed: VerifiedPrompt | null): ApprovalJson =>
  signed
    ? { ...a, action: signed.action, matched_method: signed.matched_method, body: signed.body, requested_from: signed.requested_from }
    : a;

/** "This request contains hidden characters…", when any shown text does; nothing otherwise. */
export const approvalHiddenCharactersWarning = (a: ApprovalJson, signed: VerifiedPrompt | null = null): HTMLElement | null =>
  hiddenCharactersWarning(withSignedRows(a, signed), ...extraTexts(a));

const voteLine = (v: ApprovalJson['votes'][number]): HTMLElement =>
  h('li', { class: v.vote === 'deny' ? 'error' : '' }, ...marked(voteWords(v)), ` · ${localTime(v.at).local}`);

/** Why there is nothing to decide here, for the person looking (null when they can decide). */
export function whyNotYours(a: ApprovalJson): string | null {
  if (a.you.requester) return 'This is your own request: someone else has to approve it.';
  if (a.you.voted === 'approve') return 'You approved it.';
  if (a.you.voted === 'deny') return 'You denied it.';
  if (!a.you.can_approve) return a.you.why_not ?? 'You are not one of the people this rule lets approve it.';
  return null;
}

/** The facts of an approval request; `signed`: the approver's verified step-up prompt, once there is one. */
export function approvalFacts(a: ApprovalJson, site: string, now: number, signed: VerifiedPrompt | null = null): HTMLElement {
  const needed = approvalsNeeded(a);
  return h(
    'dl',
    { class: 'facts', 'data-signed': signed ? 'request' : 'none' },
    ...requestRows(withSignedRows(a, signed), site, now, a.app.name),
    h('dt', { text: 'Requested by' }),
    h('dd', { id: 'requester', class: 'mono' }, ...marked(a.requester)),
    h('dt', { text: 'Why' }),
    a.justification
      ? h('dd', { id: 'justification' }, ...marked(a.justification))
      : h('dd', { id: 'justification', class: 'muted', text: 'No reason given' }),
    a.rule_description ? h('dt', { text: 'Rule says' }) : null,
    a.rule_description ? h('dd', { id: 'rule-description' }, ...marked(a.rule_description)) : null,
    h('dt', { text: 'Must approve' }),
    h(
      'dd',
      { id: 'required' },
      h('ul', { class: 'plain' }, ...a.required.map((g) => h('li', {}, ...marked(requirementWords(g))))),
      a.state === 'pending' && needed > 0 ? h('span', { class: 'muted', text: `${needed} more needed` }) : null,
    ),
    h('dt', { text: 'Decisions' }),
    a.votes.length
      ? h('dd', { id: 'votes' }, h('ul', { class: 'plain' }, ...a.votes.map(voteLine)))
      : h('dd', { id: 'votes', class: 'muted', text: 'None yet' }),
    h('dt', { text: 'State' }),
    h('dd', { id: 'approval-state', 'data-state': a.state, text: stateSentence(a) }),
  );
}
