/** @module The interstitial page: tells a person exactly which action needs their approval. */
import { html } from 'hono/html';
import type { CanonicalAction } from '../../shared/canonical-action';
import { layout } from './layout';

export interface StepUpPageInput {
  action: CanonicalAction;
  rule: string;
  bind: 'session' | 'action';
  factors: readonly string[];
  expiresAt: number;
  challengeId: string;
  matchedMethod: string;
}

const FACTOR_NAMES: Record<string, string> = { webauthn: 'a passkey or security key', totp: 'an authenticator app code' };

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
    html`<h1>Confirm it is you</h1>
<p>${i.bind === 'action'
      ? 'This exact request needs your approval before it is sent:'
      : 'These requests need a fresh confirmation that it is really you:'}</p>
<section class="action" aria-label="What you are approving">
<dl>
<dt>Site</dt><dd>${i.action.host}</dd>
<dt>Action</dt><dd><span class="method">${i.matchedMethod}</span> ${readablePath(i.action.path, i.action.query)}${
      i.matchedMethod !== i.action.method ? html` <span class="note">(sent as ${i.action.method}, asking for ${i.matchedMethod})</span>` : ''
    }</dd>
<dt>Covers</dt><dd>${i.bind === 'action' ? 'this one request, once' : `rule “${i.rule}” for a few minutes`}</dd>
<dt>Expires</dt><dd><time datetime="${new Date(i.expiresAt).toISOString()}">${new Date(i.expiresAt).toUTCString()}</time></dd>
</dl>
</section>
<p>Approve with ${i.factors.map((f) => FACTOR_NAMES[f] ?? f).join(' or ')}.</p>
<p class="note warn">No factor can be used here yet: enrolment arrives in a later version of this gateway, so the action stays blocked.</p>
<p class="note">Reference: <code>${i.challengeId}</code>. If you did not start this, close this page: nothing is sent without your approval.</p>`,
  );
