/**
 * @module The frame of every console page (/.stepgate/admin/*): the organisation and the person,
 * a navigation that lists only the pages their roles allow, a status line, and the "confirm it is
 * you" section (shown when the page needs a fresh step-up, and by the page scripts when an action
 * needs one again). Escaped by construction (hono/html); no inline script or style.
 */
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { CONSOLE_PAGES, type ConsolePage, PAGE_INFO } from './console-nav';
import { ASSET_PREFIX } from './layout';
import { timeElement } from './time-element';

export type Content = HtmlEscapedString | Promise<HtmlEscapedString>;

/** Who is looking at a console page, as the frame shows it. */
export interface ConsoleFrame {
  /** The page shown (its nav entry is marked current). */
  page: ConsolePage;
  /** The pages the person's roles allow (the nav lists only these). */
  allowed: ReadonlySet<ConsolePage>;
  orgId: string;
  orgName: string;
  /** The person, as their app names them. */
  person: string;
  /** What "confirm it is you" offers: only a passkey for a person who has one, a code for one who has none (absent: both). */
  confirmWith?: 'passkey' | 'any';
}

const head = (title: string) => html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<meta name="robots" content="noindex">
<title>${title} · Stepgate console</title>
<link rel="stylesheet" href="${ASSET_PREFIX}stepgate.css">
</head>`;

const nav = (f: ConsoleFrame) =>
  CONSOLE_PAGES.filter((p) => f.allowed.has(p)).map((p) =>
    p === f.page
      ? html`<a href="${PAGE_INFO[p].path}" aria-current="page">${PAGE_INFO[p].label}</a>`
      : html`<a href="${PAGE_INFO[p].path}">${PAGE_INFO[p].label}</a>`,
  );

/** Why only the passkey is offered: administration asks a person who has one to use it. */
export const PASSKEY_ONLY_WHY =
  'You have a passkey, so administration needs you to confirm it is you with it: a code can be phished, a passkey cannot. ' +
  'Lost your passkey? Remove it on the Stepgate extension’s options page (a code still works there), then come back and use a code.';

/**
 * The "confirm it is you" section: a passkey, or a code from an authenticator app, or a recovery
 * code — `passkey`: the passkey alone (the code form is kept, hidden, for the page script, which
 * shows it again if a later answer allows any factor); `code`: a code alone, for a person with no
 * passkey (offering one they do not have is a dead end).
 */
export const confirmSection = (
  why: string,
  shown: boolean,
  offer: 'passkey' | 'code' | 'both' = 'both',
) => html`<section id="confirm" class="confirm"${shown ? '' : html` hidden`}>
<h2>Confirm it is you</h2>
<p id="confirm-why">${why}</p>
${offer === 'code' ? '' : html`<p><button id="confirm-passkey" type="button">Confirm with a passkey</button></p>`}
<form id="confirm-form" novalidate${offer === 'passkey' ? html` hidden` : ''}>
<label for="confirm-code">${offer === 'code' ? 'A' : 'Or a'} code from your authenticator app (or a recovery code)</label>
<div class="row"><input id="confirm-code" autocomplete="one-time-code" maxlength="32" required><button type="submit">Confirm</button></div>
</form>
</section>`;

/** What the person can confirm with: their passkey alone, a code when they have no passkey, or either. */
const confirmOffer = (f: ConsoleFrame): 'passkey' | 'code' | 'both' =>
  f.confirmWith === 'passkey' ? 'passkey' : f.confirmWith === 'any' ? 'code' : 'both';

/** Why the page asks to confirm: the page's reason, and for a person with a passkey why only it is offered. */
const confirmWhy = (f: ConsoleFrame, why = 'This page shows administrative data: confirm it is you first (it lasts 5 minutes).'): string =>
  f.confirmWith === 'passkey' ? `${why} ${PASSKEY_ONLY_WHY}` : why;

/**
 * A console page. `script` is the page script's name in /.stepgate/assets/ (built from edge/browser/);
 * `state` tells it whether the page shows its data, or waits for the person to confirm it is them
 * (then it reloads once they have).
 */
export const consolePage = (
  f: ConsoleFrame,
  o: { title: string; body: Content; script: string; state: 'ready' | 'confirm'; why?: string },
): Content => html`${head(o.title)}
<body>
<header class="console-head">
<p class="brand">Stepgate console · ${f.orgName}</p>
<nav aria-label="Console pages">${nav(f)}</nav>
<p class="note">Signed in as <strong>${f.person}</strong> in the organisation ${f.orgName} (${f.orgId}). <a href="/">Back to the app</a></p>
</header>
<main id="console" class="console" data-state="${o.state}" data-org="${f.orgId}">
<h1>${o.title}</h1>
<p id="status" class="status" role="status" aria-live="polite"></p>
${confirmSection(confirmWhy(f, o.why), o.state === 'confirm', confirmOffer(f))}
${o.state === 'ready' ? o.body : ''}
</main>
<script type="module" src="${ASSET_PREFIX}${o.script}.js"></script>
</body>
</html>`;

/** A console page that only says something (signed out, not allowed): no script, a way back. */
export const consoleMessage = (o: { title: string; message: string; back: { href: string; label: string } }): Content =>
  html`${head(o.title)}
<body>
<main class="card">
<p class="brand">Stepgate console</p>
<h1>${o.title}</h1>
<p>${o.message}</p>
<p><a href="${o.back.href}">${o.back.label}</a></p>
</main>
</body>
</html>`;

/** "1 app", "3 apps". */
export const count = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/**
 * A time for people (ms since the epoch): a `<time>` reading `2026-03-07 14:05 UTC`, which the page
 * script shows in the person's locale and time zone with the UTC time beside it (time-element.ts).
 */
export const when = (ms: number | null): Content => (ms === null ? html`never` : timeElement(ms));

/** A console page before its data: the "confirm it is you" section only; the page script reloads once confirmed. */
export const confirmFirst = (f: ConsoleFrame, title: string, script: string): Content =>
  consolePage(f, { title, body: html``, script, state: 'confirm' });

/**
 * A table in its own scrolling box: on a narrow screen a wide table scrolls sideways inside it,
 * never the page. Focusable and named, so a keyboard can scroll it and a screen reader names it.
 */
export const tableBox = (label: string, table: Content): Content =>
  html`<div class="scroll" tabindex="0" role="region" aria-label="${label}">${table}</div>`;

/** A table's header row: one column per name; '' is the (unnamed) column of a row's buttons. */
export const headRow = (...cols: string[]) => {
  const th = (c: string) => (c === '' ? html`<th scope="col"><span class="sr">Actions</span></th>` : html`<th scope="col">${c}</th>`);
  return html`<thead><tr>${cols.map(th)}</tr></thead>`;
};
