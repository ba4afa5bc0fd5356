/**
 * @module Browser side of the step-up page: approve with a passkey, a TOTP code or a recovery code, then carry out the held
 * action; and cancel a recovery of the person's factors from its banner.
 */
import { $, explain } from './api';
import { answerWithCode, answerWithPasskey } from './answer-challenge';
import { wireRecoveryNotice } from './recovery-notice';
import { wireRevocationNotice } from './revocation-notice';

const root = $('challenge');
const id = root.dataset.challenge!;
const held = root.dataset.held === '1';
const status = $('status');

function approved(bind: 'session' | 'action'): void {
  if (held) {
    status.textContent = 'Approved. Carrying out the action…';
    $<HTMLFormElement>('continue').submit();
    return;
  }
  status.textContent =
    bind === 'action'
      ? 'Approved. Go back and repeat the action: it will go through once.'
      : 'Confirmed. Go back and repeat the action: it will go through for the next few minutes.';
}

async function approveWithCode(method: 'totp' | 'recovery', input: HTMLInputElement, button: HTMLButtonElement): Promise<void> {
  const code = input.value.trim();
  if (!code) {
    status.textContent = 'Enter a code first.';
    input.focus();
    return;
  }
  button.disabled = true;
  status.textContent = 'Checking…';
  const r = await answerWithCode<{ bind: 'session' | 'action' }>(id, method, code);
  if (!r.ok) {
    status.textContent = explain(r.problem);
    button.disabled = false;
    input.select();
    return;
  }
  approved(r.data.bind);
}

async function approveWithPasskey(button: HTMLButtonElement): Promise<void> {
  button.disabled = true;
  status.textContent = 'Follow your browser’s prompt…';
  try {
    const r = await answerWithPasskey<{ bind: 'session' | 'action' }>(id);
    if (!r.ok) {
      status.textContent = explain(r.problem);
      return;
    }
    approved(r.data.bind);
  } catch (e) {
    status.textContent = `The passkey prompt was closed or failed (${(e as Error).name}). Try again, or use a code.`;
  } finally {
    button.disabled = false;
  }
}

for (const [formId, method] of [
  ['totp-form', 'totp'],
  ['recovery-form', 'recovery'],
] as const) {
  const form = document.getElementById(formId) as HTMLFormElement | null;
  form?.addEventListener('submit', (e) => {
    e.preventDefault();
    void approveWithCode(method, form.querySelector('input')!, form.querySelector('button')!);
  });
}
const passkey = document.getElementById('passkey') as HTMLButtonElement | null;
passkey?.addEventListener('click', () => void approveWithPasskey(passkey));
(document.getElementById('totp-code') as HTMLInputElement | null)?.focus();

wireRecoveryNotice();
wireRevocationNotice();
