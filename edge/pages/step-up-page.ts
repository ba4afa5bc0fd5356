/** @module The interstitial page: tells a person exactly which action needs their approval, and takes it. */
import { html } from 'hono/html';
import type { CanonicalAction } from '../policy/canonical-action';
import { methodOverrideNote, methodWords } from '../../shared/method-words';
import { displaySegments, hasHiddenCharacters, HIDDEN_CHARACTERS_WARNING } from '../../shared/visible-text';
import type { BodySummary } from '../../shared/wire-shapes';
import type { Notice, RequestedFrom } from '../../shared/wire-shapes';
import { ASSET_PREFIX, layout } from './layout';
import { timeElement } from './time-element';
import { recoveryBanner } from './recovery-banner';
import { revocationBanner } from './revocation-banner';

export interface StepUpPageInput {
  action: CanonicalAction;
  rule: string;
  bind: 'session' | 'action';
  factors: readonly string[];
  expiresAt: number;
  challengeId: string;
  matchedMethod: string;
  /** The original request is held and will be carried out after approval. */
  held?: boolean;
  /** The page the person came from on this site (checked by returnPath): the way back after the held action, or on a refusal. */
  returnTo?: string | null;
  bodySummary?: BodySummary | null;
  requestedFrom?: RequestedFrom | null;
  /** Number matching: what to type when approving in the extension on another device. */
  number?: number;
  /** A session confirmation (`bind: "session"`): how long it lasts. */
  maxAgeSeconds?: number;
  /** The person's notices (a recovery of their factors under way): shown first, with a Cancel button. */
  notices?: readonly Notice[];
}

/**
 * Text from the request, for a person: invisible, bidi and control characters become marked
 * escapes (`\u{202E}` with a tooltip naming it); every piece is still escaped by `html`.
 */
const shown = (text: string) =>
  displaySegments(text).map((s) => (s.hidden ? html`<mark class="hidden-char" title="${s.label}">${s.text}</mark>` : s.text));

/** The form fields sent, except a method-override field the Action line already says in words (`_method = DELETE`). */
const describeBody = (b: BodySummary | null | undefined, matchedMethod: string) => {
  if (!b) return '';
  if (b.fields.length === 0) return html`<dt>Body</dt><dd>${b.bytes} bytes of ${shown(b.kind)}</dd>`;
  const said = (f: { name: string; value: string }) => f.name === '_method' && f.value.toUpperCase() === matchedMethod.toUpperCase();
  const rest = b.fields.filter((f) => !said(f));
  if (rest.length === 0 && !b.truncated) return '';
  const fields = rest.map((f) => html`<li><span class="field">${shown(f.name)}</span> = ${shown(f.value)}</li>`);
  return html`<dt>Body</dt><dd><ul class="fields">${fields}${b.truncated ? html`<li>… and more fields</li>` : ''}</ul></dd>`;
};

/** After the hidden-characters warning (text: escaped by `html` like the rest). */
const IF_UNEXPECTED = 'If you did not expect them, do not approve it.';
/** The authenticator-code field's attributes, past its id and name. */
const TOTP_INPUT_ATTRIBUTES = html`inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required`;
/** Under a refusal (text: escaped by `html` like the rest). */
const NOT_YOURS =
  'If you did not start these requests, someone else may be using your session: sign out everywhere and tell your administrator.';

/** "5 minutes", "1 minute", "30 seconds": how long a session confirmation lasts. */
const duration = (seconds: number): string => {
  const minutes = Math.round(seconds / 60);
  if (minutes >= 1) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  return `${seconds} second${seconds === 1 ? '' : 's'}`;
};

/** "Delete /api/projects/1": what the request asks for, in words, then where. */
const actionWords = (i: StepUpPageInput) => {
  const note = methodOverrideNote(i.action.method, i.matchedMethod);
  return html`<span class="method">${shown(methodWords(i.matchedMethod))}</span> ${shown(readablePath(i.action.path, i.action.query))}${
    note ? html`<br><small class="method-note" id="method-note">${note}</small>` : ''
  }`;
};

/** Before the number to type in the extension (number matching, docs/extension.md). */
const NUMBER_WORDS = 'Approving in the Stepgate extension on another device? Type this number there:';

/** Where "set up a way to confirm" leads: the enrol page, with the way back to where the person was. */
const enrolHref = (returnTo: string | null | undefined): string =>
  `/.stepgate/enrol${returnTo ? `?return=${encodeURIComponent(returnTo)}` : ''}`;

/** Decode a canonical path for display; it stays escaped by the template. */
const readablePath = (path: string, query: string): string => {
  let p = path;
  try {
    p = decodeURIComponent(path);
  } catch {
    /* canonical paths are valid UTF-8; keep the encoded form otherwise */
  }
  return query ? `${p}?${query}` : p;
};

/** Whether anything the page shows from the request has a hidden character. */
const hasHidden = (i: StepUpPageInput): boolean =>
  hasHiddenCharacters(
    i.action.host,
    i.action.method,
    i.matchedMethod,
    readablePath(i.action.path, i.action.query),
    i.bodySummary?.kind,
    ...(i.bodySummary?.fields.flatMap((f) => [f.name, f.value]) ?? []),
    i.requestedFrom?.page,
  );

