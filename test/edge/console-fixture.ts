/**
 * @module The fixture of the console page tests (console-pages.test.ts, console-controls.test.ts):
 * a gateway in which the bundled app serves app.test only, people who sign in, enrol an
 * authenticator app and step up, the console's pages by role, and what every console answer must be.
 */
import { env } from 'cloudflare:test';
import { expect } from 'vitest';
import type { Role } from '../../edge/admin/authorization';
import { createOrg } from '../../edge/admin/org-store';
import { grantRole } from '../../edge/admin/role-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { CSP } from '../../edge/http/responses';
import { CLIENT_ASSETS } from '../../edge/pages/generated/client-assets';
import { type Caller as SignedIn, person as personOn, send, signIn as signInAs } from './admin-callers';
import { seedApp } from './seed-apps';
import { seedRole } from './seed-roles';

export { as, send } from './admin-callers';

/** A person as the console tests use them: their host, the headers that identify them, and with a fresh step-up. */
export type Caller = Pick<SignedIn, 'host' | 'plain' | 'stepped'>;
const ring = parseKeyring(env.STEPGATE_KEYS);
export const signIn = (name: string, host = 'app.test'): Promise<Record<string, string>> => signInAs(name, host, `${name}-console`);

/** Sign in as `name` (a demo session on app.test, else the dev header), enrol an authenticator app, step up. */
export const person = (name: string, host = 'app.test'): Promise<Caller> => personOn(send, name, host, { session: `${name}-console` });

export const PAGES = ['overview', 'approvals', 'apps', 'people', 'tokens', 'audit', 'dashboard'] as const;
export type Page = (typeof PAGES)[number];
export const PATH: Record<Page, string> = {
  overview: '/.stepgate/admin',
  approvals: '/.stepgate/approvals',
  apps: '/.stepgate/admin/apps',
  people: '/.stepgate/admin/people',
  tokens: '/.stepgate/admin/tokens',
  audit: '/.stepgate/admin/audit',
  dashboard: '/.stepgate/admin/dashboard',
};
export type Who = Role | 'none';
/** The pages each role may open (docs/admin.md, "The console"). */
export const ALLOWED: Record<Who, Page[]> = {
  owner: ['overview', 'approvals', 'apps', 'people', 'tokens', 'audit', 'dashboard'],
  admin: ['overview', 'approvals', 'apps', 'people', 'tokens', 'audit', 'dashboard'],
  'app-admin': ['overview', 'approvals', 'apps', 'people', 'tokens'],
  auditor: ['overview', 'approvals', 'tokens', 'audit', 'dashboard'],
  helpdesk: ['overview', 'approvals', 'people', 'tokens'],
  none: ['overview', 'approvals'],
};
export const NAMES: Record<Who, string> = {
  owner: 'cora',
  admin: 'cade',
  'app-admin': 'capa',
  auditor: 'caud',
  helpdesk: 'chel',
  none: 'cnone',
};
/** The people of the fixture, by role (default organisation), and acme's owner; filled by `seedConsole`. */
export const fx = { people: {} as Record<Who, Caller>, acmeBoss: undefined as unknown as Caller, appX: '' };
export const ACME = ['acme', 'Acme Corp', 'acme-secret-app', 'acme.test', 'boss'];

export const page = (who: Caller, path: string, stepped = true) =>
  send(`http://${who.host}${path}`, { headers: { ...(stepped ? who.stepped : who.plain), accept: 'text/html' } });

/** The page's HTML, text areas (the policy editor: a document people write) left out. */
const withoutEditors = (html: string) => html.replace(/<textarea[\s\S]*?<\/textarea>/g, '');
export const navOf = (html: string) =>
  [...(/<nav[^>]*>([\s\S]*?)<\/nav>/.exec(html)?.[1] ?? '').matchAll(/href="([^"]+)"/g)].map((m) => m[1]);

/** What every console answer must be: the strict CSP, HTML, no inline script or style, only scripts that exist. */
export function expectSafeHtml(res: Response, html: string): void {
  expect(res.headers.get('content-security-policy')).toBe(CSP);
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  expect(html).not.toMatch(/\sstyle=/);
  expect(html).not.toMatch(/\son[a-z]+="/);
  for (const [, file] of html.matchAll(/<script[^>]*src="\/\.stepgate\/assets\/([^"]+)"/g))
    expect(Object.keys(CLIENT_ASSETS)).toContain(file);
  // Never raw JSON, nor a value printed without words.
  const text = withoutEditors(html);
  expect(text).not.toMatch(/\{"|":\s*[{["\d]|\[object |undefined|NaN/);
}

/**
 * Two organisations: "default" with an app "Console X" and a person per role (demo sessions on
 * app.test), and "acme" with its own app on acme.test and its owner "boss" (the dev header).
 */
export async function seedConsole(): Promise<void> {
  const now = Date.now();
  const org = await createOrg(env.DB, { id: 'acme', name: 'Acme Corp', now, owner: { ring, sub: 'acme/boss', grantedBy: 'seed' } });
  expect(org.ok).toBe(true);
  const policy = {
    version: 1,
    rules: [{ id: 'writes', match: { methods: ['POST'], path: '/api/**' }, require: { factors: ['totp'], bind: 'session' } }],
  };
  await seedApp({ org: 'acme', name: 'acme-secret-app', hosts: ['acme.test'], policy, createdBy: 'acme/boss', now });
  fx.appX = (await seedApp({ name: 'Console X', hosts: ['console-x.example'], policy, now })).id;
  for (const [role, name] of Object.entries(NAMES) as [Who, string][]) {
    if (role !== 'none') await seedRole(name, role, role === 'app-admin' ? { appId: fx.appX } : {});
    fx.people[role] = await person(name);
  }
  fx.acmeBoss = await person('boss', 'acme.test');
  expect((await grantRole(env.DB, ring, { orgId: 'acme', sub: 'acme/ada', role: 'auditor', grantedBy: 'acme/boss', now })).ok).toBe(true);
}
