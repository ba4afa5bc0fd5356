/**
 * CONSOLE_HOSTS (docs/admin.md, "Console hosts"): with it set, every console page, admin API route
 * and token route — the list taken from the OpenAPI document, so a new route cannot skip the check —
 * answers 404 "No such Stepgate endpoint." on an app's host, even to an owner with a fresh step-up
 * there (the attack: script on the app's host calling them), under every spelling of path and host;
 * and works on the console host. A person's own endpoints (enrolment, step-up, factors,
 * /.stepgate/api/me/*) stay on every host. Unset: every host, as before. Real D1 and Durable Objects.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { generate } from 'otplib';
import { beforeAll, describe, expect, it } from 'vitest';
import demoPolicy from '../../edge/config/policy.json';
import { openapi } from '../../edge/endpoints/openapi';
import { createGateway } from '../../edge/gateway';
import { sessionCookie } from '../support/session';
import { seedApp } from './seed-apps';
import { seedRole } from './seed-roles';

const APP = 'app.test';
const CONSOLE = 'console.test';
const SHOP = 'shop.test'; // an app in D1: its Runtime is built per app, and keeps the deployment's console hosts
const hosts = [APP, CONSOLE, 'second-console.test'];
// Spelled loosely on purpose: entries are trimmed, lower-cased and lose a trailing dot.
/** A gateway and the environment it is given on every request (the settings are read from it). */
const gatewayOf = (settings: Record<string, string>) => {
  const e = { ...env, ...settings };
  return { gateway: createGateway(e, { ...demoPolicy, hosts }), env: e };
};
const withConsoleHosts = gatewayOf({ CONSOLE_HOSTS: ' Console.Test. ,second-console.test' });
const unset = gatewayOf({});
const seconds = () => Math.floor(Date.now() / 1000);

