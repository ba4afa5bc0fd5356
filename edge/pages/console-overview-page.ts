/**
 * @module The console's first page (/.stepgate/admin): your organisation, your roles in words, the
 * apps you may see, and links to what your roles let you do. A person with no role is told so, and
 * the person BOOTSTRAP_OWNER names is offered the claim of the first owner.
 */
import { html } from 'hono/html';
import type { App } from '../admin/app-store';
import type { HeldRole, Role } from '../admin/authorization';
import { type Content, type ConsoleFrame, consolePage, count } from './console-layout';
import { CONSOLE_PAGES, PAGE_INFO } from './console-nav';

/** What each role may do, in words (docs/admin.md, "Roles"). */
export const ROLE_WORDS: Record<Role, string> = {
  owner: 'everything in the organisation, including naming other owners',
  admin: 'apps and their policies, people and their roles (except owner), tokens, the audit log and the dashboard',
  'app-admin': 'this app’s policy, and inviting and unlocking its people',
  auditor: 'reads and exports the audit log and the dashboard; changes nothing',
  helpdesk: 'unlocks people and starts factor recovery',
};

/** What each page is for, in words. */
const PAGE_WORDS: Record<string, string> = {
  approvals: 'requests that need a second person’s approval: those waiting for you, and your own',
  apps: 'the apps Stepgate protects: their hosts, sign-in settings and policies',
  people: 'look a person up: their factors, lockout, roles, tokens and recovery; give and take roles',
  tokens: 'your personal API tokens for the stepgate CLI',
  audit: 'every decision Stepgate made, searchable and exportable',
  dashboard: 'step-ups, failures, denials and lockouts per day and per app',
};

export interface OverviewData {
  roles: readonly HeldRole[];
  /** The apps the person may see. */
  apps: readonly App[];
  /** App names by id (for app-admin roles). */
  appNames: ReadonlyMap<string, string>;
  /** Offer the bootstrap claim (no role yet, and BOOTSTRAP_OWNER names this person). */
  offerClaim: boolean;
}

const roleLine = (r: HeldRole, appNames: ReadonlyMap<string, string>) =>
  r.role === 'app-admin'
    ? html`<li><strong>App admin</strong> of ${appNames.get(r.appId ?? '') ?? 'an app that no longer exists'}:
${ROLE_WORDS['app-admin']}</li>`
    : html`<li><strong>${r.role[0]!.toUpperCase()}${r.role.slice(1)}</strong>: ${ROLE_WORDS[r.role]}</li>`;

const noRole = (f: ConsoleFrame, offerClaim: boolean) =>
  html`<p>You hold no role in ${f.orgName}, so there is nothing to administer here. If you need to, ask an owner or admin
of ${f.orgName} to give you a role.</p>
${
  offerClaim
    ? html`<section id="claim"><h2>Claim the organisation</h2>
<p>Stepgate’s configuration names you as the first owner, and nobody owns ${f.orgName} yet. You need a second factor
first (<a href="/.stepgate/enrol">set one up</a>), then claim it.</p>
<p><button id="claim-owner" type="button">Claim ownership</button></p></section>`
    : ''
}`;

export function overviewPage(f: ConsoleFrame, d: OverviewData): Content {
  if (d.roles.length === 0) return consolePage(f, { title: 'Console', body: noRole(f, d.offerClaim), script: 'console', state: 'ready' });
  const links = CONSOLE_PAGES.filter((p) => p !== 'overview' && f.allowed.has(p)).map(
    (p) => html`<li><a href="${PAGE_INFO[p].path}">${PAGE_INFO[p].label}</a>: ${PAGE_WORDS[p]}</li>`,
  );
  const apps = d.apps.map(
    (a) => html`<li><strong>${a.name}</strong> <span class="note">on ${a.hosts.length ? a.hosts.join(', ') : 'no host yet'}</span></li>`,
  );
  const body = html`<section>
<h2>Your roles in ${f.orgName}</h2>
<ul>${d.roles.map((r) => roleLine(r, d.appNames))}</ul>
</section>
<section>
<h2>What you can do here</h2>
<ul>${links}</ul>
</section>
${
  f.allowed.has('apps')
    ? html`<section><h2>Apps you administer (${count(d.apps.length, 'app')})</h2>
${d.apps.length ? html`<ul>${apps}</ul>` : html`<p>None yet.</p>`}
<p><a href="${PAGE_INFO.apps.path}">Manage apps</a></p></section>`
    : ''
}`;
  return consolePage(f, { title: 'Console', body, script: 'console', state: 'ready' });
}
