/**
 * @module The banner Stepgate's own pages (step-up, enrolment) show a person whose sign-in factors an
 * administrator removed (docs/admin.md, "Revocation"): what happened and when, in plain words, and a
 * Dismiss button (edge/browser/revocation-notice.ts posts it). No Cancel: the revocation already happened.
 */
import { html } from 'hono/html';
import type { Notice, RevocationNotice } from '../../shared/wire-shapes';
import { timeElement } from './time-element';

/** The banner for the person's revocation notice, if they have one; otherwise nothing. */
export function revocationBanner(notices: readonly Notice[] | undefined) {
  const n = notices?.find((x): x is RevocationNotice => x.kind === 'factors-revoked');
  if (!n) return '';
  return html`<section class="action" id="revocation-notice" data-notice="${n.id}" role="alert"
aria-label="Your sign-in factors were removed">
<p>An administrator removed your sign-in factors on ${timeElement(n.revoked_at)}.
Set up a new one to continue; if you did not expect this, tell your administrator.</p>
<p class="row"><button id="revocation-dismiss" type="button" class="secondary">Dismiss</button></p>
<p id="revocation-status" class="status" role="status" aria-live="polite"></p>
</section>`;
}
