/**
 * The `introspect` identity source for real, over loopback: the gateway bundle in workerd in front
 * of the demo app, configured to ask the demo's "who am I" endpoint (`GET /__demo/whoami`) who holds
 * the `demo_session` cookie — Stepgate never reads the cookie itself. A person is identified,
 * enrols, steps up and reaches the origin; many requests with one cookie make one call; an unknown
 * cookie is 401; an endpoint that fails, stalls, redirects or names nobody — or is down — is 503
 * and the origin receives nothing; a cookie named twice is 400 and the endpoint is not asked.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { generate } from 'otplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sha256b64u } from '../../edge/crypto/base64';
import { type DemoOrigin, type DemoRequest, startDemoOrigin, WHOAMI_PATH } from '../../edge/node/demo/demo-origin';
import { startGateway, type RunningGateway } from '../support/miniflare-gateway';
import { rawRequest } from '../support/raw-http';
import { sessionCookie, TEST_JWT_SECRET } from '../support/session';

/** The gateway's own IDENTITY_JWT_SECRET is another one: it cannot verify the demo's sessions itself. */
const OTHER_SECRET = 'not-the-demo-secret-so-stepgate-cannot-verify-0123';

let origin: DemoOrigin;
let gw: RunningGateway;
let base: string;

/** The introspect IDENTITY for an endpoint at `url`. */
const identity = (url: string) => ({ source: 'introspect', cookie: 'demo_session', url, timeoutMs: 1000, cacheSeconds: 30 });

beforeAll(async () => {
  origin = await startDemoOrigin({ jwtSecret: TEST_JWT_SECRET, extraProjects: 40 });
  gw = await startGateway({
    originUrl: origin.url,
    jwtSecret: OTHER_SECRET,
    bindings: { IDENTITY: identity(`${origin.url}${WHOAMI_PATH}`) },
  });
  base = gw.url.origin;
});
afterEach(() => {
  origin.whoami.fault = null;
});
afterAll(async () => {
  await gw?.dispose();
  await origin?.close();
});

/** A fresh demo session cookie (`demo_session=<jwt>`) and its value. */
const session = async (user: string) => {
  const cookie = await sessionCookie(user);
  return { cookie, value: cookie.slice('demo_session='.length) };
};
/** The calls the demo's "who am I" endpoint received for session `value`. */
const whoamiCalls = (value: string): DemoRequest[] =>
  origin.requests.filter((r) => r.url.startsWith(WHOAMI_PATH) && r.headers.cookie === `demo_session=${value}`);
/** What reached the origin besides "who am I" calls, since `before`. */
const reachedOrigin = (before: number) => origin.requests.slice(before).filter((r) => !r.url.startsWith(WHOAMI_PATH));

const post = (path: string, cookie: string, body: unknown = {}) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { cookie, origin: base, 'content-type': 'application/json' },
  });
