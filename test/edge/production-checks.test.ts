/**
 * A production gateway (ENVIRONMENT other than "development") refuses to start with a development
 * setting: every request gets 503 ERR_GATEWAY_MISCONFIGURED, nothing reaches any origin, and one
 * log line names each problem. A proper production configuration starts and forwards.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, inject, it, vi, type MockInstance } from 'vitest';
import { DEV_EXTENSION_ORIGIN, isNonPublicHost, productionProblems } from '../../edge/config/production-checks';
import type { Env } from '../../edge/env';
import { loadGateway } from '../../edge/gateway';
import { sessionCookie } from '../support/session';

const origin = inject('originUrl');
const originSaw = async (marker: string) => {
  const all = (await (await fetch(`${origin}/__demo/requests`)).json()) as { url: string }[];
  return all.filter((r) => r.url.includes(marker));
};

/** A proper production configuration: public https origin, real people, a store extension, the test secrets. */
const production: Env = {
  ...env,
  ENVIRONMENT: 'production',
  ORIGIN_URL: 'https://origin.example.com',
  BOOTSTRAP_OWNER: 'ops-lead@example.com',
  WEBAUTHN_ORIGINS: 'chrome-extension://abcdefghijklmnopabcdefghijklmnop',
};

let fetchSpy: MockInstance<typeof fetch>;
let logSpy: MockInstance<typeof console.error>;
beforeEach(() => {
  const real = globalThis.fetch;
  // The stand-in for a public origin; everything else (the loopback demo origin) is really fetched.
  fetchSpy = vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
    const url = new Request(input as RequestInfo).url;
    if (url.startsWith('https://origin.example.com/')) return Promise.resolve(new Response(`origin saw ${new URL(url).pathname}`));
    return real(input as RequestInfo, init);
  });
  logSpy = vi.spyOn(console, 'error').mockImplementation(() => {});
});
afterEach(() => vi.restoreAllMocks());

const forwardedTo = () => fetchSpy.mock.calls.map(([input]) => new Request(input as RequestInfo).url);

