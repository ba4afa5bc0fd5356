/**
 * @module The popup: notices (someone is recovering the person's factors on a site: cancel it; an
 * administrator removed them: dismiss it),
 * this tab's site (pair it in one click), pending approvals, dual control's approval requests
 * (others' waiting for you: Review; yours: where each stands, Carry it out), paired sites at a
 * glance. Opening it also asks every paired site for pending approvals, approval requests and notices.
 */
import browser from 'webextension-polyfill';
import { methodWords } from '../../../shared/method-words';
import type { RecoveryNotice, RevocationNotice } from '../../../shared/wire-shapes';
import { approvalLists } from '../lib/approval-list';
import type { PendingPrompt, SiteApprovals, SiteNotice, SiteStatus } from '../lib/messages';
import { $, h, mount } from '../lib/dom';
import { marked } from '../lib/marked-text';
import { otherBrowserRequests, severalRequestsWarning } from '../lib/number-matching-words';
import { askAndPair } from '../lib/pairing-flow';
import { send } from '../lib/messaging';
import { siteState, throttleNotice } from '../lib/site-view';
import { timeText } from '../lib/time-text';
import { siteOrigin } from '../lib/sites';

const status = $('status');

/** The active tab's site, if it is one that can be paired (the activeTab permission lets us read its address). */
async function currentSite(): Promise<string | null> {
  const [tab] = await browser.tabs.query({ active: true, currentWindow: true });
  if (!tab?.url) return null;
  try {
    return siteOrigin(tab.url);
  } catch {
    return null;
  }
}

function pair(origin: string, button: HTMLButtonElement, out: HTMLElement): void {
  button.disabled = true;
  askAndPair(origin, {
    out,
    paired: () => refresh(),
    stopped: () => {
      button.disabled = false;
    },
  });
}

function renderThisSite(origin: string | null, sites: SiteStatus[]): void {
  const section = $('this-site');
  if (!origin) {
    mount(section, h('p', { class: 'muted', text: 'This tab is not a web site Stepgate can pair with.' }));
    return;
  }
  const site = sites.find((s) => s.origin === origin);
  const out = h('p', { id: 'pair-status', role: 'status' });
  if (site) {
    mount(
      section,
      h(
        'div',
        { class: 'card' },
        h('div', { class: 'spread' }, h('strong', { text: new URL(origin).host }), h('span', { class: 'ok', text: 'Paired' })),
        h('div', { class: 'muted', text: siteState(site) }),
      ),
    );
    return;
  }
  const button = h('button', { id: 'pair', class: 'primary', text: 'Pair this site' });
  button.addEventListener('click', () => pair(origin, button, out));
  mount(
    section,
    h(
      'div',
      { class: 'card' },
      h('div', { class: 'mono', text: new URL(origin).host }),
      h('p', { class: 'muted', text: 'Pair it to approve its sensitive actions from here.' }),
      button,
      out,
    ),
  );
}

/** What a recovery notice means for the person, in words. */
const noticeText = (n: RecoveryNotice): string =>
  n.state === 'started'
    ? `Started ${timeText(n.started_at)}; it needs a second administrator's approval.`
    : n.can_complete
      ? 'Approved and in effect: it can now remove your passkeys, authenticator apps and recovery codes.'
      : `Approved; it takes effect ${timeText(n.effective_at ?? n.expires_at)}.`;

/** An administrator removed the person's factors on a site: plain words and a Dismiss button (no Cancel: it already happened). */
function revocationCard(site: string, n: RevocationNotice): HTMLElement {
  const out = h('p', { role: 'status' });
  const button = h('button', { text: 'Dismiss' });
  const card = h(
    'div',
    { class: 'card notice' },
    h('strong', { text: `Your sign-in factors on ${new URL(site).host} were removed` }),
    h('p', {
      text:
        `An administrator removed your sign-in factors on ${timeText(n.revoked_at)}. ` +
        'Set up a new one to continue; if you did not expect this, tell your administrator.',
    }),
    button,
    out,
  );
  button.addEventListener('click', () => {
    button.disabled = true;
    void send('notices/dismiss', { site, id: n.id }).then((r) => {
      if (r.ok) card.remove();
      else {
        out.textContent = r.message;
        out.className = 'error';
        button.disabled = false;
      }
    });
  });
  return card;
}

