/**
 * @module Browser side of the approval page: shows an approval request as it stands now (from the
 * approval API's answer) in the page the server rendered (edge/pages/approval-page.ts) — its state
 * and what it means, who must approve and who has, the reason, the expiry — and offers only the
 * controls that still apply. The same words as the server (shared/approval-words.ts); text only.
 */
import { APPROVAL_STATE_WORDS, isClosed, requirementWords, stateSentence, voteWords } from '../../shared/approval-words';
import type { ApprovalJson } from '../../shared/wire-shapes';
import { markedText, timeElement } from './approval-live';

const byId = (id: string): HTMLElement | null => document.getElementById(id);

/** Show or hide an element, when the page has it (each viewer's page has only their controls). */
const showIf = (id: string, visible: boolean): void => {
  const e = byId(id);
  if (e) e.hidden = !visible;
};

function li(text: string, ...more: Node[]): HTMLLIElement {
  const item = document.createElement('li');
  item.append(text, ...more);
  return item;
}

/** The expiry: a countdown while open (the clock ticks it); once closed, when it closed, as the server says it. */
function paintExpiry(a: ApprovalJson): void {
  const cell = byId('expiry');
  if (!cell || !isClosed(a.state) || !byId('expires')) return;
  cell.replaceChildren('no longer open (closed ', timeElement(a.closed_at ?? a.expires_at), ')');
}

/** Show `a` as it stands now. */
export function paint(root: HTMLElement, a: ApprovalJson): void {
  root.dataset.state = a.state;
  const badge = root.querySelector<HTMLElement>('[data-state-badge]');
  if (badge) {
    badge.textContent = APPROVAL_STATE_WORDS[a.state];
    badge.className = a.state === 'denied' || a.state === 'expired' || a.state === 'cancelled' ? 'warn' : '';
  }
  byId('state-sentence')!.textContent = stateSentence(a);
  byId('required')?.replaceChildren(...a.required.map((r) => li(requirementWords(r))));
  const votes = a.votes.map((v) => li(`${voteWords(v)}, `, timeElement(v.at)));
  if (votes.length === 0) votes.push(Object.assign(li('Nobody has decided yet.'), { className: 'note' }));
  byId('votes')?.replaceChildren(...votes);
  byId('justification')?.replaceChildren(...markedText(a.justification ?? 'No reason given.'));
  paintExpiry(a);
  const open = !isClosed(a.state);
  showIf('decide', a.state === 'pending' && a.you.can_approve && a.you.voted === null && !a.you.requester);
  showIf('why-not', open);
  showIf('reason-form', a.state === 'pending' && a.votes.length === 0 && a.justification === null);
  showIf('carry-out', a.state === 'approved');
  showIf('cancel-box', open);
}
