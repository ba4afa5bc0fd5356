/**
 * @module The console's apps page (/.stepgate/admin/apps): the apps a person may see, each with its
 * hosts, origin, how it says who is signed in, its policy as a table of rules in words and a link to
 * its policy page (editor, versions, report: policy-page.ts); and, only for those whose roles allow
 * it, creating an app, changing or deleting one (the page script sends these to the admin API,
 * which decides again). The bundled app's policy is edited on its policy page too.
 */
import { html } from 'hono/html';
import type { App, AppPolicy, BundledAppRow } from '../admin/app-store';
import { BUNDLED_APP_ID, DEFAULT_ORG } from '../apps/app-definition';
import type { Rule } from '../policy/schema';
import { appForm, identityWords } from './app-form';
import { type Content, type ConsoleFrame, consolePage, count, headRow, tableBox, when } from './console-layout';
import { policyPagePath } from './console-nav';

export interface AppView {
  /** An app in D1, or the bundled app (its hosts, sign-in and origin are the deployment's). */
  app: App | BundledConsoleApp;
  /** null: the person may not read it, or it has none. */
  policy: AppPolicy | null;
  /** Who saved the policy, as the app names them (null: unknown). */
  policyBy: string | null;
  /** `policyUpdate`: the rules; `enrolment`: also how people enrol (owners and admins). */
  may: { update: boolean; delete: boolean; policyUpdate: boolean; enrolment: boolean };
}

export interface AppsData {
  apps: readonly AppView[];
  mayCreate: boolean;
  development: boolean;
  /** The default organisation also has the app bundled with the deployment: its policy is edited on its policy page. */
  hasBundledApp: boolean;
}

const FACTOR_WORDS: Record<string, string> = { webauthn: 'a passkey', totp: 'an authenticator app', recovery: 'a recovery code' };
const or = (xs: readonly string[]): string => (xs.length < 2 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} or ${xs.at(-1)}`);
const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const UNITS: Record<string, string> = { s: 'second', m: 'minute', h: 'hour' };
/** A policy duration in words: "5m" → "5 minutes". */
export const durationWords = (d: string): string => {
  const m = /^(\d+)([smh])$/.exec(d);
  return m ? `${m[1]} ${UNITS[m[2]!]}${m[1] === '1' ? '' : 's'}` : d;
};

const ruleRow = (r: Rule) => {
  const methods = r.match.methods ? r.match.methods.join(', ') : 'Any method';
  const hosts = list(r.match.host);
  const lasts = durationWords(r.require.maxAge ?? '5m');
  return html`<tr><th scope="row">${r.id}</th>
<td>${methods} on ${list(r.match.path).join(', ')}${hosts.length ? html` <span class="note">at ${hosts.join(', ')}</span>` : ''}</td>
<td>${or(r.require.factors.map((f) => FACTOR_WORDS[f] ?? f))}</td>
<td>${r.require.bind === 'session' ? `for ${lasts}, then again` : `each action once, approved within ${lasts}`}</td></tr>`;
};

const policyView = (v: AppView) => {
  const p = v.policy;
  if (!p) return html`<p class="note">You may not see this app’s policy.</p>`;
  const enrolment =
    p.policy.enrolment === 'invite'
      ? 'People need an invitation from an administrator to set up their first factor.'
      : 'People with no factor yet set one up the first time they need it.';
  const rules = p.policy.rules.length
    ? tableBox(
        `Rules of ${v.app.name}`,
        html`<table class="data"><caption>${count(p.policy.rules.length, 'rule')}</caption>
${headRow('Rule', 'Requests', 'Confirmed with', 'A confirmation lasts')}
<tbody>${p.policy.rules.map(ruleRow)}</tbody></table>`,
      )
    : html`<p>No rules: nothing on this app asks for a step-up.</p>`;
  return html`${rules}<p class="note">${enrolment} Saved ${when(p.updatedAt)}${v.policyBy ? html` by ${v.policyBy}` : ''}.</p>`;
};

/** The link to the app's policy page (editor, versions, report), for those who may read its policy. */
const policyLink = (v: AppView) =>
  v.policy || v.may.policyUpdate || isBundled(v.app)
    ? html`<p><a id="app-${v.app.id}-policy-link" href="${policyPagePath(v.app.orgId, v.app.id)}">${
        v.may.policyUpdate ? 'Edit the policy' : 'The policy’s versions and report'
      }</a></p>`
    : '';

/** The bundled app as the console lists it. */
export type BundledConsoleApp = BundledAppRow & { bundled: true };

const isBundled = (a: App | BundledConsoleApp): a is BundledConsoleApp =>
  'bundled' in a && a.id === BUNDLED_APP_ID && a.orgId === DEFAULT_ORG;

/** The bundled app: its hosts, sign-in and origin are the deployment's; only its policy is changed here. */
const bundledArticle = (v: AppView) => html`<article class="panel" id="app-${v.app.id}">
<h2>${v.app.name}</h2>
<p>Bundled with the deployment: its hosts, how it says who is signed in and its origin are the deployment’s settings. Its policy is
edited here like any app’s; the deployment’s policy.json is its first version.</p>
<h3>Policy</h3>
${v.policy ? policyView(v) : html`<p class="note">Not changed here yet: the deployment’s policy.json applies (see its policy page).</p>`}
${policyLink(v)}
</article>`;

const appArticle = (v: AppView, development: boolean) => {
  const a = v.app;
  if (isBundled(a)) return bundledArticle(v);
  const prefix = `app-${a.id}`;
  return html`<article class="panel" id="${prefix}">
<h2>${a.name}</h2>
<dl class="facts">
<dt>Hosts</dt><dd>${a.hosts.join(', ') || 'none'}</dd>
<dt>Forwards to</dt><dd>${a.originUrl ?? 'the Cloudflare-proxied origin (the host itself)'}</dd>
<dt>Who is signed in</dt><dd>${identityWords(a.identity)}</dd>
<dt>Created</dt><dd>${when(a.createdAt)}; changed ${when(a.updatedAt)}</dd>
</dl>
<h3>Policy</h3>
${policyView(v)}
${v.may.update ? html`<details><summary>Change this app</summary>${appForm({ prefix, app: a, development })}</details>` : ''}
${policyLink(v)}
${
  v.may.delete
    ? html`<p>
<button type="button" class="danger" data-delete-app="${a.id}" data-name="${a.name}">Delete this app</button></p>`
    : ''
}
</article>`;
};

export function appsPage(f: ConsoleFrame, d: AppsData): Content {
  // The bundled app is one of the listed apps once it has its `apps` row; until then, a link to its policy page.
  const bundledListed = d.apps.some((v) => isBundled(v.app));
  const body = html`<p>${count(d.apps.length, 'app')} you may see in ${f.orgName}.${
    d.hasBundledApp && !bundledListed
      ? html` The app bundled with the deployment has its policy edited on
<a id="bundled-policy-link" href="${policyPagePath(f.orgId, BUNDLED_APP_ID)}">its policy page</a>:
the deployment’s policy.json is its first version.`
      : ''
  }</p>
${
  d.mayCreate
    ? html`<details class="panel"><summary>Add an app</summary>
${appForm({ prefix: 'new', development: d.development })}</details>`
    : ''
}
${d.apps.map((v) => appArticle(v, d.development))}
<p><a href="/.stepgate/admin">Back to the console overview</a></p>`;
  return consolePage(f, { title: 'Apps', body, script: 'apps', state: 'ready' });
}
