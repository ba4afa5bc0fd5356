/**
 * @module The console's people page (/.stepgate/admin/people): look a person up by the user id
 * their app gives them; see (owners and admins) their factors, lockout, roles and tokens, and any
 * recovery of their factors; act on them with the buttons the viewer's roles allow (invite, unlock,
 * revoke, start, approve or cancel a recovery). The organisation's open recoveries and role grants
 * are in roles-panel.ts. The page script (edge/browser/people.ts) sends actions to the admin API.
 */
import { html } from 'hono/html';
import { type Content, type ConsoleFrame, consolePage, when } from './console-layout';
import { type GrantsPanel, grantsPanel, type RecoveryView, recoveriesPanel, recoveryWords } from './roles-panel';

export interface PersonDetails {
  factors: readonly { kind: string; label?: string; createdAt: number }[];
  lock: { consecutive: number; lockedUntil: number; lockedOut: boolean };
  roles: readonly { role: string; appName: string | null }[];
  tokens: readonly { label: string; scopes: readonly string[]; expiresAt: number; revoked: boolean }[];
}

export interface PersonView {
  /** The person as their app names them. */
  user: string;
  /** null: the viewer may not read them (helpdesk, app-admin). */
  details: PersonDetails | null;
  /** Their open recovery; undefined: the viewer may not see recoveries. */
  recovery?: RecoveryView | null;
  may: {
    invite: boolean;
    unlock: boolean;
    revokeFactors: boolean;
    revokeTokens: boolean;
    startRecovery: boolean;
    approveRecovery: boolean;
    cancelRecovery: boolean;
  };
  /** Why the viewer may not act on them at all (themselves), in words; null otherwise. */
  selfNote: string | null;
}

export interface PeopleData {
  /** The user id asked for ('' when none). */
  lookup: string;
  person: PersonView | null;
  /** The organisation's open recoveries; null: the viewer may not see them. */
  recoveries: readonly RecoveryView[] | null;
  grants: GrantsPanel | null;
  now: number;
}

const FACTOR_KIND: Record<string, string> = {
  webauthn: 'Passkey',
  totp: 'Authenticator app',
  'recovery-codes': 'Recovery codes',
  invite: 'Invitation',
};

/** The person's lockout, in words. */
export function lockWords(l: PersonDetails['lock'], now: number): Content | string {
  if (l.lockedOut) return `Locked out after ${l.consecutive} failed attempts in a row, until someone unlocks them.`;
  if (l.lockedUntil > now) return html`Waiting after ${l.consecutive} failed attempts in a row, until ${when(l.lockedUntil)}.`;
  if (l.consecutive > 0) return `${l.consecutive} failed attempts in a row; not locked.`;
  return 'Not locked.';
}

const factorWords = (f: PersonDetails['factors'][number]): Content =>
  html`${FACTOR_KIND[f.kind] ?? f.kind}${f.label ? ` (${f.label})` : ''}, added ${when(f.createdAt)}`;

const tokenState = (t: PersonDetails['tokens'][number], now: number): Content | string =>
  t.revoked ? 'revoked' : t.expiresAt <= now ? 'expired' : html`expires ${when(t.expiresAt)}`;

const detailsHtml = (d: PersonDetails, now: number) => html`<h3>Factors</h3>
${
  d.factors.length
    ? html`<ul>${d.factors.map((f) => html`<li>${factorWords(f)}</li>`)}</ul>`
    : html`<p>None: they cannot confirm it is them until they set one up (invite them, or start a recovery).</p>`
}
<h3>Lockout</h3><p>${lockWords(d.lock, now)}</p>
<h3>Roles</h3>
${
  d.roles.length
    ? html`<ul>${d.roles.map((r) => html`<li>${r.role}${r.appName ? html` of ${r.appName}` : ''}</li>`)}</ul>`
    : html`<p>None in this organisation.</p>`
}
<h3>API tokens</h3>
${
  d.tokens.length
    ? html`<ul>${d.tokens.map((t) => html`<li>${t.label}: ${t.scopes.join(', ')}; ${tokenState(t, now)}</li>`)}</ul>`
    : html`<p>None.</p>`
}`;

const actionsHtml = (p: PersonView) => {
  const m = p.may;
  const open = p.recovery ?? null;
  const buttons = [
    m.invite ? html`<button type="button" data-person-action="invite">Invite them to set up a factor</button>` : '',
    m.unlock ? html`<button type="button" data-person-action="unlock">Unlock them</button>` : '',
    m.startRecovery && open === null
      ? html`<button type="button" data-person-action="start-recovery">Start recovering their factors</button>`
      : '',
    m.approveRecovery && open?.state === 'started'
      ? html`<button type="button" data-recovery-action="approve" data-recovery="${open.id}">Approve the recovery</button>`
      : '',
    m.cancelRecovery && open
      ? html`<button type="button" class="secondary" data-recovery-action="cancel" data-recovery="${open.id}">Cancel the recovery</button>`
      : '',
  ];
  const revoke =
    m.revokeFactors || m.revokeTokens
      ? html`<details class="danger-zone"><summary>Revoke their access now</summary>
<form id="revoke-form" class="stack" novalidate>
${
  m.revokeFactors
    ? html`<label class="check"><input type="checkbox" name="what" value="factors">
Every factor (passkeys, authenticator apps, recovery codes, invitations), and with them every step-up they hold</label>
<label class="check"><input type="checkbox" name="what" value="grants"> Only the step-ups they hold now (they confirm again)</label>`
    : ''
}
${m.revokeTokens ? html`<label class="check"><input type="checkbox" name="what" value="tokens"> Every API token</label>` : ''}
<p><button type="submit" class="danger">Revoke</button></p>
</form></details>`
      : '';
  return html`<div class="row wrap">${buttons}</div>${revoke}<div id="person-result" class="result" hidden></div>`;
};

const NOT_SHOWN = 'Your roles do not show this person’s factors, roles or tokens; you can still do what the buttons offer.';

const personPanel = (p: PersonView, now: number) => html`<section class="panel" id="person" data-user="${p.user}">
<h2>${p.user}</h2>
${p.selfNote ? html`<p class="note">${p.selfNote}</p>` : ''}
${p.recovery === undefined ? '' : html`<h3>Recovery of their factors</h3><p>${p.recovery ? recoveryWords(p.recovery) : 'None open.'}</p>`}
${p.details ? detailsHtml(p.details, now) : html`<p class="note">${NOT_SHOWN}</p>`}
${actionsHtml(p)}
</section>`;

export function peoplePage(f: ConsoleFrame, d: PeopleData): Content {
  const body = html`<form class="lookup" method="get" action="/.stepgate/admin/people">
<label for="lookup-user">Look a person up by their user id in your app</label>
<div class="row"><input id="lookup-user" name="user" value="${d.lookup}" maxlength="256" autocomplete="off" spellcheck="false" required>
<button type="submit">Look up</button></div>
</form>
${d.person ? personPanel(d.person, d.now) : ''}
${d.recoveries ? recoveriesPanel(d.recoveries) : ''}
${d.grants ? grantsPanel(d.grants) : ''}
<p><a href="/.stepgate/admin">Back to the console overview</a></p>`;
  return consolePage(f, { title: 'People and roles', body, script: 'people', state: 'ready' });
}