describe('a production gateway with a development setting', () => {
  it.each<[string, Partial<Env>, RegExp]>([
    ['the dev identity source', { IDENTITY: { source: 'dev' } }, /IDENTITY: the "dev" identity source/],
    [
      'a loopback ORIGIN_URL over http (the demo origin)',
      { ORIGIN_URL: origin },
      /ORIGIN_URL: "http:\/\/127\.0\.0\.1:\d+" uses http: .* and names 127\.0\.0\.1, a loopback or private host/,
    ],
    ['a plain-http ORIGIN_URL', { ORIGIN_URL: 'http://origin.example.com' }, /ORIGIN_URL: "http:\/\/origin\.example\.com" uses http:/],
    ['a private ORIGIN_URL', { ORIGIN_URL: 'https://10.1.2.3' }, /ORIGIN_URL: .*names 10\.1\.2\.3/],
    ['an IPv6 loopback ORIGIN_URL', { ORIGIN_URL: 'https://[::1]:8443' }, /ORIGIN_URL: .*names \[::1\]/],
    ['a localhost ORIGIN_URL', { ORIGIN_URL: 'https://localhost' }, /ORIGIN_URL: .*names localhost/],
    [
      'the development extension id',
      { WEBAUTHN_ORIGINS: `https://app.example.com,${DEV_EXTENSION_ORIGIN}` },
      /WEBAUTHN_ORIGINS: chrome-extension:\/\/leldacdejfbkleoogdbophfdkoapmfbd is the development build/,
    ],
    ['a demo bootstrap owner', { BOOTSTRAP_OWNER: 'alice' }, /BOOTSTRAP_OWNER: "alice" is a name from the demo/],
    ['a demo bootstrap owner, in capitals', { BOOTSTRAP_OWNER: ' Dave ' }, /BOOTSTRAP_OWNER: "Dave" is a name from the demo/],
    ['the retired ADMINS list (0.1)', { ADMINS: 'ops-lead@example.com' }, /ADMINS: is retired/],
    ['the retired AUDITORS list (0.1)', { AUDITORS: 'audit@example.com' }, /AUDITORS: is retired/],
    ['no IDENTITY_JWT_SECRET', { IDENTITY_JWT_SECRET: undefined }, /IDENTITY_JWT_SECRET: is not set/],
    ['a short IDENTITY_JWT_SECRET', { IDENTITY_JWT_SECRET: 'secret' }, /IDENTITY_JWT_SECRET: has 6 characters/],
    ['no keyring', { STEPGATE_KEYS: undefined }, /STEPGATE_KEYS: is not set/],
    ['a keyring that does not parse', { STEPGATE_KEYS: '{"primary":"k1","keys":{}}' }, /STEPGATE_KEYS: "primary" must name one of "keys"/],
  ])('%s: 503 for every request, nothing forwarded, one log line naming it', async (_name, change, named) => {
    const bad = { ...production, ...change } as Env;
    const g = loadGateway(bad);
    const marker = `prod-${Math.random().toString(36).slice(2, 8)}`;
    const cookie = await sessionCookie('ops-lead@example.com');
    for (const [method, path] of [
      ['GET', '/api/projects'],
      ['DELETE', '/api/projects/1'],
      ['GET', '/.well-known/stepgate/jwks.json'],
    ] as const) {
      const res = await g.fetch(
        new Request(`https://app.example.com${path}?m=${marker}`, { method, headers: { cookie } }),
        bad,
        createExecutionContext(),
      );
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ code: 'ERR_GATEWAY_MISCONFIGURED' });
    }
    expect(forwardedTo().filter((u) => !u.endsWith('/__demo/requests'))).toEqual([]);
    expect(await originSaw(marker)).toEqual([]);
    // One line per request, the same each time, naming the problem (and never a key or secret).
    const lines = logSpy.mock.calls.map((c) => c.join(' '));
    expect(lines).toHaveLength(3);
    expect(new Set(lines).size).toBe(1);
    expect(lines[0]).toMatch(
      /^stepgate: configuration error: refusing to start \(ENVIRONMENT is "production"\): 1 development setting\(s\): /,
    );
    expect(lines[0]).toMatch(named);
    expect(lines[0]).not.toContain(env.STEPGATE_KEYS!.slice(30));
  });

  it('names every problem of the shipped development settings in one line', () => {
    const g = loadGateway({ ...env, ENVIRONMENT: 'production' });
    g.fetch(new Request('https://app.example.com/'), env, createExecutionContext());
    const line = logSpy.mock.calls.map((c) => c.join(' '))[0]!;
    for (const setting of ['ORIGIN_URL', 'WEBAUTHN_ORIGINS', 'BOOTSTRAP_OWNER']) expect(line).toContain(`${setting}: `);
    expect(line).toContain('3 development setting(s)');
  });

  it('holds every ENVIRONMENT but "development" to the checks, including none', () => {
    for (const ENVIRONMENT of [undefined, 'prod', 'Production', 'staging']) {
      const res = loadGateway({ ...production, ENVIRONMENT, BOOTSTRAP_OWNER: 'alice' }).fetch(
        new Request('https://app.example.com/'),
        env,
        createExecutionContext(),
      );
      expect((res as Response).status).toBe(503);
    }
    expect(logSpy.mock.calls[0]!.join(' ')).toContain('ENVIRONMENT is not set, so production checks apply');
  });
});

