/**
 * @module Browser side of the enrolment page: add a passkey, or set up an authenticator app with a QR
 * code and confirm it; a first factor shows the recovery codes once. Adding another factor first
 * needs "Confirm it is you" (enrol-step-up.ts): until then the add buttons are off, and say why.
 * Also: cancel or complete a recovery of the person's factors from its banner (completing fills in
 * the invitation for the new factor), and dismiss the revocation banner.
 */
import { startRegistration, type PublicKeyCredentialCreationOptionsJSON, type RegistrationResponseJSON } from '@simplewebauthn/browser';
import { ErrorCode } from '../../shared/errors';
import { factorSummary } from '../../shared/factor-words';
import type { PasskeyRegistered, Problem, TotpActivated, TotpEnrolment } from '../../shared/wire-shapes';
import { $, post } from './api';
import { requireConfirmation, wireStepUp } from './enrol-step-up';
import { enrolWords } from './enrol-words';
import { showLocalTimes } from './local-time';
import { wireRecoveryNotice } from './recovery-notice';
import { showRecoveryCodes, wireRecoveryCodes } from './recovery-codes';
import { wireRevocationNotice } from './revocation-notice';

const root = $('enrol');
const status = $('status');
const passkeyButton = $<HTMLButtonElement>('start-passkey');
const totpButton = $<HTMLButtonElement>('start-totp');
const has = { passkeys: Number(root.dataset.passkeys), apps: Number(root.dataset.apps), codes: Number(root.dataset.codes) };
const signedIn = root.dataset.signedIn === '1';
const inviteMode = root.dataset.invite === '1';
let confirmed = root.dataset.confirmed === '1';
/** Whether step 1 is on show (the server draws it for a person with a factor; after a first factor here, the first add shows it). */
let stepOneShown = root.dataset.hasFactor === '1';
/** Whether the person confirmed at some point: an add refused later means the confirmation ran out. */
let confirmedOnce = confirmed;
let working = false;
let factorId = '';
const canMakePasskeys = 'PublicKeyCredential' in window;

const hasFactor = () => has.passkeys + has.apps > 0;
/** The invitation code, when the site requires one for a first factor. */
const invite = (): { invite?: string } => {
  const v = $<HTMLInputElement>('invite').value.trim();
  return v ? { invite: v } : {};
};

/** Why the add buttons cannot be used now ('' when they can). */
function addBlockedWhy(): string {
  if (!signedIn) return 'You need to be signed in to add a factor.';
  if (stepOneShown && !confirmed) return 'Confirm it is you first (step 1); then you can add a factor here.';
  if (!hasFactor() && inviteMode && !invite().invite) return 'Enter the invitation code from your administrator first.';
  return '';
}

/** Turn the add buttons on or off to match the state, and say why they are off. */
function refreshAdd(): void {
  const why = addBlockedWhy();
  $('add-why').textContent = why;
  $('add-why').hidden = why === '';
  passkeyButton.disabled = working || why !== '' || !canMakePasskeys;
  totpButton.disabled = working || why !== '';
}

function setWorking(on: boolean): void {
  working = on;
  refreshAdd();
}

/** An add that Stepgate refused: an expired confirmation opens step 1 again; anything else is said. */
function refused(p: Problem): void {
  setWorking(false);
  if (p.code === ErrorCode.FreshStepUpRequired && hasFactor()) {
    confirmed = false;
    stepOneShown = true;
    refreshAdd();
    status.textContent = '';
    $('add-title').textContent = '2. Add a passkey or an authenticator app';
    requireConfirmation(
      has,
      confirmedOnce
        ? 'Your confirmation has run out (it lasts 5 minutes). Confirm it is you again, then add the factor.'
        : 'To add another factor, first confirm it is you with one you have.',
      true,
    );
    return;
  }
  if (p.code === ErrorCode.FreshStepUpRequired) {
    status.textContent = 'A factor was added to your account somewhere else. Reload this page to confirm it is you with it.';
    return;
  }
  status.textContent = enrolWords(p);
}

