/** @module The interstitial page: tells a person exactly which action needs their approval, and takes it. */
import { html } from 'hono/html';
import type { CanonicalAction } from '../../shared/canonical-action';
import type { BodySummary } from '../step-up/body-summary';
import type { RequestedFrom } from '../user-gate/user-gate';
import { ASSET_PREFIX, layout } from './layout';

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
}

const describeBody = (b: BodySummary | null | undefined) => {
  if (!b) return '';
  if (b.fields.length === 0) return html`<dt>Body</dt><dd>${b.bytes} bytes of ${b.kind}</dd>`;
  return html`<dt>Body</dt><dd><ul class="fields">${b.fields.map((f) => html`<li><span class="field">${f.name}</span> = ${f.value}</li>`)}${
    b.truncated ? html`<li>… and more fields</li>` : ''
  }</ul></dd>`;
};

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

/** The step-up page body for a challenge. */
export const stepUpPage = (i: StepUpPageInput) =>
  layout(
    'Confirm it is you',
    html`<div id="challenge" data-challenge="${i.challengeId}" data-held="${i.held ? '1' : '0'}" data-bind="${i.bind}">
<h1>Confirm it is you</h1>
<p>${i.bind === 'action'
      ? 'This exact request needs your approval before it is sent:'
      : 'These requests need a fresh confirmation that it is really you:'}</p>
<section class="action" aria-label="What you are approving">
<dl>
<dt>Site</dt><dd>${i.action.host}</dd>
<dt>Action</dt><dd><span class="method">${i.matchedMethod}</span> ${readablePath(i.action.path, i.action.query)}${
      i.matchedMethod !== i.action.method ? html` <span class="note">(sent as ${i.action.method}, asking for ${i.matchedMethod})</span>` : ''
    }</dd>
${describeBody(i.bodySummary)}
${i.requestedFrom?.page ? html`<dt>From</dt><dd>${i.requestedFrom.page}</dd>` : ''}
<dt>Covers</dt><dd>${i.bind === 'action' ? 'this one request, once' : `rule “${i.rule}” for a few minutes`}</dd>
<dt>Expires</dt><dd><time datetime="${new Date(i.expiresAt).toISOString()}">${new Date(i.expiresAt).toUTCString()}</time></dd>
</dl>
</section>
${i.bind === 'action' && i.number ? html`<p class="note" id="number">Approving in the Stepgate extension of another browser? Pick <strong>${i.number}</strong> there.</p>` : ''}
${i.factors.includes('webauthn')
      ? html`<div class="factor"><button id="passkey" type="button" class="wide">Approve with a passkey</button></div>`
      : ''}
${i.factors.includes('totp')
      ? html`<form id="totp-form" class="factor" novalidate>
<label for="totp-code">Code from your authenticator app</label>
<div class="row"><input id="totp-code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required>
<button type="submit">Approve</button></div>
</form>`
      : ''}
${i.factors.includes('recovery')
      ? html`<details class="factor"><summary>Use a recovery code instead</summary>
<form id="recovery-form" novalidate>
<label for="recovery-code">Recovery code</label>
<div class="row"><input id="recovery-code" name="code" autocomplete="off" spellcheck="false" required>
<button type="submit">Approve</button></div>
</form>
</details>`
      : ''}
<p id="status" class="status" role="status" aria-live="polite"></p>
<form id="continue" method="post" action="/.stepgate/challenge/${i.challengeId}/continue" hidden></form>
<p class="note">No passkey or authenticator yet? <a href="/.stepgate/enrol">Set one up</a>.
If you did not start this, close this page: nothing is sent without your approval. Reference: <code>${i.challengeId}</code></p>
</div>
<script type="module" src="${ASSET_PREFIX}step-up.js"></script>`,
  );
