/** @module Browser side of the enrolment page: set up TOTP with a QR code, confirm it, show recovery codes once. */
import { $, explain, post } from './api';

const status = $('status');
let factorId = '';

$('start-totp').addEventListener('click', async () => {
  const r = await post<{ id: string; secret: string; qr_svg: string }>('/.stepgate/api/factors/totp');
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
  const r = await post<{ recovery_codes?: string[] }>(`/.stepgate/api/factors/totp/${encodeURIComponent(factorId)}/confirm`, { code });
  if (!r.ok) {
    status.textContent = explain(r.problem);
    return;
  }
  $('totp-setup').hidden = true;
  status.textContent = 'Your authenticator app is set up.';
  if (r.data.recovery_codes) {
    const list = $('recovery-codes');
    for (const c of r.data.recovery_codes) {
      const li = document.createElement('li');
      li.textContent = c;
      list.appendChild(li);
    }
    $('recovery').hidden = false;
  }
});