/**
 * A factor was added: count it, say it, show the recovery codes (a first factor's). Adding another
 * one now needs step 1: the next add is refused for it and opens it (refused), so the codes stay in view meanwhile.
 */
function added(kind: 'passkeys' | 'apps', what: string, codes: string[] | undefined): void {
  has[kind] += 1;
  if (codes) has.codes = codes.length;
  const summary = document.getElementById('factor-summary');
  if (summary) summary.textContent = factorSummary({ passkeys: has.passkeys, apps: has.apps, recoveryCodesLeft: has.codes });
  status.textContent = `${what} Add another one any time from this page.`;
  setWorking(false);
  showRecoveryCodes(codes);
}

passkeyButton.addEventListener('click', async () => {
  setWorking(true);
  status.textContent = 'Follow your browser’s prompt…';
  const options = await post<PublicKeyCredentialCreationOptionsJSON>('/.stepgate/api/factors/webauthn/options', invite());
  if (!options.ok) return refused(options.problem);
  let response: RegistrationResponseJSON;
  try {
    response = await startRegistration({ optionsJSON: options.data });
  } catch {
    setWorking(false);
    status.textContent = 'The passkey prompt was closed before it finished. Nothing was added; try again.';
    return;
  }
  const r = await post<PasskeyRegistered>('/.stepgate/api/factors/webauthn/verify', { response });
  if (!r.ok) return refused(r.problem);
  added('passkeys', 'Your passkey is added.', r.data.recovery_codes);
});

totpButton.addEventListener('click', async () => {
  setWorking(true);
  const r = await post<TotpEnrolment>('/.stepgate/api/factors/totp', invite());
  if (!r.ok) return refused(r.problem);
  setWorking(false);
  factorId = r.data.id;
  $<HTMLImageElement>('totp-qr').src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(r.data.qr_svg)}`;
  $('totp-secret').textContent = r.data.secret.replace(/(.{4})/g, '$1 ').trim();
  $('totp-setup').hidden = false;
  totpButton.hidden = true;
  $<HTMLInputElement>('confirm-code').focus();
  status.textContent = '';
});

$<HTMLFormElement>('confirm-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const code = $<HTMLInputElement>('confirm-code').value.replace(/\s/g, '');
  if (!/^\d{6}$/.test(code)) {
    status.textContent = 'Enter the 6 digits your authenticator app shows.';
    return;
  }
  const r = await post<TotpActivated>(`/.stepgate/api/factors/totp/${encodeURIComponent(factorId)}/confirm`, { code });
  if (!r.ok) return refused(r.problem);
  $('totp-setup').hidden = true;
  $<HTMLInputElement>('confirm-code').value = '';
  totpButton.hidden = false;
  added('apps', 'Your authenticator app is set up.', r.data.recovery_codes);
});

if (!canMakePasskeys) passkeyButton.textContent = 'Add a passkey (this browser cannot make passkeys)';
$('invite').addEventListener('input', refreshAdd);
refreshAdd();
wireStepUp({
  confirmed() {
    confirmed = confirmedOnce = true;
    refreshAdd();
    status.textContent = 'Confirmed. Now add a passkey or set up an authenticator app.';
    (canMakePasskeys ? passkeyButton : totpButton).focus();
  },
});
wireRecoveryCodes();
wireRevocationNotice();
wireRecoveryNotice((done) => {
  // The old factors are gone: the next one is a first factor again, added with this invitation.
  has.passkeys = has.apps = has.codes = 0;
  stepOneShown = false;
  $('add-title').textContent = 'Add a passkey or an authenticator app';
  const stepUp = document.getElementById('step-up');
  if (stepUp) stepUp.hidden = true;
  $<HTMLInputElement>('invite').value = done.invite;
  refreshAdd();
});
showLocalTimes();
