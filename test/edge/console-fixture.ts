/**
 * @module The fixture of the console page tests (console-pages.test.ts, console-controls.test.ts):
 * a gateway in which the bundled app serves app.test only, people who sign in, enrol an
 * authenticator app and step up, the console's pages by role, and what every console answer must be.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { generate } from 'otplib';
import { expect } from 'vitest';
import { createApp } from '../../edge/admin/app-store';
import type { Role } from '../../edge/admin/authorization';
import { createOrg } from '../../edge/admin/org-store';
import { grantRole } from '../../edge/admin/role-store';
import demoPolicy from '../../edge/config/policy.json';
import { parseKeyring } from '../../edge/crypto/keyring';
import { createGateway } from '../../edge/gateway';
import { CSP } from '../../edge/http/responses';
import { CLIENT_ASSETS } from '../../edge/pages/generated/client-assets';
import { sessionCookie } from '../support/session';
import { seedRole } from './seed-roles';

const ring = parseKeyring(env.STEPGATE_KEYS);
// The bundled app serves app.test only: acme.test is an app in D1.
const g = createGateway(env, { ...demoPolicy, hosts: ['app.test'] });
export async function send(url: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await g.fetch(new Request(url, init), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** A signed-in person: the headers that identify them, and those that also carry a fresh step-up. */
export interface Caller {
  host: string;
  plain: Record<string, string>;
  stepped: Record<string, string>;
}
const call = (headers: Record<string, string>, host: string, method: string, path: string, body?: unknown) =>
  send(`http://${host}${path}`, {
    method,
    headers: { ...headers, ...(method === 'GET' ? {} : { origin: `http://${host}`, 'content-type': 'application/json' }) },
    ...(method === 'GET' ? {} : { body: JSON.stringify(body ?? {}) }),
  });
export const as = (who: Caller, method: string, path: string, body?: unknown) => call(who.stepped, who.host, method, path, body);
const seconds = () => Math.floor(Date.now() / 1000);
export const signIn = async (name: string, host = 'app.test'): Promise<Record<string, string>> =>
  host === 'app.test' ? { cookie: await sessionCookie(name, `${name}-console`) } : { 'stepgate-dev-user': name };

/** Sign in as `name` (a demo session on app.test, else the dev header), enrol an authenticator app, step up. */
export async function person(name: string, host = 'app.test'): Promise<Caller> {
  const plain = await signIn(name, host);
  const start = (await (await call(plain, host, 'POST', '/.stepgate/api/factors/totp')).json()) as { id: string; secret: string };
  const code = async (epoch: number) => generate({ secret: start.secret, epoch });
  const confirm = await call(plain, host, 'POST', `/.stepgate/api/factors/totp/${start.id}/confirm`, { code: await code(seconds() - 30) });
  if (confirm.status !== 200) throw new Error(`enrolment of ${name}: ${confirm.status}`);
  const { challenge_id } = (await (await call(plain, host, 'POST', '/.stepgate/api/factors/step-up')).json()) as { challenge_id: string };
  const ok = await call(plain, host, 'POST', `/.stepgate/api/challenges/${challenge_id}/verify`, {
    method: 'totp',
    code: await code(seconds()),
  });
  if (ok.status !== 200) throw new Error(`step-up of ${name}: ${ok.status}`);
  const grant = ok.headers.get('set-cookie')!.split(';')[0]!;
  return { host, plain, stepped: plain.cookie ? { ...plain, cookie: `${plain.cookie}; ${grant}` } : { ...plain, cookie: grant } };
}
export const PAGES = ['overview', 'apps', 'people', 'tokens', 'audit', 'dashboard'] as const;
export type Page = (typeof PAGES)[number];
export const PATH: Record<Page, string> = {
  overview: '/.stepgate/admin',
  apps: '/.stepgate/admin/apps',
  people: '/.stepgate/admin/people',
  tokens: '/.stepgate/admin/tokens',
  audit: '/.stepgate/admin/audit',
  dashboard: '/.stepgate/admin/dashboard',
};
export type Who = Role | 'none';
/** The pages each role may open (docs/admin.md, "The console"). */
export const ALLOWED: Record<Who, Page[]> = {
  owner: ['overview', 'apps', 'people', 'tokens', 'audit', 'dashboard'],
  admin: ['overview', 'apps', 'people', 'tokens', 'audit', 'dashboard'],
  'app-admin': ['overview', 'apps', 'people', 'tokens'],
  auditor: ['overview', 'tokens', 'audit', 'dashboard'],
  helpdesk: ['overview', 'people', 'tokens'],
  none: ['overview'],
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
  const a = await createApp(env.DB, ring, {
    orgId: 'acme',
    name: 'acme-secret-app',
    hosts: ['acme.test'],
    originUrl: null,
    identity: { source: 'dev' },
    policy,
    createdBy: 'acme/boss',
    now,
    development: true,
  });
  if (!a.ok) throw new Error('acme app');
  const x = await createApp(env.DB, ring, {
    orgId: 'default',
    name: 'Console X',
    hosts: ['console-x.example'],
    originUrl: null,
    identity: { source: 'dev' },
    policy,
    createdBy: 'seed',
    now,
    development: true,
  });
  if (!x.ok) throw new Error('app x');
  fx.appX = x.app.id;
  for (const [role, name] of Object.entries(NAMES) as [Who, string][]) {
    if (role !== 'none') await seedRole(name, role, role === 'app-admin' ? { appId: fx.appX } : {});
    fx.people[role] = await person(name);
  }
  fx.acmeBoss = await person('boss', 'acme.test');
  expect((await grantRole(env.DB, ring, { orgId: 'acme', sub: 'acme/ada', role: 'auditor', grantedBy: 'acme/boss', now })).ok).toBe(true);
}