const listFactors = (cookie: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/.stepgate/api/factors`, { headers: { cookie, ...headers } });
const deleteProject = (id: number, cookie: string) => fetch(`${base}/api/projects/${id}`, { method: 'DELETE', headers: { cookie } });

async function problemOf(res: Response): Promise<{ status: number; code: string }> {
  const body = (await res.json()) as { code: string };
  return { status: res.status, code: body.code };
}

describe('a person identified by the app', () => {
  it('is identified through the endpoint: enrols, steps up, and the origin gets the request with an assertion naming them', async () => {
    const { cookie, value } = await session('iris');
    // Enrol an authenticator app (Stepgate's own endpoints identify through the endpoint too).
    const start = (await (await post('/.stepgate/api/factors/totp', cookie)).json()) as { id: string; secret: string };
    const now = () => Math.floor(Date.now() / 1000);
    const confirm = await post(`/.stepgate/api/factors/totp/${start.id}/confirm`, cookie, {
      code: await generate({ secret: start.secret, epoch: now() - 30 }),
    });
    expect(confirm.status).toBe(200);

    // A protected request: identified (a step-up is asked, not a sign-in), and nothing forwarded.
    const before = origin.requests.length;
    const first = await fetch(`${base}/admin/settings`, {
      method: 'POST',
      body: 'support_email=iris@example.test',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(first.status).toBe(401);
    const { code, challenge_id } = (await first.json()) as { code: string; challenge_id: string };
    expect(code).toBe('ERR_STEP_UP_REQUIRED');
    expect(reachedOrigin(before)).toEqual([]);

    const ok = await post(`/.stepgate/api/challenges/${challenge_id}/verify`, cookie, {
      method: 'totp',
      code: await generate({ secret: start.secret, epoch: now() }),
    });
    expect(ok.status).toBe(200);
    const grant = ok.headers.get('set-cookie')!.split(';')[0]!;

    const again = await fetch(`${base}/admin/settings`, {
      method: 'POST',
      body: 'support_email=iris@example.test',
      headers: { cookie: `${cookie}; ${grant}`, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ saved: { support_email: 'iris@example.test' }, by: 'iris' });
    const seen = reachedOrigin(before).filter((r) => r.url === '/admin/settings');
    expect(seen).toHaveLength(1);
    const { payload } = await jwtVerify(
      String(seen[0]!.headers['stepgate-assertion']),
      createRemoteJWKSet(new URL(`${base}/.well-known/stepgate/jwks.json`)),
    );
    expect(payload).toMatchObject({ sub: 'iris', session_hash: await sha256b64u(value) });
    // The whole exchange (enrol, confirm, challenge, verify, forward) asked the app once.
    expect(whoamiCalls(value)).toHaveLength(1);
  });

  it('the endpoint receives the session cookie alone: no other cookie, no other header of the request', async () => {
    const { cookie, value } = await session('jules');
    const res = await listFactors(`theme=dark; ${cookie}; csrftoken=abc`, { 'x-secret-header': 'do-not-forward', 'user-agent': 'test-ua' });
    expect(res.status).toBe(200);
    const calls = whoamiCalls(value);
    expect(calls).toHaveLength(1);
    const h = calls[0]!.headers;
    expect(calls[0]!.method).toBe('GET');
    expect(h.cookie).toBe(`demo_session=${value}`);
    expect(h.accept).toBe('application/json');
    expect(h.authorization).toBeUndefined();
    expect(h['x-secret-header']).toBeUndefined();
    expect(h['user-agent']).not.toBe('test-ua');
    expect(JSON.stringify(h)).not.toContain('theme');
  });

  it('50 requests with one cookie make one call to the endpoint (25 at once, then 25 one by one)', async () => {
    const { cookie, value } = await session('kai');
    const together = await Promise.all(Array.from({ length: 25 }, () => listFactors(cookie)));
    expect(together.map((r) => r.status)).toEqual(Array(25).fill(200));
    for (let i = 0; i < 25; i++) expect((await listFactors(cookie)).status).toBe(200);
    expect(whoamiCalls(value)).toHaveLength(1);
  });
});

describe('refusals', () => {
  it('an unknown session cookie: 401 ERR_IDENTITY_REQUIRED, the origin acts for nobody; the refusal is kept briefly', async () => {
    const before = origin.requests.length;
    const unknown = 'demo_session=not-a-session-of-the-app';
    expect(await problemOf(await deleteProject(5, unknown))).toEqual({ status: 401, code: 'ERR_IDENTITY_REQUIRED' });
    expect(await problemOf(await deleteProject(5, unknown))).toEqual({ status: 401, code: 'ERR_IDENTITY_REQUIRED' });
    expect(origin.projects.has(5)).toBe(true);
    expect(reachedOrigin(before)).toEqual([]);
    expect(whoamiCalls('not-a-session-of-the-app')).toHaveLength(1);
  });

  it.each([
    ['answers 500', 'error' as const],
    ['answers after the timeout', 'slow' as const],
    ['redirects (never followed)', 'redirect' as const],
    ['answers HTML', 'html' as const],
    ['answers JSON without the id', 'no-id' as const],
  ])('the endpoint %s: 503 ERR_IDENTITY_UNAVAILABLE and the origin never receives the request', async (_what, fault) => {
    const { cookie, value } = await session(`lee-${fault}`);
    origin.whoami.fault = fault;
    const before = origin.requests.length;
    const res = await deleteProject(6, cookie);
    expect(await problemOf(res)).toEqual({ status: 503, code: 'ERR_IDENTITY_UNAVAILABLE' });
    expect(res.headers.get('retry-after')).toBe('5');
    expect(origin.projects.has(6)).toBe(true);
    expect(reachedOrigin(before)).toEqual([]);
    // Stepgate's own endpoints refuse alike.
    expect(await problemOf(await listFactors(cookie))).toEqual({ status: 503, code: 'ERR_IDENTITY_UNAVAILABLE' });
    // Never kept: once the endpoint works, the same session is identified.
    origin.whoami.fault = null;
    expect((await listFactors(cookie)).status).toBe(200);
    expect(whoamiCalls(value).length).toBeGreaterThanOrEqual(3);
  });

  it('a cookie named twice: 400 ERR_AMBIGUOUS_IDENTITY, the endpoint not asked, the origin acts for nobody', async () => {
    const a = await session('mona');
    const b = await session('nico');
    const before = origin.requests.length;
    const res = await rawRequest(
      gw.port,
      `${[
        'DELETE /api/projects/7 HTTP/1.1',
        `Host: 127.0.0.1:${gw.port}`,
        'Connection: close',
        'Content-Length: 0',
        `Cookie: ${a.cookie}`,
        `Cookie: ${b.cookie}`,
      ].join('\r\n')}\r\n\r\n`,
    );
    expect(res.status).toBe(400);
    expect(res.body).toContain('ERR_AMBIGUOUS_IDENTITY');
    const joined = await deleteProject(7, `${a.cookie}; ${b.cookie}`);
    expect(await problemOf(joined)).toEqual({ status: 400, code: 'ERR_AMBIGUOUS_IDENTITY' });
    expect(origin.projects.has(7)).toBe(true);
    expect(origin.requests.slice(before)).toEqual([]);
  });

  it('the session cookie beside an Authorization header: 400 ERR_AMBIGUOUS_IDENTITY (the app might act on the header)', async () => {
    const { cookie, value } = await session('otto');
    const before = origin.requests.length;
    const res = await fetch(`${base}/api/projects/8`, { method: 'DELETE', headers: { cookie, authorization: 'Bearer some-api-token' } });
    expect(await problemOf(res)).toEqual({ status: 400, code: 'ERR_AMBIGUOUS_IDENTITY' });
    expect(origin.projects.has(8)).toBe(true);
    expect(reachedOrigin(before)).toEqual([]);
    expect(whoamiCalls(value)).toEqual([]);
  });
});

describe('the endpoint down', () => {
  let down: RunningGateway;
  beforeAll(async () => {
    // A port nothing listens on: take one, then close it.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((r) => probe.close(() => r()));
    down = await startGateway({
      originUrl: origin.url,
      jwtSecret: OTHER_SECRET,
      bindings: { IDENTITY: identity(`http://127.0.0.1:${port}${WHOAMI_PATH}`) },
    });
  });
  afterAll(async () => {
    await down?.dispose();
  });

  it('503 ERR_IDENTITY_UNAVAILABLE, the origin never receives the protected request; unprotected routes still pass', async () => {
    const { cookie } = await session('pia');
    const before = origin.requests.length;
    const res = await fetch(`${down.url.origin}/api/projects/9`, { method: 'DELETE', headers: { cookie } });
    expect(await problemOf(res)).toEqual({ status: 503, code: 'ERR_IDENTITY_UNAVAILABLE' });
    expect(origin.projects.has(9)).toBe(true);
    expect(origin.requests.slice(before)).toEqual([]);
    // A route no rule matches needs no identity, so it is not asked for one.
    expect((await fetch(`${down.url.origin}/api/projects`, { headers: { cookie } })).status).toBe(200);
  });
});