/** The ways to confirm, all hidden: the page script shows those the person has (strongest first, as here) or says why none. */
const ways = (i: StepUpPageInput) => html`<fieldset id="ways" class="ways">
<legend class="sr">Ways to confirm it is you</legend>
${
  i.factors.includes('webauthn')
    ? html`<div id="passkey-way" class="factor" hidden>
<button id="passkey" type="button" class="wide">Approve with a passkey</button></div>`
    : ''
}
${
  i.factors.includes('totp')
    ? html`<form id="totp-form" class="factor" novalidate hidden>
<label for="totp-code">Code from your authenticator app</label>
<div class="row"><input id="totp-code" name="code" ${TOTP_INPUT_ATTRIBUTES}>
<button type="submit">Approve</button></div>
</form>`
    : ''
}
${
  i.factors.includes('recovery')
    ? html`<details id="recovery-way" class="factor" hidden><summary>Use a recovery code</summary>
<form id="recovery-form" novalidate>
<label for="recovery-code">Recovery code</label>
<div class="row"><input id="recovery-code" name="code" autocomplete="off" spellcheck="false" required>
<button type="submit">Approve</button></div>
</form>
</details>`
    : ''
}
</fieldset>`;

/** For a person with no way to confirm that this action accepts: set one up, then come back. The script fills in what is missing. */
const noFactor = (i: StepUpPageInput) => html`<section id="no-factor" class="next-step" aria-labelledby="no-factor-title" hidden>
<h2 id="no-factor-title">Set up a way to confirm it is you first</h2>
<p id="no-factor-why">You have not set up a passkey or an authenticator app yet, so this cannot be approved.</p>
<p><a id="enrol-link" class="button" href="${enrolHref(i.returnTo)}">Set one up</a></p>
<p class="note">It takes a minute. Then start the action again: nothing was sent.</p>
</section>`;

/** The step-up page body for a challenge. */
export const stepUpPage = (i: StepUpPageInput) =>
  layout(
    'Confirm it is you',
    html`<div id="challenge" data-challenge="${i.challengeId}" data-held="${i.held ? '1' : '0'}" data-bind="${i.bind}"
 data-return="${i.returnTo ?? ''}">
<h1>Confirm it is you</h1>
${revocationBanner(i.notices)}
${recoveryBanner(i.notices, { completeHere: false })}
<p>${
      i.bind === 'action'
        ? 'This exact request needs your approval before it is sent:'
        : 'These requests need a fresh confirmation that it is really you:'
    }</p>
${hasHidden(i) ? html`<p class="hidden-chars" id="hidden-chars" role="alert">${HIDDEN_CHARACTERS_WARNING} ${IF_UNEXPECTED}</p>` : ''}
<section class="action" aria-label="What you are approving">
<dl>
<dt>Site</dt><dd>${shown(i.action.host)}</dd>
<dt>Action</dt><dd>${actionWords(i)}</dd>
${describeBody(i.bodySummary, i.matchedMethod)}
${i.requestedFrom?.page ? html`<dt>From</dt><dd>${shown(i.requestedFrom.page)}</dd>` : ''}
<dt>Covers</dt><dd>${
      i.bind === 'action'
        ? 'this one request, once'
        : i.maxAgeSeconds
          ? `requests like this one, for the next ${duration(i.maxAgeSeconds)}`
          : 'requests like this one, for a few minutes'
    }</dd>
<dt>Open until</dt><dd>${timeElement(i.expiresAt)}</dd>
</dl>
</section>
${
  i.bind === 'action' && i.number
    ? html`<p class="number-match" id="number">${NUMBER_WORDS} <strong class="match-number">${i.number}</strong></p>`
    : ''
}
<div id="wait" class="wait" role="status" hidden></div>
<section id="ended" class="ended" role="alert" aria-labelledby="ended-title" hidden>
<h2 id="ended-title">This confirmation has ended</h2>
<p id="ended-what"></p>
<p id="ended-next"></p>
<p><a id="ended-link" class="button" href="${i.returnTo ?? '/'}">Back to the app</a></p>
</section>
${noFactor(i)}
${ways(i)}
<p id="status" class="status" role="status" aria-live="polite"></p>
<form id="continue" method="post" hidden
 action="/.stepgate/challenge/${i.challengeId}/continue${i.returnTo ? `?return=${encodeURIComponent(i.returnTo)}` : ''}"></form>
<p class="note">If you did not start this, close this page: nothing is sent without your approval.</p>
</div>
<script type="module" src="${ASSET_PREFIX}step-up.js"></script>`,
  );

/**
 * A refusal a person can read (429 past the challenge or held-request limits): what happened, when
 * to try again. `code` is for programs (the problem+json answer carries it), never shown here.
 */
export const refusalPage = (i: { title: string; message: string; retryAt: number; code: string }) =>
  layout(
    i.title,
    html`<h1>${i.title}</h1>
<p>${i.message}</p>
<p>Try again after ${timeElement(i.retryAt)}. Nothing was sent.</p>
<p class="note">${NOT_YOURS}</p>
<script type="module" src="${ASSET_PREFIX}step-up.js"></script>`,
  );
