/**
 * @module The enrolment page: set up an authenticator app and see recovery codes once; and, while a
 * recovery of the person's factors is under way, its banner (cancel it, or complete it here).
 */
import { html } from 'hono/html';
import type { Notice } from '../../shared/wire-shapes';
import { ASSET_PREFIX, layout } from './layout';
import { recoveryBanner } from './recovery-banner';
import { revocationBanner } from './revocation-banner';

export const enrolPage = (notices: readonly Notice[] = []) =>
  layout(
    'Set up a second factor',
    html`<div id="enrol">
<h1>Set up a second factor</h1>
${revocationBanner(notices)}
${recoveryBanner(notices, { completeHere: true })}
<p>Sensitive actions on this site ask you to confirm it is you. Add a passkey (your device's
screen lock or a security key), or set up an authenticator app (Google Authenticator, 1Password, …).</p>
<details class="factor"><summary>I have an invitation code</summary>
<label for="invite">Invitation code from your administrator</label>
<input id="invite" autocomplete="off" spellcheck="false">
</details>
<p><button id="start-passkey" type="button" class="wide">Add a passkey</button></p>
<p><button id="start-totp" type="button" class="wide secondary">Set up an authenticator app</button></p>
<section id="totp-setup" hidden>
<p>Scan this code with your authenticator app:</p>
<img id="totp-qr" class="qr" alt="QR code to add this site to your authenticator app" width="220" height="220">
<p class="note">Or enter this key by hand: <code id="totp-secret"></code></p>
<form id="confirm-form" novalidate>
<label for="confirm-code">Then enter the 6-digit code it shows</label>
<div class="row"><input id="confirm-code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required>
<button type="submit">Confirm</button></div>
</form>
</section>
<section id="recovery" hidden>
<h2>Your recovery codes</h2>
<p>If you lose your authenticator, each of these codes works once instead. Save them somewhere safe now:
they are not shown again.</p>
<ol id="recovery-codes" class="codes"></ol>
</section>
<p id="status" class="status" role="status" aria-live="polite"></p>
</div>
<script type="module" src="${ASSET_PREFIX}enrol.js"></script>`,
  );
