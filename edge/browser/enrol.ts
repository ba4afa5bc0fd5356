/**
 * @module Browser side of the enrolment page: set up TOTP with a QR code, confirm it, show recovery codes once; and cancel
 * or complete a recovery of the person's factors from its banner (completing fills in the invitation for the new factor).
 */
import { startRegistration, type PublicKeyCredentialCreationOptionsJSON, type RegistrationResponseJSON } from '@simplewebauthn/browser';
import type { PasskeyRegistered, TotpActivated, TotpEnrolment } from '../../shared/wire-shapes';
import { $, explain, post } from './api';
import { wireRecoveryNotice } from './recovery-notice';
import { wireRevocationNotice } from './revocation-notice';

const status = $('status');
/** The invitation code, when the site requires one for a first factor. */
const invite = (): { invite?: string } => {
  const v = $<HTMLInputElement>('invite').value.trim();
  return v ? { invite: v } : {};
};
let factorId = '';

function showRecoveryCodes(codes: string[] | undefined): void {
  if (!codes) return;
  const list = $('recovery-codes');
  for (const c of codes) {
    const li = document.createElement('li');
    li.textContent = c;
    list.appendChild(li);
  }
  $('recovery').hidden = false;
}

$('start-passkey').addEventListener('click', async () => {
  status.textContent = 'Follow your browser’s prompt…';
  const options = await post<PublicKeyCredentialCreationOptionsJSON>('/.stepgate/api/factors/webauthn/options', invite());
  if (!options.ok) {
    status.textContent = explain(options.problem);
    return;
  }
  let response: RegistrationResponseJSON;
  try {
    response = await startRegistration({ optionsJSON: options.data });
  } catch (e) {
    status.textContent = `The passkey prompt was closed or failed (${(e as Error).name}).`;
    return;
  }
  const r = await post<PasskeyRegistered>('/.stepgate/api/factors/webauthn/verify', { response });
  if (!r.ok) {
    status.textContent = explain(r.problem);
    return;
  }
  status.textContent = 'Your passkey is added.';
  showRecoveryCodes(r.data.recovery_codes);
});

$('start-totp').addEventListener('click', async () => {
  const r = await post<TotpEnrolment>('/.stepgate/api/factors/totp', invite());
  if (!r.ok) {
    status.textContent = explain(r.problem);
    return;
  }
  factorId = r.data.id;
  $<HTMLImageElement>('totp-qr').src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(r.data.qr_svg)}`;
  $('totp-secret').textContent = r.data.secret.replace(/(.{4})/g, '$1 ').trim();
  $('totp-setup').hidden = false;
  $('start-totp').hidden = true;
  $<HTMLInputElement>('confirm-code').focus();
  status.textContent = '';
});

$<HTMLFormElement>('confirm-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const code = $<HTMLInputElement>('confirm-code').value.trim();
  const r = await post<TotpActivated>(`/.stepgate/api/factors/totp/${encodeURIComponent(factorId)}/confirm`, { code });
  if (!r.ok) {
    status.textContent = explain(r.problem);
    return;
  }
  $('totp-setup').hidden = true;
  status.textContent = 'Your authenticator app is set up.';
  showRecoveryCodes(r.data.recovery_codes);
});

wireRevocationNotice();
wireRecoveryNotice((done) => {
  const field = $<HTMLInputElement>('invite');
  field.value = done.invite;
  (field.closest('details') as HTMLDetailsElement | null)?.setAttribute('open', '');
});
