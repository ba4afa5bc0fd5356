/**
 * @module Pairing a site from a page (the popup's "Pair this site", the options page's "Add a
 * site"): ask the browser for the site's permission, then have the background pair it. When the
 * browser's question is refused, closed, or left unanswered, the page says so in words and offers
 * "Try again" (a new click, which the browser needs to ask again).
 */
import browser from 'webextension-polyfill';
import type { PairedSite } from './messages';
import { ExtensionCode } from './extension-codes';
import { h, mount } from './dom';
import { send } from './messaging';
import { permissionPattern } from './sites';

/** After this long without an answer, the browser's question may be hidden: say so, and offer to ask again. */
export const NO_ANSWER_MS = 10_000;

/** Where the flow reports: a status element (role="status") it writes into. */
export interface PairingUi {
  out: HTMLElement;
  /** Called once the site is paired. */
  paired(site: PairedSite): void | Promise<void>;
  /** Called when the flow stops without pairing (so the page can enable its own button again). */
  stopped?(): void;
}

/** The latest pairing flow per status element: an older one (before "Try again") no longer writes there. */
const latest = new WeakMap<HTMLElement, object>();

function show(ui: PairingUi, kind: 'muted' | 'ok' | 'error', text: string, retryFor?: string): void {
  if (latest.get(ui.out) !== ui) return;
  ui.out.className = kind;
  const retry = retryFor
    ? h('button', { type: 'button', id: 'pair-retry', class: 'primary', text: 'Try again', onClick: () => askAndPair(retryFor, ui) })
    : null;
  mount(ui.out, h('span', { text }), retry ? ' ' : null, retry);
}

const notGranted = (host: string) =>
  `Not paired yet: Stepgate needs your permission to talk to ${host}, and the browser's question was closed without “Allow”. ` +
  'Try again and choose Allow.';

/**
 * Ask for `origin`'s permission and pair it. Must be called from the click or submit handler itself:
 * the browser asks only during a person's gesture, so nothing is awaited before the request.
 */
export function askAndPair(origin: string, page: PairingUi): void {
  // A copy per flow, so the status element knows which flow is the latest.
  const ui: PairingUi = { ...page };
  latest.set(ui.out, ui);
  const host = new URL(origin).host;
  let granted: Promise<boolean>;
  try {
    granted = browser.permissions.request({ origins: [permissionPattern(origin)] });
  } catch (e) {
    granted = Promise.reject(e);
  }
  // If this page is gone when the permission arrives (Firefox closes the popup), the background finishes the pairing.
  void browser.storage.session.set({ pairIntent: { origin, at: Date.now() } });
  show(ui, 'muted', `Asking your browser for permission to talk to ${host}… Choose Allow in its question to finish pairing.`);
  let answered = false;
  const waiting = setTimeout(() => {
    if (answered) return;
    show(
      ui,
      'muted',
      `Still waiting for your answer to the browser's question about ${host}. ` +
        'If you do not see it, it may be behind this window: try again to ask once more.',
      origin,
    );
  }, NO_ANSWER_MS);
  void (async () => {
    let ok: boolean;
    try {
      ok = await granted;
    } catch {
      // The browser's own reason (e.g. "must be called during a user gesture") is for developers, not shown.
      ok = false;
      answered = true;
      clearTimeout(waiting);
      show(ui, 'error', `Not paired yet: the browser did not ask for permission to talk to ${host}. Try again.`, origin);
      return ui.stopped?.();
    }
    answered = true;
    clearTimeout(waiting);
    if (!ok) {
      show(ui, 'error', notGranted(host), origin);
      return ui.stopped?.();
    }
    show(ui, 'muted', 'Pairing…');
    const r = await send('sites/pair', { origin });
    if (r.ok) {
      show(ui, 'ok', `Paired with ${r.site.name}.`);
      return ui.paired(r.site);
    }
    // The permission can be gone again by now (removed in the browser's settings): same words, same way out.
    show(ui, 'error', r.code === ExtensionCode.PermissionRefused ? notGranted(host) : r.message, origin);
    ui.stopped?.();
  })();
}
