/**
 * @module Browser side of the console's people page: invite, unlock, revoke access, start, approve
 * or cancel a recovery, give or take a role — each sent to the admin API (which decides again),
 * the outcome said in words. An invitation code is shown here once.
 */
import { $ } from './api';
import { act, orgApi, refused, say, send } from './console-common';
import { showLocalTimes, timeNode } from './local-time';

const panel = document.getElementById('person');
const user = panel?.dataset.user ?? '';

async function invite(): Promise<void> {
  say('Working…');
  const r = await send<{ invite: string; expires_at: string }>('POST', '/.stepgate/api/admin/invites', { user });
  if (!r.ok) {
    refused(r.problem, 'invite them');
    return;
  }
  const out = $('person-result');
  out.replaceChildren();
  const p = document.createElement('p');
  p.append(`Invitation code for ${user} (give it to them; it works once, until `, timeNode(r.data.expires_at), '):');
  const code = document.createElement('code');
  code.textContent = r.data.invite;
  out.append(p, code);
  out.hidden = false;
  showLocalTimes(out);
  say('Invitation created. It is not shown again.');
}

const PERSON_ACTIONS: Record<string, () => void> = {
  invite: () => void invite(),
  unlock: () =>
    void act<{ consecutive_failures: number }>(
      'POST',
      '/.stepgate/api/admin/unlock',
      { user },
      'unlock them',
      () => `${user} is unlocked.`,
    ),
  'start-recovery': () =>
    void act(
      'POST',
      `${orgApi}/recoveries`,
      { user },
      'start the recovery',
      () => `Recovery of ${user}’s factors started. A second admin or owner must approve it; ${user} is told and can cancel it.`,
    ),
};

for (const button of document.querySelectorAll<HTMLButtonElement>('button[data-person-action]')) {
  button.addEventListener('click', () => PERSON_ACTIONS[button.dataset.personAction!]?.());
}

for (const button of document.querySelectorAll<HTMLButtonElement>('button[data-recovery-action]')) {
  button.addEventListener('click', () => {
    const approve = button.dataset.recoveryAction === 'approve';
    const path = `${orgApi}/recoveries/${encodeURIComponent(button.dataset.recovery!)}/${approve ? 'approve' : 'cancel'}`;
    void act('POST', path, {}, approve ? 'approve the recovery' : 'cancel the recovery', () =>
      approve ? 'Recovery approved. It takes effect after the waiting period, unless the person cancels it.' : 'Recovery cancelled.',
    );
  });
}

document.getElementById('revoke-form')?.addEventListener('submit', (e) => {
  e.preventDefault();
  const what = [...document.querySelectorAll<HTMLInputElement>('#revoke-form input[name="what"]:checked')].map((i) => i.value);
  if (what.length === 0) {
    say('Choose what to revoke first.');
    return;
  }
  if (!window.confirm(`Revoke ${what.join(' and ')} of ${user} now? This cannot be undone.`)) return;
  const body = { user, ...Object.fromEntries(what.map((w) => [w, true])) };
  void act<{ revoked: { factors: number; tokens: number; challenges: number; held: number } }>(
    'POST',
    `${orgApi}/people/revoke`,
    body,
    'revoke',
    (d) =>
      `Revoked for ${user}: ${d.revoked.factors} factors, ${d.revoked.tokens} tokens; ` +
      `${d.revoked.challenges} pending confirmations and ${d.revoked.held} waiting requests were cancelled.`,
  );
});

document.getElementById('grant-form')?.addEventListener('submit', (e) => {
  e.preventDefault();
  const person = $<HTMLInputElement>('grant-person').value.trim();
  const role = $<HTMLSelectElement>('grant-role').value;
  if (!person) {
    say('Enter the person’s user id first.');
    return;
  }
  const app = document.getElementById('grant-app') as HTMLSelectElement | null;
  const body = { person, role, ...(role === 'app-admin' && app ? { app_id: app.value } : {}) };
  void act('POST', `${orgApi}/roles`, body, 'give the role', () => `${person} now holds the role ${role}.`);
});

for (const button of document.querySelectorAll<HTMLButtonElement>('button[data-revoke-grant]')) {
  button.addEventListener('click', () => {
    const what = button.dataset.what ?? 'this role';
    if (!window.confirm(`Take away ${what}?`)) return;
    const path = `${orgApi}/roles/${encodeURIComponent(button.dataset.revokeGrant!)}`;
    void act('DELETE', path, {}, 'take the role away', () => `Taken away: ${what}.`);
  });
}
