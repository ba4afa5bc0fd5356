/**
 * @module Dual control's two lists, for the popup and the options page alike: requests of others
 * waiting for the person's approval (**Review** opens the approval window) and the person's own
 * requests with where each stands (**Carry it out** once approved opens the site's page for it,
 * which carries it out). Built with `h`; every text from a site stays text, hidden characters marked.
 */
import type { ApprovalJson } from '../../../shared/wire-shapes';
import { approvalPageUrl } from './approval-check';
import { isOpen, stateWords } from './approval-words';
import { h, relative } from './dom';
import { marked } from './marked-text';
import type { SiteApprovals } from './messages';

export interface ApprovalListActions {
  /** Open the approval window of `id` on `site`. */
  review(site: string, id: string): void;
  /** Open `url` (the site's own page of the request) in a new tab. */
  carryOut(url: string): void;
}

const target = (a: ApprovalJson) => `${a.action.method} ${a.action.path}${a.action.query ? `?${a.action.query}` : ''}`;

/** App, then method and path: the first two lines of every item. */
const what = (a: ApprovalJson): HTMLElement[] => [
  h('strong', { class: 'approval-app' }, ...marked(a.app.name)),
  h('div', { class: 'mono approval-request' }, ...marked(target(a))),
];

function awaitingItem(site: string, a: ApprovalJson, now: number, act: ApprovalListActions): HTMLElement {
  return h(
    'li',
    { class: 'card spread', 'data-approval-id': a.id, 'data-site': site },
    h(
      'div',
      {},
      ...what(a),
      h('div', { class: 'muted' }, 'Requested by ', ...marked(a.requester), ` · expires ${relative(Date.parse(a.expires_at) - now)}`),
    ),
    h('button', { class: 'primary', text: 'Review', onClick: () => act.review(site, a.id) }),
  );
}

function yoursItem(site: string, a: ApprovalJson, now: number, act: ApprovalListActions): HTMLElement {
  const url = a.state === 'approved' ? approvalPageUrl(site, a.page_url) : null;
  const open = isOpen(a, now);
  return h(
    'li',
    { class: 'card spread', 'data-approval-id': a.id, 'data-site': site, 'data-state': a.state },
    h(
      'div',
      {},
      ...what(a),
      h(
        'div',
        { class: `approval-state ${a.state === 'approved' ? 'ok' : a.state === 'denied' ? 'error' : 'muted'}` },
        ...marked(stateWords(a, now)),
      ),
      open ? h('div', { class: 'muted', text: `Expires ${relative(Date.parse(a.expires_at) - now)}` }) : null,
    ),
    url ? h('button', { class: 'primary', text: 'Carry it out', onClick: () => act.carryOut(url) }) : null,
  );
}

/** Both lists (each only when it has items): awaiting the person first, then their own. */
export function approvalLists(list: SiteApprovals[], now: number, act: ApprovalListActions): HTMLElement[] {
  const awaiting = list.flatMap((s) => s.awaiting_you.filter((a) => isOpen(a, now)).map((a) => ({ site: s.site, a })));
  const yours = list.flatMap((s) => s.yours.map((a) => ({ site: s.site, a })));
  const out: HTMLElement[] = [];
  if (awaiting.length)
    out.push(
      h('h2', { id: 'approvals-awaiting-title', text: `Requests waiting for your approval (${awaiting.length})` }),
      h(
        'ul',
        { class: 'plain', id: 'approvals-awaiting', 'aria-labelledby': 'approvals-awaiting-title' },
        ...awaiting.map(({ site, a }) => awaitingItem(site, a, now, act)),
      ),
    );
  if (yours.length)
    out.push(
      h('h2', { id: 'approvals-yours-title', text: 'Your requests' }),
      h(
        'ul',
        { class: 'plain', id: 'approvals-yours', 'aria-labelledby': 'approvals-yours-title' },
        ...yours.map(({ site, a }) => yoursItem(site, a, now, act)),
      ),
    );
  return out;
}
