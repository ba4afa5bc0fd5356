/**
 * @module The console's tokens page (/.stepgate/admin/tokens): your personal API tokens (for the
 * stepgate CLI), what each may do in words, when it expires and was last used; create one (shown
 * once, with only the scopes your roles can use) and revoke one. Never a token's secret.
 */
import { html } from 'hono/html';
import type { TokenScope } from '../admin/token-scopes';
import { type Content, type ConsoleFrame, consolePage, count, headRow, tableBox, when } from './console-layout';

/** What each scope lets a token do, in words (its owner's roles still decide). */
export const SCOPE_WORDS: Record<TokenScope, string> = {
  'audit:read': 'read and export the audit log and the dashboard',
  'admin:read': 'read apps, policies, roles and tokens',
  'admin:write': 'create, change and delete apps, change policies, invite people',
};

export interface TokenView {
  id: string;
  label: string;
  scopes: readonly string[];
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

export interface TokensData {
  tokens: readonly TokenView[];
  /** The scopes the person's roles can use (a token is only made for those). */
  scopes: readonly TokenScope[];
  maxDays: number;
  now: number;
}

const stateOf = (t: TokenView, now: number): Content =>
  t.revokedAt !== null
    ? html`revoked ${when(t.revokedAt)}`
    : t.expiresAt <= now
      ? html`expired ${when(t.expiresAt)}`
      : html`expires ${when(t.expiresAt)}`;

const row = (t: TokenView, now: number) => {
  const live = t.revokedAt === null && t.expiresAt > now;
  return html`<tr${live ? '' : html` class="muted"`}><th scope="row">${t.label}</th>
<td>${t.scopes.map((s) => SCOPE_WORDS[s as TokenScope] ?? s).join('; ')}</td>
<td>${stateOf(t, now)}</td><td>${when(t.lastUsedAt)}</td>
<td>${
    live
      ? html`
<button type="button" class="secondary" data-revoke-token="${t.id}" data-label="${t.label}">Revoke</button>`
      : ''
  }</td>
</tr>`;
};

export function tokensPage(f: ConsoleFrame, d: TokensData): Content {
  const live = d.tokens.filter((t) => t.revokedAt === null && t.expiresAt > d.now).length;
  const scopes = d.scopes.map(
    (s) =>
      html`<label class="check"><input type="checkbox" name="scope" value="${s}"${s === d.scopes[0] ? html` checked` : ''}>
${SCOPE_WORDS[s]}</label>`,
  );
  const create = d.scopes.length
    ? html`<section class="panel"><h2>Create a token</h2>
<p>A token acts as you, with your roles at the moment it is used, in ${f.orgName} only. It is shown once: copy it then.</p>
<form id="token-form" class="stack" novalidate>
<label for="token-label">What it is for</label>
<input id="token-label" maxlength="64" value="stepgate CLI" required autocomplete="off">
<fieldset><legend>It may</legend>${scopes}</fieldset>
<label for="token-days">Valid for (days, at most ${d.maxDays})</label>
<input id="token-days" type="number" min="1" max="${d.maxDays}" value="7" required>
<p><button type="submit">Create the token</button></p>
</form>
<div id="token-shown" hidden><p>Your new token (shown once):</p><p><code id="token"></code></p>
<p class="note">Use it as <code>STEPGATE_TOKEN</code> with the stepgate CLI.</p></div>
</section>`
    : html`<p>None of your roles has anything a token could do.</p>`;
  const table = d.tokens.length
    ? tableBox(
        'Your tokens',
        html`<table class="data"><caption>${count(live, 'live token')} of ${d.tokens.length}</caption>
${headRow('For', 'May', 'State', 'Last used', '')}
<tbody>${d.tokens.map((t) => row(t, d.now))}</tbody></table>`,
      )
    : html`<p>You have no tokens.</p>`;
  const body = html`${create}<section><h2>Your tokens</h2>${table}</section>
<p><a href="/.stepgate/admin">Back to the console overview</a></p>`;
  return consolePage(f, { title: 'API tokens', body, script: 'tokens', state: 'ready' });
}
