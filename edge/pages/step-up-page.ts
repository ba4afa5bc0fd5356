/** @module The interstitial page: tells a person exactly which action needs their approval, and takes it. */
import { html } from 'hono/html';
import type { CanonicalAction } from '../policy/canonical-action';
import { displaySegments, hasHiddenCharacters, HIDDEN_CHARACTERS_WARNING } from '../../shared/visible-text';
import type { BodySummary } from '../../shared/wire-shapes';
import type { Notice, RequestedFrom } from '../../shared/wire-shapes';
import { ASSET_PREFIX, layout } from './layout';
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
  bodySummary?: BodySummary | null;
  requestedFrom?: RequestedFrom | null;
  /** Number matching: what to pick when approving in the extension of another browser. */
  number?: number;
  /** The person's notices (a recovery of their factors under way): shown first, with a Cancel button. */
  notices?: readonly Notice[];
}

/**
 * Text from the request, for a person: invisible, bidi and control characters become marked
 * escapes (`\u{202E}` with a tooltip naming it); every piece is still escaped by `html`.
 */
const shown = (text: string) =>
  displaySegments(text).map((s) => (s.hidden ? html`<mark class="hidden-char" title="${s.label}">${s.text}</mark>` : s.text));

const describeBody = (b: BodySummary | null | undefined) => {
  if (!b) return '';
  if (b.fields.length === 0) return html`<dt>Body</dt><dd>${b.bytes} bytes of ${shown(b.kind)}</dd>`;
  const fields = b.fields.map((f) => html`<li><span class="field">${shown(f.name)}</span> = ${shown(f.value)}</li>`);
  return html`<dt>Body</dt><dd><ul class="fields">${fields}${b.truncated ? html`<li>… and more fields</li>` : ''}</ul></dd>`;
};

/** After the hidden-characters warning (text: escaped by `html` like the rest). */
const IF_UNEXPECTED = 'If you did not expect them, do not approve it.';
/** The authenticator-code field's attributes, past its id and name. */
const TOTP_INPUT_ATTRIBUTES = html`inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required`;
/** Under a refusal (text: escaped by `html` like the rest). */
const NOT_YOURS =
  'If you did not start these requests, someone else may be using your session: sign out everywhere and tell your administrator.';

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

/** The step-up page body for a challenge. */
export const stepUpPage = (i: StepUpPageInput) =>
  layout(
    'Confirm it is you',
    html`<div id="challenge" data-challenge="${i.challengeId}" data-held="${i.held ? '1' : '0'}" data-bind="${i.bind}">
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
<dt>Action</dt><dd><span class="method">${shown(i.matchedMethod)}</span> ${shown(readablePath(i.action.path, i.action.query))}${
      i.matchedMethod !== i.action.method
        ? html` <span class="note">(sent as ${shown(i.action.method)}, asking for ${shown(i.matchedMethod)})</span>`
        : ''
    }</dd>
${describeBody(i.bodySummary)}
${i.requestedFrom?.page ? html`<dt>From</dt><dd>${shown(i.requestedFrom.page)}</dd>` : ''}
<dt>Covers</dt><dd>${i.bind === 'action' ? 'this one request, once' : `rule “${i.rule}” for a few minutes`}</dd>
<dt>Expires</dt><dd><time datetime="${new Date(i.expiresAt).toISOString()}">${new Date(i.expiresAt).toUTCString()}</time></dd>
</dl>
</section>
${
  i.bind === 'action' && i.number
    ? html`<p class="note" id="number">Approving in the Stepgate extension of another browser? Pick <strong>${i.number}</strong> there.</p>`
    : ''
}
${
  i.factors.includes('webauthn')
    ? html`<div class="factor"><button id="passkey" type="button" class="wide">Approve with a passkey</button></div>`
    : ''
}
${
  i.factors.includes('totp')
    ? html`<form id="totp-form" class="factor" novalidate>
<label for="totp-code">Code from your authenticator app</label>
<div class="row"><input id="totp-code" name="code" ${TOTP_INPUT_ATTRIBUTES}>
<button type="submit">Approve</button></div>
</form>`
    : ''
}
${
  i.factors.includes('recovery')
    ? html`<details class="factor"><summary>Use a recovery code instead</summary>
<form id="recovery-form" novalidate>
<label for="recovery-code">Recovery code</label>
<div class="row"><input id="recovery-code" name="code" autocomplete="off" spellcheck="false" required>
<button type="submit">Approve</button></div>
</form>
</details>`
    : ''
}
<p id="status" class="status" role="status" aria-live="polite"></p>
<form id="continue" method="post" action="/.stepgate/challenge/${i.challengeId}/continue" hidden></form>
<p class="note">No passkey or authenticator yet? <a href="/.stepgate/enrol">Set one up</a>.
If you did not start this, close this page: nothing is sent without your approval. Reference: <code>${i.challengeId}</code></p>
</div>
<script type="module" src="${ASSET_PREFIX}step-up.js"></script>`,
  );

/** A refusal a person can read (429 past the challenge or held-request limits): what happened, when to try again. */
export const refusalPage = (i: { title: string; message: string; retryAt: number; code: string }) =>
  layout(
    i.title,
    html`<h1>${i.title}</h1>
<p>${i.message}</p>
<p>Try again after <time datetime="${new Date(i.retryAt).toISOString()}">${new Date(i.retryAt).toUTCString()}</time>. Nothing was sent.</p>
<p class="note">${NOT_YOURS} Reference: <code>${i.code}</code></p>`,
  );
