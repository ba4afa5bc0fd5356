/**
 * @module Parts of the enrolment page (enrol-page.ts): who is signed in (or what to do to sign in),
 * the way back, the "Confirm it is you" step that adding another factor needs (answered right there
 * with a factor the person has, strongest first), and the recovery codes with Copy and Download.
 */
import { html } from 'hono/html';
import { factorSummary } from '../../shared/factor-words';
import type { EnrolPageView, EnrolPerson } from './enrol-page';

/** Why nobody is signed in, and what to do about it. */
const signedOutWords: Record<NonNullable<EnrolPageView['signedOut']>, string> = {
  missing: 'Sign in to the app first, then come back to this page to add a factor.',
  invalid: 'Your sign-in has ended. Sign in to the app again, then come back to this page.',
  ambiguous: 'Your browser sent two different sign-ins for this site. Sign out of the app, clear this site’s cookies, then sign in again.',
  unavailable: 'We could not check who you are just now, so nothing can be added. Reload this page in a moment.',
};

const signInLink = (url: string) => html`<p><a id="sign-in" class="button" href="${url}">Sign in</a></p>`;

/** "Signed in as …" and what they have; or a clear signed-out state with what to do. */
export function whoLine(v: EnrolPageView) {
  if (v.person) {
    return html`<p id="signed-in" class="who">Signed in as <strong>${v.person.name}</strong>.</p>
<p id="factor-summary" class="note">${factorSummary(v.person)}</p>`;
  }
  const reason = v.signedOut ?? 'missing';
  return html`<section id="signed-out" class="action" aria-labelledby="signed-in">
<p id="signed-in" class="who"><strong>You are not signed in.</strong></p>
<p>${signedOutWords[reason]}</p>
${v.signInUrl && (reason === 'missing' || reason === 'invalid') ? signInLink(v.signInUrl) : ''}
</section>`;
}

/** The way back to the page the person came from (a same-origin path), when they came from one. */
export const backLink = (back: string | null) => (back === null ? '' : html`<p><a id="back" href="${back}">Back to where you were</a></p>`);

/**
 * Step 1 when the person already has a factor: confirm it is you with one of them (passkey first,
 * then an authenticator app code, then a recovery code). Drawn for everyone signed in, hidden while
 * they have none: after a first factor the page script shows it with the options that now apply.
 */
export function confirmSection(p: EnrolPerson) {
  const has = p.passkeys + p.apps > 0;
  const hide = (yes: boolean) => (yes ? html` hidden` : '');
  return html`<section id="step-up" class="step" aria-labelledby="step-up-title"${hide(!has)}>
<h2 id="step-up-title">1. Confirm it is you</h2>
<p>Adding a factor needs one you already have. Once you confirm, you have 5 minutes to add one.</p>
<div id="step-up-answer"${hide(p.confirmed)}>
<p id="step-up-passkey-row"${hide(p.passkeys === 0)}>
<button id="step-up-passkey" type="button" class="wide">Confirm with your passkey</button></p>
<form id="step-up-app" novalidate${hide(p.apps === 0)}>
<label id="step-up-code-label" for="step-up-code">${p.passkeys > 0 ? 'Or a code' : 'Code'} from your authenticator app</label>
<div class="row"><input id="step-up-code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6">
<button type="submit">Confirm</button></div>
</form>
<details id="step-up-recovery" class="factor"${hide(p.recoveryCodesLeft === 0)}><summary>Use a recovery code</summary>
<form id="step-up-recovery-form" novalidate>
<label for="step-up-recovery-code">One of your recovery codes</label>
<div class="row"><input id="step-up-recovery-code" autocomplete="off" spellcheck="false" autocapitalize="characters" maxlength="40">
<button type="submit">Confirm</button></div>
</form>
</details>
</div>
<p id="step-up-done"${hide(!p.confirmed)}>Confirmed. You can add a factor now.</p>
<p id="step-up-status" class="status" role="status" aria-live="polite"></p>
</section>`;
}

/** The recovery codes, shown once after a first factor: one code per line, never broken inside; Copy and Download. */
export const recoveryCodesSection = () => html`<section id="recovery" aria-labelledby="recovery-title" hidden>
<h2 id="recovery-title">Your recovery codes</h2>
<p>If you lose your passkey or authenticator app, each of these codes works once instead. Save them somewhere safe now:
they are not shown again.</p>
<ol id="recovery-codes" class="codes"></ol>
<p class="row wrap"><button id="copy-codes" type="button" class="secondary">Copy</button>
<button id="download-codes" type="button" class="secondary">Download (.txt)</button></p>
<p id="codes-status" class="status" role="status" aria-live="polite"></p>
</section>`;
