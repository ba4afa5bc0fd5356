/**
 * @module Two panels of the console's people page: the organisation's open factor recoveries (for
 * helpdesk, admins and owners), and its role grants with the form to give a role (owners and
 * admins). Each row offers only the buttons the viewer's roles allow.
 */
import { html } from 'hono/html';
import { type Content, headRow, tableBox, when } from './console-layout';

export interface RecoveryView {
  id: string;
  /** The person recovered, as their app names them. */
  user: string;
  state: 'started' | 'approved' | string;
  startedBy: string;
  startedAt: number;
  approvedBy: string | null;
  effectiveAt: number | null;
  /** A started recovery not approved by then expires. */
  expiresAt: number;
  may: { approve: boolean; cancel: boolean };
}

/** A recovery's state, in words. */
export function recoveryWords(r: RecoveryView): Content | string {
  if (r.state === 'started') {
    return html`Started by ${r.startedBy} ${when(r.startedAt)}; waits for a second person to approve it, until ${when(r.expiresAt)}.`;
  }
  if (r.state === 'approved') {
    return html`Started by ${r.startedBy}, approved by ${r.approvedBy ?? 'someone'}; the person can set up a new factor from
${when(r.effectiveAt)}, and can cancel it until then.`;
  }
  return `${r.state}.`;
}

const recoveryButton = (id: string, action: 'approve' | 'cancel') =>
  action === 'approve'
    ? html`<button type="button" data-recovery-action="approve" data-recovery="${id}">Approve</button>`
    : html`<button type="button" class="secondary" data-recovery-action="cancel" data-recovery="${id}">Cancel</button>`;

const recoveryRow = (
  r: RecoveryView,
) => html`<tr><th scope="row"><a href="/.stepgate/admin/people?user=${encodeURIComponent(r.user)}">${r.user}</a></th>
<td>${recoveryWords(r)}</td>
<td class="actions">${r.may.approve && r.state === 'started' ? recoveryButton(r.id, 'approve') : ''}
${r.may.cancel ? recoveryButton(r.id, 'cancel') : ''}</td></tr>`;

export const recoveriesPanel = (rs: readonly RecoveryView[]) => html`<section class="panel"><h2>Open recoveries</h2>
${
  rs.length
    ? tableBox(
        'Open recoveries',
        html`<table class="data">${headRow('Person', 'State', '')}
<tbody>${rs.map(recoveryRow)}</tbody></table>`,
      )
    : html`<p>None.</p>`
}
</section>`;

export interface GrantView {
  id: string;
  user: string;
  role: string;
  appName: string | null;
  grantedBy: string | null;
  grantedAt: number;
  mayRevoke: boolean;
}

export interface GrantsPanel {
  grants: readonly GrantView[];
  /** The roles the viewer may give (empty: no form). */
  grantable: readonly string[];
  /** The apps an app-admin role can be given for. */
  apps: readonly { id: string; name: string }[];
}

const ROLE_LABEL: Record<string, string> = {
  owner: 'Owner',
  admin: 'Admin',
  'app-admin': 'App admin (of one app)',
  auditor: 'Auditor',
  helpdesk: 'Helpdesk',
};

const takeAway = (g: GrantView) =>
  html`<button type="button" class="secondary" data-revoke-grant="${g.id}" data-what="${g.role} of ${g.user}">Take away</button>`;

const grantRow = (
  g: GrantView,
) => html`<tr><th scope="row"><a href="/.stepgate/admin/people?user=${encodeURIComponent(g.user)}">${g.user}</a></th>
<td data-label="Role">${ROLE_LABEL[g.role] ?? g.role}${g.appName ? html` of ${g.appName}` : ''}</td>
<td data-label="Given by">${g.grantedBy ?? 'the configuration (first owner)'}</td><td data-label="Since">${when(g.grantedAt)}</td>
<td class="actions">${g.mayRevoke ? takeAway(g) : ''}</td></tr>`;

export function grantsPanel(p: GrantsPanel) {
  const form = p.grantable.length
    ? html`<details><summary>Give someone a role</summary>
<form id="grant-form" class="stack" novalidate>
<label for="grant-person">Person (their user id in your app)</label>
<input id="grant-person" maxlength="256" autocomplete="off" spellcheck="false" required>
<label for="grant-role">Role</label>
<select id="grant-role">${p.grantable.map((r) => html`<option value="${r}">${ROLE_LABEL[r] ?? r}</option>`)}</select>
${
  p.grantable.includes('app-admin')
    ? html`<label for="grant-app">App (for an app admin)</label>
<select id="grant-app">${p.apps.map((a) => html`<option value="${a.id}">${a.name}</option>`)}</select>`
    : ''
}
<p><button type="submit">Give the role</button></p>
</form></details>`
    : '';
  return html`<section class="panel"><h2>Roles in this organisation</h2>
<p class="note">Nobody gives or takes their own roles, only an owner names another owner, and the last owner stays.</p>
${form}
${tableBox(
  'Roles in this organisation',
  html`<table class="data cards">${headRow('Person', 'Role', 'Given by', 'Since', '')}
<tbody>${p.grants.map(grantRow)}</tbody></table>`,
)}
</section>`;
}