describe('a proper production configuration', () => {
  it('starts: forwards unprotected requests to its https origin and challenges protected ones', async () => {
    const g = loadGateway(production);
    const ok = await g.fetch(new Request('https://app.example.com/api/projects'), production, createExecutionContext());
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('origin saw /api/projects');
    expect(forwardedTo()).toContain('https://origin.example.com/api/projects');
    const cookie = await sessionCookie('ops-lead@example.com');
    const ctx = createExecutionContext();
    const held = await g.fetch(
      new Request('https://app.example.com/api/projects/1', { method: 'DELETE', headers: { cookie } }),
      production,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(held.status).toBe(401);
    expect(forwardedTo()).not.toContain('https://origin.example.com/api/projects/1');
    expect(logSpy).not.toHaveBeenCalled();
  });

  it('may leave ORIGIN_URL empty (fetch(request) to the route’s origin) and WEBAUTHN_ORIGINS and BOOTSTRAP_OWNER empty', async () => {
    const bare = { ...production, ORIGIN_URL: '', WEBAUTHN_ORIGINS: '', BOOTSTRAP_OWNER: '' };
    expect(productionProblems(bare)).toEqual([]);
    const res = await loadGateway(bare).fetch(new Request('https://origin.example.com/api/projects'), bare, createExecutionContext());
    expect(res.status).toBe(200);
  });

  it('needs no IDENTITY_JWT_SECRET with a JWKS URL, but that URL must be https and public', () => {
    const jwks = {
      ...production,
      IDENTITY_JWT_SECRET: undefined,
      IDENTITY: { source: 'jwt', cookie: 's', issuer: 'i', audience: 'a', jwksUrl: 'https://idp.example.com/jwks.json' },
    };
    expect(productionProblems(jwks)).toEqual([]);
    expect(productionProblems({ ...jwks, IDENTITY: { ...jwks.IDENTITY, jwksUrl: 'http://127.0.0.1:9999/jwks.json' } })).toMatchObject([
      { setting: 'IDENTITY.jwksUrl' },
    ]);
  });

  it('development skips the checks (npm start, the tests)', async () => {
    expect(productionProblems({ ...env, ENVIRONMENT: 'production' }).length).toBeGreaterThan(0);
    const res = await loadGateway(env).fetch(new Request('http://app.test/api/projects'), env, createExecutionContext());
    expect(res.status).toBe(200);
    expect(logSpy).not.toHaveBeenCalled();
  });
});

describe('isNonPublicHost', () => {
  it.each([
    ['127.0.0.1', true],
    ['10.0.0.1', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['[::1]', true],
    ['[::]', true],
    ['[fd12:3456::1]', true],
    ['[fe80::1]', true],
    ['[::ffff:7f00:1]', true],
    ['localhost', true],
    ['api.localhost', true],
    ['origin.internal', true],
    ['nas.local', true],
    ['origin', true],
    ['172.32.0.1', false],
    ['8.8.8.8', false],
    ['[2606:4700::1111]', false],
    ['[fc::1]', false],
    ['origin.example.com', false],
  ])('%s → %s', (host, expected) => {
    expect(isNonPublicHost(host)).toBe(expected);
  });

  it('judges the host as the URL parser normalizes it (0x7f.1 is 127.0.0.1)', () => {
    expect(isNonPublicHost(new URL('https://0x7f.1/').hostname)).toBe(true);
    expect(isNonPublicHost(new URL('https://2130706433/').hostname)).toBe(true);
  });
});

describe('library mode: stepgate() inside an app of its own', () => {
  it('refuses the same development settings: 503 from the middleware, the app handler never runs', async () => {
    const { Hono } = await import('hono');
    const { stepgate } = await import('../../edge/middleware');
    const policy = (await import('../../edge/config/policy.json')).default;
    let handled = 0;
    const app = new Hono<{ Bindings: Env }>();
    app.use(stepgate({ policy, identity: env.IDENTITY }));
    app.all('*', (c) => {
      handled++;
      return c.text('app');
    });
    const call = (e: Env) => app.fetch(new Request('https://app.example.com/api/projects'), e, createExecutionContext());
    const bad = await call({ ...production, ORIGIN_URL: undefined, BOOTSTRAP_OWNER: 'alice' });
    expect(bad.status).toBe(503);
    expect(((await bad.json()) as { code: string }).code).toBe('ERR_GATEWAY_MISCONFIGURED');
    expect(logSpy.mock.calls.flat().join(' ')).toMatch(/BOOTSTRAP_OWNER: "alice" is a name from the demo/);
    expect(handled).toBe(0);
    const good = await call({ ...production, ORIGIN_URL: undefined });
    expect(good.status).toBe(200);
    expect(handled).toBe(1);
  });
});