/** Notices first: someone is recovering the person's factors on a site (Cancel is one click), or an administrator removed them. */
function renderNotices(notices: SiteNotice[]): void {
  const section = $('notices');
  mount(
    section,
    ...notices.map(({ site, notice }) => {
      if (notice.kind === 'factors-revoked') return revocationCard(site, notice);
      const out = h('p', { role: 'status' });
      const button = h('button', { class: 'primary', text: 'Cancel this recovery' });
      button.addEventListener('click', () => {
        button.disabled = true;
        void send('notices/cancel', { site, id: notice.id }).then((r) => {
          out.textContent = r.ok ? 'Cancelled. Nothing about your factors changed.' : r.message;
          out.className = r.ok ? 'ok' : 'error';
          if (!r.ok) button.disabled = false;
        });
      });
      return h(
        'div',
        { class: 'card notice' },
        h('strong', { text: `Someone started recovering your sign-in factors on ${new URL(site).host}` }),
        h('p', { class: 'muted', text: noticeText(notice) }),
        h('p', { text: 'If this was not you, or you still have your factors, cancel it now and tell your administrator.' }),
        button,
        out,
      );
    }),
  );
}

function renderPending(pending: PendingPrompt[]): void {
  const section = $('pending');
  if (!pending.length) {
    mount(section);
    return;
  }
  const several = severalRequestsWarning(otherBrowserRequests(pending));
  mount(
    section,
    h('h2', { text: `Waiting for your approval (${pending.length})` }),
    several ? h('p', { id: 'several-requests', class: 'error', role: 'alert', text: several }) : null,
    h(
      'ul',
      { class: 'plain', id: 'pending-list' },
      ...pending.map(({ site, prompt }) =>
        h(
          'li',
          { class: 'spread' },
          h(
            'span',
            {},
            h(
              'span',
              {},
              ...marked(`${methodWords(prompt.matched_method)} `),
              h('span', { class: 'mono' }, ...marked(`${prompt.action.host}${prompt.action.path}`)),
            ),
            prompt.other_session ? h('span', { class: 'muted', text: ' · another browser' }) : null,
          ),
          h('button', { text: 'Review', onClick: () => void send('prompts/open', { site, id: prompt.id }).then(() => window.close()) }),
        ),
      ),
    ),
  );
}

/** Dual control: Review opens the approval window; Carry it out opens the site's page of the request in a tab. */
function renderApprovals(list: SiteApprovals[]): void {
  const section = $('approvals');
  const out = h('p', { id: 'approvals-status', role: 'status' });
  mount(
    section,
    ...approvalLists(list, Date.now(), {
      review: (site, id) =>
        void send('approvals/open', { site, id }).then((r) => {
          if (r.ok) return window.close();
          out.textContent = r.message;
          out.className = 'error';
        }),
      carryOut: (url) => void browser.tabs.create({ url }).then(() => window.close()),
    }),
    out,
  );
}

function renderSites(sites: SiteStatus[]): void {
  const section = $('sites');
  if (!sites.length) {
    mount(section, h('p', { id: 'status', class: 'muted', text: 'No paired sites yet.' }));
    return;
  }
  mount(
    section,
    h('h2', { text: 'Paired sites' }),
    h(
      'ul',
      { class: 'plain', id: 'site-list' },
      ...sites.map((s) =>
        h(
          'li',
          {},
          h('strong', { text: s.name }),
          h('div', { class: 'muted', text: siteState(s) }),
          s.throttledUntil ? h('p', { class: 'notice', text: throttleNotice(s) }) : null,
          s.problem ? h('div', { class: 'error', text: s.problem }) : null,
        ),
      ),
    ),
  );
}

async function refresh(): Promise<void> {
  const [origin, { sites }, { pending }, { notices }, { approvals }] = await Promise.all([
    currentSite(),
    send('sites/list', {}),
    send('prompts/poll', {}),
    send('notices/list', {}),
    send('approvals/list', {}),
  ]);
  renderNotices(notices);
  renderThisSite(origin, sites);
  renderPending(pending);
  renderApprovals(approvals);
  renderSites(sites);
}

$('open-options').addEventListener('click', () => void browser.runtime.openOptionsPage().then(() => window.close()));
refresh().catch(() => {
  status.textContent = 'Something went wrong while loading. Close this window and open it again.';
  status.className = 'error';
});
