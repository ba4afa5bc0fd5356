/** @module Browser side of the step-up page: approve with a TOTP or recovery code, then carry out the held action. */
import { $, explain, post } from './api';

const root = $('challenge');
const id = root.dataset.challenge!;
const held = root.dataset.held === '1';
const status = $('status');

async function approve(method: 'totp' | 'recovery', input: HTMLInputElement, button: HTMLButtonElement): Promise<void> {
  const code = input.value.trim();
  if (!code) {
    status.textContent = 'Enter a code first.';
    input.focus();
    return;
  }
  button.disabled = true;
  status.textContent = 'Checking…';
  const r = await post<{ bind: 'session' | 'action' }>(`/.stepgate/api/challenges/${encodeURIComponent(id)}/verify`, { method, code });
  if (!r.ok) {
    status.textContent = explain(r.problem);
    button.disabled = false;
    input.select();
    return;
  }
  if (held) {
    status.textContent = 'Approved. Carrying out the action…';
    $<HTMLFormElement>('continue').submit();
    return;
  }
  status.textContent =
    r.data.bind === 'action'
      ? 'Approved. Go back and repeat the action: it will go through once.'
      : 'Confirmed. Go back and repeat the action: it will go through for the next few minutes.';
}

for (const [formId, method] of [['totp-form', 'totp'], ['recovery-form', 'recovery']] as const) {
  const form = document.getElementById(formId) as HTMLFormElement | null;
  form?.addEventListener('submit', (e) => {
    e.preventDefault();
    void approve(method, form.querySelector('input')!, form.querySelector('button')!);
  });
}
(document.getElementById('totp-code') as HTMLInputElement | null)?.focus();
