/**
 * @module The options page: add a site by address, see every paired site's state, unpair it; on a
 * site you are signed in to, register a passkey (with the site's RP ID), set up an authenticator
 * app (QR and secret), see and remove factors after confirming it is you, see recovery codes once.
 * The cards are site-card.ts, their actions site-actions.ts and fresh-step-up.ts. Above them, dual
 * control's approval requests (lib/approval-list.ts), asked for again every few seconds.
 */
import browser from 'webextension-polyfill';
import { approvalLists } from '../lib/approval-list';
import { $, h, mount } from '../lib/dom';
import { send } from '../lib/messaging';
import { askAndPair } from '../lib/pairing-flow';
import { siteOrigin } from '../lib/sites';
import { setRender, ui } from './options-state';
import { refresh } from './site-actions';
import { siteCard } from './site-card';

const sitesEl = $('sites');
const approvalsEl = $('approvals');
/** The options page stays open: its approval lists are asked for again this often. */
const APPROVALS_EVERY_MS = 15_000;

async function refreshApprovals(): Promise<void> {
  const { approvals } = await send('approvals/list', {});
  const out = h('p', { id: 'approvals-status', role: 'status' });
  const lists = approvalLists(approvals, Date.now(), {
    review: (site, id) =>
      void send('approvals/open', { site, id }).then((r) => {
        out.textContent = r.ok ? '' : r.message;
        out.className = r.ok ? '' : 'error';
      }),
    carryOut: (url) => void browser.tabs.create({ url }),
  });
  mount(approvalsEl, lists.length ? h('div', { class: 'card' }, ...lists, out) : null);
}

setRender(() => {
  if (!ui.size) {
    mount(sitesEl, h('p', { class: 'muted', id: 'no-sites', text: 'No paired sites yet.' }));
    return;
  }
  mount(sitesEl, ...[...ui.entries()].map(([origin, s]) => siteCard(origin, s)));
});

$<HTMLFormElement>('add-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const out = $('add-status');
  let origin: string;
  try {
    origin = siteOrigin($<HTMLInputElement>('add-url').value);
  } catch (err) {
    out.textContent = (err as Error).message;
    out.className = 'error';
    return;
  }
  // Why: the browser asks for a permission only from the submit handler itself (a person's gesture).
  askAndPair(origin, {
    out,
    paired: async () => {
      $<HTMLInputElement>('add-url').value = '';
      await refresh();
    },
  });
});

void refreshApprovals();
setInterval(() => void refreshApprovals(), APPROVALS_EVERY_MS);

refresh().catch(() =>
  mount(sitesEl, h('p', { class: 'error', text: 'Could not load the paired sites. Close this page and open it again.' })),
);