type Gateway = typeof unset;
async function send(g: Gateway, url: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await g.gateway.fetch(new Request(url, init), g.env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** A request as a browser on `host` would send it: JSON and Origin on writes. */
const call = (g: Gateway, host: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) => {
  const write = !['GET', 'HEAD', 'OPTIONS'].includes(method);
  return send(g, `http://${host}${path}`, {
    method,
    headers: { ...headers, ...(write ? { origin: `http://${host}`, 'content-type': 'application/json' } : {}) },
    ...(write ? { body: JSON.stringify(body ?? {}) } : {}),
  });
};

/** The answer to an unknown path, which a console path off a console host must equal. */
const NOT_FOUND = { status: 404, body: { code: 'ERR_NOT_FOUND', detail: 'No such Stepgate endpoint.' } };
async function isNoSuchEndpoint(res: Response): Promise<boolean> {
  // A page's own 404 (HTML: "no such request") is an answer of that route, not "no such endpoint".
  if (res.status !== 404 || !(res.headers.get('content-type') ?? '').includes('json')) return false;
  const body = (await res.clone().json()) as { code?: string; detail?: string };
  return body.code === NOT_FOUND.body.code && body.detail === NOT_FOUND.body.detail;
}

/** Every operation of the OpenAPI document, its path parameters filled in. */
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
const operations = Object.entries(openapi.paths).flatMap(([path, item]) =>
  METHODS.filter((m) => m in (item as object)).map((m) => ({
    method: m.toUpperCase(),
    template: path,
    path: path
      .replace('{org}', 'default')
      .replace('{file}', 'step-up.js')
      .replace(/\{\w+\}/g, 'x1'),
  })),
);
/** The console's pages, the admin API and the token endpoints, by their documented paths. */
const consoleOnly = (path: string) => /^\/\.stepgate\/(admin|api\/admin|api\/tokens)(\/|$)/.test(path);
const consoleOps = operations.filter((o) => consoleOnly(o.template));
// The continue and carry-out endpoints are the middleware's (each replays a held request), not routes of Stepgate's endpoints.
const MIDDLEWARE_OWN = ['/.stepgate/challenge/{id}/continue', '/.stepgate/approvals/{id}/carry-out'];
const personOps = operations.filter((o) => !consoleOnly(o.template) && !MIDDLEWARE_OWN.includes(o.template));

/** A person of the default organisation with an authenticator app, enrolled on the app's host. */
let plain: Record<string, string>;
let secret: string;
/** Their headers with a fresh step-up on each host (a grant is bound to its host). */
const stepped: Record<string, Record<string, string>> = {};

/** Each step-up answers with the code of another time step (a code is used once). */
async function stepUp(host: string, step: number): Promise<Record<string, string>> {
  const start = await call(withConsoleHosts, host, 'POST', '/.stepgate/api/factors/step-up', plain);
  expect(start.status).toBe(201);
  const { challenge_id } = (await start.json()) as { challenge_id: string };
  const ok = await call(withConsoleHosts, host, 'POST', `/.stepgate/api/challenges/${challenge_id}/verify`, plain, {
    method: 'totp',
    code: await generate({ secret, epoch: seconds() + step * 30 }),
  });
  expect(ok.status, await ok.clone().text()).toBe(200);
  return { cookie: `${plain.cookie}; ${ok.headers.get('set-cookie')!.split(';')[0]!}` };
}

beforeAll(async () => {
  await seedApp({ name: 'shop', hosts: [SHOP], createdBy: 'test-setup' });
  await seedRole('conny', 'owner');
  plain = { cookie: await sessionCookie('conny', 'conny-console-hosts') };
  // Enrolment is a person's own endpoint: it works on the app's host with CONSOLE_HOSTS set.
  const totp = await call(withConsoleHosts, APP, 'POST', '/.stepgate/api/factors/totp', plain);
  expect(totp.status).toBe(201);
  const started = (await totp.json()) as { id: string; secret: string };
  secret = started.secret;
  const confirm = await call(withConsoleHosts, APP, 'POST', `/.stepgate/api/factors/totp/${started.id}/confirm`, plain, {
    code: await generate({ secret, epoch: seconds() - 30 }),
  });
  expect(confirm.status).toBe(200);
  stepped[APP] = await stepUp(APP, 0);
  stepped[CONSOLE] = await stepUp(CONSOLE, 1);
}, 60_000);

describe('the routes the document lists', () => {
  it('are split as expected: every console page, admin route and token route is console-only', () => {
    const templates = consoleOps.map((o) => o.template);
    for (const p of [
      '/.stepgate/admin',
      '/.stepgate/admin/audit',
      '/.stepgate/api/admin/me',
      '/.stepgate/api/tokens',
      '/.stepgate/api/admin/keys',
    ])
      expect(templates).toContain(p);
    expect(templates).toContain('/.stepgate/api/admin/orgs/{org}/recoveries');
    expect(consoleOps.length).toBeGreaterThan(30);
    expect(personOps.map((o) => o.template)).toEqual(expect.arrayContaining(['/.stepgate/enrol', '/.stepgate/api/me/notices']));
  });
});

describe('with CONSOLE_HOSTS set', () => {
  it('every console, admin and token route is 404 on an app host, to an owner with a fresh step-up there', async () => {
    const unknown = await call(withConsoleHosts, APP, 'GET', '/.stepgate/api/no-such-thing', stepped[APP]);
    const unknownBody = await unknown.text();
    const reached: string[] = [];
    for (const o of consoleOps) {
      const res = await call(withConsoleHosts, APP, o.method, o.path, stepped[APP]);
      // The same answer as an unknown path: nothing tells the app's script the console exists.
      if (res.status !== 404 || (await res.text()) !== unknownBody) reached.push(`${o.method} ${o.template}: ${res.status}`);
    }
    expect(reached).toEqual([]);
  });

  it('the same on an app in D1, and for methods no route has (404, not 405 naming what exists)', async () => {
    for (const o of consoleOps)
      expect(await isNoSuchEndpoint(await call(withConsoleHosts, SHOP, o.method, o.path, { 'stepgate-dev-user': 'conny' }))).toBe(true);
    for (const method of ['HEAD', 'OPTIONS', 'PUT', 'DELETE']) {
      const res = await call(withConsoleHosts, APP, method, '/.stepgate/api/admin/me', stepped[APP]);
      expect(res.status).toBe(404);
    }
    // On the console host, the route is there: another method is 405.
    expect((await call(withConsoleHosts, CONSOLE, 'PUT', '/.stepgate/api/admin/me', stepped[CONSOLE])).status).toBe(405);
  });

  it.each([
    '/.STEPGATE/api/admin/me',
    '/.stepgate/API/Admin/me',
    '/.stepgate/api/%61dmin/me',
    '/.stepgate/api/admin/me/',
    '/.stepgate//api/admin/me',
    '/.stepgate/./api/admin/me',
    '/.stepgate/x/../api/admin/me',
    '/%2estepgate/api/admin/me',
    '/.stepgate/api/admin/me?x=1',
    '/.stepgate/api/%74okens',
    '/.stepgate/%61dmin',
  ])('no spelling reaches it on the app host: %s', async (path) => {
    const res = await call(withConsoleHosts, APP, 'GET', path, stepped[APP]);
    expect([400, 404]).toContain(res.status);
    expect(await res.text()).not.toMatch(/conny|owner/);
  });

  it.each([
    ['APP.TEST', 404],
    ['app.test.', 404],
    ['app.test:8443', 404],
    ['CONSOLE.TEST', 200],
    ['console.test.', 200],
    ['console.test:8443', 200],
  ])('the host is compared as canonicalized: %s → %i', async (host, status) => {
    expect((await call(withConsoleHosts, host, 'GET', '/.stepgate/api/admin/me', stepped[CONSOLE])).status).toBe(status);
  });

  it('works on the console host: the admin API, the console pages, a token made there (refused on the app host)', async () => {
    const me = await call(withConsoleHosts, CONSOLE, 'GET', '/.stepgate/api/admin/me', stepped[CONSOLE]);
    expect(me.status).toBe(200);
    expect(await me.text()).toContain('owner');
    const page = await call(withConsoleHosts, CONSOLE, 'GET', '/.stepgate/admin', stepped[CONSOLE]);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const made = await call(withConsoleHosts, CONSOLE, 'POST', '/.stepgate/api/tokens', stepped[CONSOLE], {
      scopes: ['admin:read'],
      label: 'console-hosts',
    });
    expect(made.status).toBe(201);
    const bearer = { authorization: `Bearer ${((await made.json()) as { token: string }).token}` };
    expect((await call(withConsoleHosts, CONSOLE, 'GET', '/.stepgate/api/admin/orgs/default/apps', bearer)).status).toBe(200);
    expect((await call(withConsoleHosts, 'second-console.test', 'GET', '/.stepgate/api/tokens/current', bearer)).status).toBe(200);
    expect(await isNoSuchEndpoint(await call(withConsoleHosts, APP, 'GET', '/.stepgate/api/admin/orgs/default/apps', bearer))).toBe(true);
    expect(await isNoSuchEndpoint(await call(withConsoleHosts, APP, 'GET', '/.stepgate/api/tokens/current', bearer))).toBe(true);
  });

  it('every console route is reached on the console host', async () => {
    const missing: string[] = [];
    for (const o of consoleOps) {
      if (await isNoSuchEndpoint(await call(withConsoleHosts, CONSOLE, o.method, o.path))) missing.push(`${o.method} ${o.template}`);
    }
    expect(missing).toEqual([]);
  });

  it("a person's own endpoints stay on the app host: every other route is reached, and they work", async () => {
    const missing: string[] = [];
    for (const o of personOps) {
      if (await isNoSuchEndpoint(await call(withConsoleHosts, APP, o.method, o.path, plain))) missing.push(`${o.method} ${o.template}`);
    }
    expect(missing).toEqual([]);
    for (const path of ['/.stepgate/api/me/notices', '/.stepgate/api/factors', '/.stepgate/api/challenges', '/.stepgate/enrol'])
      expect([path, (await call(withConsoleHosts, APP, 'GET', path, plain)).status]).toEqual([path, 200]);
  });
});

describe('with CONSOLE_HOSTS unset', () => {
  it('every route answers on every host, as before', async () => {
    const missing: string[] = [];
    for (const o of operations) {
      if (MIDDLEWARE_OWN.includes(o.template)) continue;
      if (await isNoSuchEndpoint(await call(unset, APP, o.method, o.path))) missing.push(`${o.method} ${o.template}`);
    }
    expect(missing).toEqual([]);
    const me = await call(unset, APP, 'GET', '/.stepgate/api/admin/me', stepped[APP]);
    expect(me.status).toBe(200);
  });
});
