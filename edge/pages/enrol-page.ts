/**
 * @module The enrolment page: who is signed in (or how to sign in), then add a passkey or an
 * authenticator app. A first factor is added straight away; another one needs the person to confirm
 * it is you with a factor they have, right on this page (enrol-parts.ts, edge/browser/enrol-step-up.ts).
 * Recovery codes are shown once, with Copy and Download. While a recovery of the person's factors is
 * under way, its banner (cancel it, or complete it here).
 */
import { html } from 'hono/html';
import type { Notice } from '../../shared/wire-shapes';
import { backLink, confirmSection, recoveryCodesSection, whoLine } from './enrol-parts';
import { ASSET_PREFIX, layout } from './layout';
import { recoveryBanner } from './recovery-banner';
import { revocationBanner } from './revocation-banner';

/** The signed-in person, as the page needs them: a name to show, and the factors they have. */
export interface EnrolPerson {
  /** The app's own name for them (its user id): "Signed in as …". */
  name: string;
  passkeys: number;
  apps: number;
  recoveryCodesLeft: number;
  /** They hold a fresh step-up, so adding a factor needs no confirmation first. */
  confirmed: boolean;
}

/** What the page shows (edge/endpoints/enrol-page-state.ts builds it for a request). */
export interface EnrolPageView {
  notices: readonly Notice[];
  enrolment: 'first-use' | 'invite';
  /** A same-origin path to offer "Back to where you were", or null. */
  back: string | null;
  person: EnrolPerson | null;
  /** Why nobody is signed in (`person` is null), else null. */
  signedOut: 'missing' | 'invalid' | 'ambiguous' | 'unavailable' | null;
  /** The app's sign-in page, with a way back here; null when the app has none configured, or someone is signed in. */
  signInUrl: string | null;
}

const hasFactor = (p: EnrolPerson | null): boolean => p !== null && p.passkeys + p.apps > 0;

/** Why the add buttons cannot be used now, in words (the buttons name it with aria-describedby), or '' when they can. */
function addBlockedWhy(v: EnrolPageView): string {
  if (v.person === null) return 'You need to be signed in to add a factor.';
  if (hasFactor(v.person) && !v.person.confirmed) return 'Confirm it is you first (step 1); then you can add a factor here.';
  if (!hasFactor(v.person) && v.enrolment === 'invite') return 'Enter the invitation code from your administrator first.';
  return '';
}

/** The invitation field: shown only where a first factor needs one; otherwise kept (hidden) for a completed recovery to fill in. */
function inviteField(v: EnrolPageView) {
  if (v.person === null || hasFactor(v.person) || v.enrolment !== 'invite') return html`<input type="hidden" id="invite" value="">`;
  return html`<div class="factor">
<label for="invite">Invitation code from your administrator</label>
<input id="invite" autocomplete="off" spellcheck="false" aria-describedby="add-why">
</div>`;
}

export const enrolPage = (v: EnrolPageView) => {
  const another = hasFactor(v.person);
  const why = addBlockedWhy(v);
  const disabled = why !== '';
  const off = disabled ? html` disabled` : '';
  const title = another ? 'Add another factor' : 'Set up a second factor';
  return layout(
    title,
    html`<div id="enrol" data-signed-in="${v.person ? '1' : '0'}" data-has-factor="${another ? '1' : '0'}"
data-confirmed="${v.person?.confirmed ? '1' : '0'}" data-invite="${v.enrolment === 'invite' ? '1' : '0'}"
data-passkeys="${v.person?.passkeys ?? 0}" data-apps="${v.person?.apps ?? 0}" data-codes="${v.person?.recoveryCodesLeft ?? 0}">
<h1>${title}</h1>
${whoLine(v)}
${backLink(v.back)}
${revocationBanner(v.notices)}
${recoveryBanner(v.notices, { completeHere: true })}
<p>Sensitive actions on this site ask you to confirm it is you. Add a passkey (your device's
screen lock or a security key), or set up an authenticator app (Google Authenticator, 1Password, …).</p>
${v.person ? confirmSection(v.person) : ''}
<section id="add" aria-labelledby="add-title">
<h2 id="add-title">${another ? '2. Add a passkey or an authenticator app' : 'Add a passkey or an authenticator app'}</h2>
${inviteField(v)}
<p id="add-why" class="note"${disabled ? '' : html` hidden`}>${why}</p>
<p><button id="start-passkey" type="button" class="wide" aria-describedby="add-why"${off}>Add a passkey</button></p>
<p><button id="start-totp" type="button" class="wide secondary" aria-describedby="add-why"${off}>Set up an authenticator app</button></p>
<section id="totp-setup" hidden>
<p>Scan this code with your authenticator app:</p>
<img id="totp-qr" class="qr" alt="QR code to add this site to your authenticator app" width="220" height="220">
<p class="note">Or enter this key by hand: <code id="totp-secret" class="secret"></code></p>
<form id="confirm-form" novalidate>
<label for="confirm-code">Then enter the 6-digit code it shows</label>
<div class="row"><input id="confirm-code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required>
<button type="submit">Confirm</button></div>
</form>
</section>
</section>
<p id="status" class="status" role="status" aria-live="polite"></p>
${recoveryCodesSection()}
</div>
<script type="module" src="${ASSET_PREFIX}enrol.js"></script>`,
  );
};
