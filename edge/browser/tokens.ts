/**
 * @module Browser side of the console's tokens page: create a personal API token (shown once, here,
 * and never again) and revoke one; the outcome said in words.
 */
import { act, refused, say, send } from './console-common';
import { $ } from './api';

document.getElementById('token-form')?.addEventListener('submit', async (e) => {
  e.preventDefault();
  const scopes = [...document.querySelectorAll<HTMLInputElement>('input[name="scope"]:checked')].map((i) => i.value);
  if (scopes.length === 0) {
    say('Choose at least one thing the token may do.');
    return;
  }
  const label = $<HTMLInputElement>('token-label').value.trim() || 'stepgate CLI';
  const days = Number($<HTMLInputElement>('token-days').value);
  say('Working…');
  const r = await send<{ token: string; expires_at: string }>('POST', '/.stepgate/api/tokens', { scopes, ttl_days: days, label });
  if (!r.ok) {
    refused(r.problem, 'create the token');
    return;
  }
  $('token').textContent = r.data.token;
  $('token-shown').hidden = false;
  $<HTMLFormElement>('token-form').hidden = true;
  say(`Token “${label}” created; it expires ${r.data.expires_at.slice(0, 10)}. Copy it now: it is not shown again.`);
});

for (const button of document.querySelectorAll<HTMLButtonElement>('button[data-revoke-token]')) {
  button.addEventListener('click', () => {
    const label = button.dataset.label ?? 'this token';
    const path = `/.stepgate/api/tokens/${encodeURIComponent(button.dataset.revokeToken!)}/revoke`;
    void act('POST', path, {}, 'revoke the token', () => `Token “${label}” was revoked: it no longer works.`);
  });
}
