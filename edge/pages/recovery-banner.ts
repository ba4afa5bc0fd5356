/**
 * @module The banner Stepgate's own pages (step-up, enrolment) show a person while someone is
 * recovering their sign-in factors: what is happening, when it takes effect, and a Cancel button
 * (edge/browser/recovery-notice.ts posts it). On the enrolment page, once the recovery is in effect,
 * also a Complete button: their old factors go, and they set up a new one there.
 */
import { html } from 'hono/html';
import type { Notice, RecoveryNotice } from '../../shared/wire-shapes';
import { timeElement } from './time-element';

/** A time: UTC without script, the person's local time once the page script runs (showLocalTimes). */
const at = (iso: string) => timeElement(iso);

/** What the recovery's state means for the person. */
const whereItStands = (n: RecoveryNotice) => {
  if (n.state === 'started') return html`It needs a second administrator’s approval before it can go ahead.`;
  if (!n.can_complete) {
    return html`It was approved and takes effect at ${at(n.effective_at!)}. From then on it can remove your
passkeys, authenticator apps and recovery codes, so that you set up new ones.`;
  }
  return html`It is in effect: completing it removes your passkeys, authenticator apps and recovery codes, so that you set up new ones.`;
};

/** The banner for the person's first recovery notice (there is one recovery at a time), or nothing. */
export function recoveryBanner(notices: readonly Notice[] | undefined, o: { completeHere: boolean }) {
  const n = notices?.find((x): x is RecoveryNotice => x.kind === 'recovery');
  if (!n) return '';
  const complete = o.completeHere && n.can_complete;
  return html`<section class="action" id="recovery-notice" data-recovery="${n.id}" role="alert"
aria-label="Recovery of your sign-in factors">
<h2 class="warn">Someone started recovering your sign-in factors</h2>
<p>An administrator started it at ${at(n.started_at)}. ${whereItStands(n)}</p>
<p><strong>If this was not you, or you still have your factors, cancel it now</strong> and tell your administrator.</p>
<p class="row"><button id="recovery-cancel" type="button" class="secondary">Cancel this recovery</button>${
    complete ? html`<button id="recovery-complete" type="button">Complete it and set up a new factor</button>` : ''
  }</p>
${n.can_complete && !o.completeHere ? html`<p class="note">To complete it, open <a href="/.stepgate/enrol">the set-up page</a>.</p>` : ''}
<p id="recovery-status" class="status" role="status" aria-live="polite"></p>
</section>`;
}
