/**
 * One gateway, many apps (issue 12): the bundled app (policy.json with `hosts`, IDENTITY,
 * ORIGIN_URL) and apps inserted straight into D1 (apps, app_hosts, app_policies), each served by
 * host with its own policy, identity source and origin; people keyed by organisation. Real D1,
 * real Durable Objects, the real demo origin and JWKS server on loopback.
 */
import { createExecutionContext, env, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { importJWK, SignJWT } from 'jose';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import demoPolicy from '../../edge/config/policy.json';
import { createGateway } from '../../edge/gateway';
import { FaultSwitch, faultyD1 } from '../support/fault-bindings';
import { sessionCookie } from '../support/session';

const origin = inject('originUrl');
const jwksUrl = `${inject('jwksUrl')}/jwks.json`;

const logs: string[] = [];
const errorSpy = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void logs.push(args.map(String).join(' ')));
afterAll(() => errorSpy.mockRestore());

/** The bundled app claims app.test only, so other hosts are the registry's (or 421). */
const bundledPolicy = { ...demoPolicy, hosts: ['app.test'] };

/** b.example's own policy: a rule the bundled policy does not have, and none of its rules. */
const policyB = {
  version: 1,
  rules: [
    {
      id: 'b-reports',
      match: { methods: ['GET'], path: '/api/b-reports' },
      require: { factors: ['totp'], bind: 'session', maxAge: '5m' },
    },
    {
      id: 'b-delete',
      match: { methods: ['DELETE'], path: '/api/projects/*' },
      require: { factors: ['totp'], bind: 'action' },
    },
  ],
};
/** b.example's identity: ES256 sessions from its own issuer (the test JWKS server), in its own cookie. */
const identityB = { source: 'jwt', cookie: 'b_session', jwksUrl, issuer: 'b-idp', audience: 'b-app' };

const now = () => Date.now();

async function insertOrg(id: string): Promise<void> {
  await env.DB.prepare('INSERT OR IGNORE INTO orgs (id, name, created_at) VALUES (?, ?, ?)').bind(id, id, now()).run();
}
async function insertApp(app: {
  id: string;
  org: string;
  hosts: string[];
  identity: unknown;
  policy?: unknown;
  originUrl?: string | null;
}): Promise<void> {
  const t = now();
  await env.DB.batch([
    env.DB.prepare(
      'INSERT OR REPLACE INTO apps (id, org_id, name, origin_url, identity_json, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ).bind(app.id, app.org, app.id, app.originUrl === undefined ? origin : app.originUrl, JSON.stringify(app.identity), t, t),
    ...app.hosts.map((h) => env.DB.prepare('INSERT OR REPLACE INTO app_hosts (host, app_id) VALUES (?, ?)').bind(h, app.id)),
    ...(app.policy === undefined
      ? []
      : [
          env.DB.prepare('INSERT OR REPLACE INTO app_policies (app_id, document_json, hash, updated_at) VALUES (?, ?, ?, ?)').bind(
            app.id,
            typeof app.policy === 'string' ? app.policy : JSON.stringify(app.policy),
            `hash-${app.id}`,
            t,
          ),
        ]),
  ]);
}

/** A b_session cookie: an ES256 JWT of b-idp for `user` in session `sid`. */
async function bSession(user: string, sid: string): Promise<string> {
  const key = await importJWK(inject('jwksPrivateJwk'), 'ES256');
  const jwt = await new SignJWT({ sid })
    .setProtectedHeader({ alg: 'ES256', kid: 'test-key-1' })
    .setSubject(user)
    .setIssuer('b-idp')
    .setAudience('b-app')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(key);
  return `b_session=${jwt}`;
}

/** What the demo origin received whose URL carries `marker`. */
const originSaw = async (marker: string) =>
  ((await (await fetch(`${origin}/__demo/requests`)).json()) as { method: string; url: string; headers: Record<string, string> }[]).filter(
    (r) => r.url.includes(marker),
  );

/** A gateway over `e` with a clock the test moves. */
function gatewayWithClock(e: typeof env = env) {
  let offset = 0;
  const g = createGateway(e, bundledPolicy, { now: () => Date.now() + offset });
  const send = async (url: string, init: RequestInit = {}): Promise<Response> => {
    const ctx = createExecutionContext();
    const res = await g.fetch(new Request(url, init), e, ctx);
    await waitOnExecutionContext(ctx); // the registry's background refresh, events written after the answer
    return res;
  };
  const advance = (ms: number): void => {
    offset += ms;
  };
  return { send, advance };
}

/** The problem+json body of a Stepgate answer; {} for an origin's answer that is not JSON. */
const codeOf = async (res: Response): Promise<{ code?: string; challenge_id?: string }> => {
  try {
    return JSON.parse(await res.clone().text()) as { code?: string; challenge_id?: string };
  } catch {
    return {};
  }
};

beforeAll(async () => {
  await insertOrg('acme');
  await insertOrg('globex');
  await insertApp({ id: 'app-b', org: 'acme', hosts: ['b.example'], identity: identityB, policy: policyB });
  // Another organisation with the very same identity configuration: the same token names "alice" there too.
  await insertApp({ id: 'app-c', org: 'globex', hosts: ['c.example'], identity: identityB, policy: policyB });
  // Invalid rows: a jwt source without a JWKS (it would verify with the bundled app's secret), and a policy that is not one.
  await insertApp({ id: 'app-bad', org: 'acme', hosts: ['bad.example'], identity: { ...identityB, jwksUrl: undefined }, policy: policyB });
  await insertApp({
    id: 'app-badpolicy',
    org: 'acme',
    hosts: ['badpolicy.example'],
    identity: identityB,
    policy: { version: 1, rules: [{}] },
  });
  // A PHP front controller: PATH_INFO allowed, and its rule matched through it.
  await insertApp({
    id: 'app-php',
    org: 'acme',
    hosts: ['php.example'],
    identity: identityB,
    policy: { ...policyB, allowPathInfo: true, rules: [{ ...policyB.rules[0]!, id: 'php-admin', match: { path: '/index.php/admin/**' } }] },
  });
  // An app without a policy row: served, protects nothing.
  await insertApp({ id: 'app-open', org: 'acme', hosts: ['open.example'], identity: { source: 'dev' } });
});

const gw = gatewayWithClock();

describe('apps by host', () => {
  it('b.example is protected by its own policy and identified by its own identity source', async () => {
    const cookie = await bSession('alice', 'b-s1');
    // Its own rule: a step-up for a route the bundled policy leaves open.
    const reports = await gw.send('http://b.example/api/b-reports?m=mb1', { headers: { cookie } });
    expect(reports.status).toBe(401);
    expect(await codeOf(reports)).toMatchObject({ code: 'ERR_STEP_UP_REQUIRED', rule: 'b-reports' });
    // Identified by b's source: the bundled app's session is nobody here.
    const bundledSession = await gw.send('http://b.example/api/b-reports?m=mb2', { headers: { cookie: await sessionCookie('alice') } });
    expect(bundledSession.status).toBe(401);
    expect(await codeOf(bundledSession)).toMatchObject({ code: 'ERR_IDENTITY_REQUIRED' });
    // The bundled policy's rules do not apply: POST /admin/… goes through to b's origin.
    const admin = await gw.send('http://b.example/admin/settings?m=mb3', { method: 'POST', body: 'x=1', headers: { cookie } });
    expect(await codeOf(admin)).not.toMatchObject({ code: 'ERR_STEP_UP_REQUIRED' });
    expect(await originSaw('m=mb3')).toHaveLength(1); // forwarded (the demo origin answers for itself)
    expect(await originSaw('m=mb1')).toEqual([]);
  });

  it('the bundled host keeps its behaviour', async () => {
    const cookie = await sessionCookie('alice');
    const admin = await gw.send('http://app.test/admin/settings?m=ma1', { method: 'POST', body: 'x=1', headers: { cookie } });
    expect(admin.status).toBe(401);
    expect(await codeOf(admin)).toMatchObject({ code: 'ERR_STEP_UP_REQUIRED', rule: 'admin-writes' });
    await gw.send('http://app.test/api/b-reports?m=ma2', { headers: { cookie } });
    expect(await originSaw('m=ma2')).toHaveLength(1);
  });

  it("a default-org subject containing '/' is nobody: it could read as another organisation's person", async () => {
    // "globex/carol" would be globex's carol; "nobody-yet/x" an organisation that may exist tomorrow.
    for (const sub of ['globex/carol', 'nobody-yet/x']) {
      const cookie = await sessionCookie(sub);
      const res = await gw.send('http://app.test/admin/settings?m=mslash', { method: 'POST', body: 'x=1', headers: { cookie } });
      expect(res.status).toBe(401);
      expect(await codeOf(res)).toMatchObject({ code: 'ERR_IDENTITY_REQUIRED' });
    }
    expect(await originSaw('m=mslash')).toEqual([]);
  });

  it('without a hosts list in policy.json the bundled app keeps every host: no app in D1 is served (logged)', async () => {
    const everywhere = createGateway(env, demoPolicy);
    const ctx = createExecutionContext();
    const res = await everywhere.fetch(new Request('http://b.example/api/b-reports?m=mnohosts'), env, ctx);
    await waitOnExecutionContext(ctx);
    // The bundled app forwards it (its origin, its rules, none of which covers this path), not app-b.
    expect(res.status).not.toBe(503);
    expect(await originSaw('m=mnohosts')).toHaveLength(1);
    expect(logs.some((l) => l.includes('app "app-b" is not served') && l.includes('the bundled app serves every host'))).toBe(true);
  });

  it('BUNDLED_APP_HOSTS (the demo) names the bundled hosts when policy.json has no list: the others go to apps in D1, or 421', async () => {
    const listed = { ...env, BUNDLED_APP_HOSTS: 'app.test, 127.0.0.1' };
    const send = async (url: string) => {
      const ctx = createExecutionContext();
      const res = await createGateway(listed, demoPolicy).fetch(new Request(url), listed, ctx);
      await waitOnExecutionContext(ctx);
      return res;
    };
    expect((await send('http://app.test/api/projects?m=mbh1')).status).toBe(200);
    expect(await originSaw('m=mbh1')).toHaveLength(1);
    // b.example is app-b's: its own policy (a step-up), not the bundled app's (no rule there).
    expect(await codeOf(await send('http://b.example/api/b-reports?m=mbh2'))).toMatchObject({ code: 'ERR_IDENTITY_REQUIRED' });
    expect(await originSaw('m=mbh2')).toEqual([]);
    const unknown = await send('http://unknown.example/api/projects?m=mbh3');
    expect(unknown.status).toBe(421);
    expect(await originSaw('m=mbh3')).toEqual([]);
  });

  it('an unknown host gets 421 and nothing is forwarded', async () => {
    const res = await gw.send('http://unknown.example/api/projects?m=mu1');
    expect(res.status).toBe(421);
    expect(await codeOf(res)).toMatchObject({ code: 'ERR_AMBIGUOUS_REQUEST' });
    expect(await originSaw('m=mu1')).toEqual([]);
  });

  it("canonicalizes by the host's app: PATH_INFO where its policy allows it, refused elsewhere", async () => {
    const cookie = await bSession('alice', 'php-s1');
    const php = await gw.send('http://php.example/index.php/admin/users?m=mph1', { headers: { cookie } });
    expect(await codeOf(php)).toMatchObject({ code: 'ERR_STEP_UP_REQUIRED', rule: 'php-admin' });
    await gw.send('http://php.example/index.php/home?m=mph2', { headers: { cookie } });
    expect(await originSaw('m=mph2')).toHaveLength(1); // forwarded (the demo origin has no such page)
    for (const host of ['app.test', 'b.example']) {
      const refused = await gw.send(`http://${host}/index.php/home?m=mph3`);
      expect(refused.status).toBe(400);
      expect(await codeOf(refused)).toMatchObject({ code: 'ERR_AMBIGUOUS_REQUEST' });
    }
    expect(await originSaw('m=mph3')).toEqual([]);
    expect(await originSaw('m=mph1')).toEqual([]);
  });

  it('an app without a policy protects nothing', async () => {
    await gw.send('http://open.example/api/projects/3?m=mo1', { method: 'DELETE' });
    expect(await originSaw('m=mo1')).toHaveLength(1); // forwarded unprotected (the demo origin answers for itself)
  });

  it('an invalid app row is 503 for its hosts only, logged with its reason', async () => {
    for (const host of ['bad.example', 'badpolicy.example']) {
      const res = await gw.send(`http://${host}/api/projects?m=mi-${host}`);
      expect(res.status).toBe(503);
      expect(await codeOf(res)).toMatchObject({ code: 'ERR_GATEWAY_MISCONFIGURED' });
      expect(await originSaw(`m=mi-${host}`)).toEqual([]);
    }
    expect(logs.some((l) => l.includes('app "app-bad"') && l.includes('jwksUrl'))).toBe(true);
    expect(logs.some((l) => l.includes('app "app-badpolicy"') && l.includes('policy'))).toBe(true);
    expect((await gw.send('http://b.example/api/projects?m=mi-b')).status).toBe(200);
  });

  it("forwards to the app's own origin, not ORIGIN_URL", async () => {
    const e = { ...env, ORIGIN_URL: 'http://127.0.0.1:9' };
    const other = gatewayWithClock(e);
    expect((await other.send('http://b.example/api/projects?m=mf1')).status).toBe(200);
    expect(await originSaw('m=mf1')).toHaveLength(1);
    expect((await other.send('http://app.test/api/projects?m=mf2')).status).toBe(502);
  });

  it('an app added after the registry loaded is served within the refresh interval', async () => {
    const fresh = gatewayWithClock();
    expect((await fresh.send('http://d.example/api/projects?m=md1')).status).toBe(421);
    await insertApp({ id: 'app-d', org: 'acme', hosts: ['d.example'], identity: identityB, policy: policyB });
    // Within REFRESH_MS: the copy loaded is used without asking D1.
    fresh.advance(4_000);
    expect((await fresh.send('http://d.example/api/projects?m=md2')).status).toBe(421);
    // At REFRESH_MS: answered from the copy, refreshed after the answer; the next request has the app.
    fresh.advance(1_000);
    expect((await fresh.send('http://d.example/api/projects?m=md3')).status).toBe(421);
    expect((await fresh.send('http://d.example/api/projects?m=md4')).status).toBe(200);
    expect(await originSaw('m=md4')).toHaveLength(1);
  });

  it('D1 failing: a refresh that fails keeps the last good copy (one log line); never loaded: 503 for every host', async () => {
    const sw = new FaultSwitch();
    const e = { ...env, DB: faultyD1(env.DB, sw) };
    const onApps = (q: string) => q.includes('FROM app_hosts');
    const loaded = gatewayWithClock(e);
    expect((await loaded.send('http://b.example/api/projects?m=mz1')).status).toBe(200);
    sw.set({ kind: 'reject', message: 'D1_ERROR: fault-injected apps read' }, onApps);
    try {
      const before = logs.length;
      for (let i = 0; i < 3; i++) {
        loaded.advance(10_000);
        expect((await loaded.send(`http://b.example/api/projects?m=mz2-${i}`)).status).toBe(200);
      }
      const lines = logs.slice(before).filter((l) => l.includes('loading the apps from D1 failed'));
      expect(lines).toHaveLength(3); // one line per failed refresh, not per request
      expect(lines[0]).toContain('keeping the last good copy');

      // An isolate whose very first load fails knows no version: 503 everywhere, even on the bundled
      // app's hosts — D1 may hold a version of its policy stricter than policy.json.
      const cold = gatewayWithClock(e);
      expect((await cold.send('http://b.example/api/projects?m=mz3')).status).toBe(503);
      expect((await cold.send('http://app.test/api/projects?m=mz4')).status).toBe(503);
      expect(await originSaw('m=mz3')).toEqual([]);
      expect(await originSaw('m=mz4')).toEqual([]);
      sw.clear();
      // Retried after a second, on the request that finds it due, and served.
      cold.advance(1_000);
      expect((await cold.send('http://b.example/api/projects?m=mz5')).status).toBe(200);
      expect((await cold.send('http://app.test/api/projects?m=mz6')).status).toBe(200);
    } finally {
      sw.clear();
    }
  });

  it("a host the bundled policy names stays the bundled app's when an app in D1 claims it too (logged)", async () => {
    await insertApp({ id: 'app-thief', org: 'acme', hosts: ['app.test'], identity: identityB, policy: policyB });
    try {
      const conflicted = gatewayWithClock();
      const res = await conflicted.send('http://app.test/api/projects?m=mc1');
      expect(res.status).toBe(200);
      expect(await originSaw('m=mc1')).toHaveLength(1);
      expect(logs.some((l) => l.includes('"app.test"') && l.includes('app-thief'))).toBe(true);
      expect((await conflicted.send('http://b.example/api/projects?m=mc2')).status).toBe(200);
    } finally {
      await env.DB.prepare("DELETE FROM apps WHERE id = 'app-thief'").run();
    }
  });
});

describe('people by organisation', () => {
  it('the same subject in two organisations has two separate states', async () => {
    const cookie = await bSession('alice', 'shared-session');
    const opened = await gw.send('http://b.example/api/projects/5?m=mp1', { method: 'DELETE', headers: { cookie } });
    expect(opened.status).toBe(401);
    const { challenge_id: id } = await codeOf(opened);
    expect(id).toMatch(/^[\w-]{22}$/);
    // Same token, same session handle, same "alice": visible in acme only.
    expect((await gw.send(`http://b.example/.stepgate/api/challenges/${id}`, { headers: { cookie } })).status).toBe(200);
    expect((await gw.send(`http://c.example/.stepgate/api/challenges/${id}`, { headers: { cookie } })).status).toBe(404);
    const listed = (await (await gw.send('http://c.example/.stepgate/api/challenges', { headers: { cookie } })).json()) as {
      challenges: unknown[];
    };
    expect(listed.challenges).toEqual([]);
    const count = (sub: string) =>
      runInDurableObject(env.USER_STATE.get(env.USER_STATE.idFromName(`user:${sub}`)), (_s, state) =>
        Number(state.storage.sql.exec('SELECT count(*) AS n FROM challenges WHERE id = ?', id).one().n),
      );
    expect(await count('acme/alice')).toBe(1);
    expect(await count('globex/alice')).toBe(0);
    expect(await count('alice')).toBe(0);
  });

  it("the origin's assertion names the app's own subject; factors are the organisation's", async () => {
    const cookie = await bSession('carol', 'carol-b');
    const post = (path: string, body: unknown) =>
      gw.send(`http://b.example${path}`, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { cookie, origin: 'http://b.example', 'content-type': 'application/json' },
      });
    const start = (await (await post('/.stepgate/api/factors/totp', {})).json()) as { id: string; secret: string };
    const t = Math.floor(Date.now() / 1000);
    const confirm = await post(`/.stepgate/api/factors/totp/${start.id}/confirm`, {
      code: await generate({ secret: start.secret, epoch: t - 30 }),
    });
    expect(confirm.status).toBe(200);

    const path = '/api/projects/88?m=mas1';
    const opened = await gw.send(`http://b.example${path}`, { method: 'DELETE', headers: { cookie } });
    const { challenge_id: id } = await codeOf(opened);
    const verified = await post(`/.stepgate/api/challenges/${id}/verify`, {
      method: 'totp',
      code: await generate({ secret: start.secret, epoch: t }),
    });
    expect(verified.status).toBe(200);
    await gw.send(`http://b.example${path}`, { method: 'DELETE', headers: { cookie } });
    const [seen] = await originSaw('m=mas1');
    expect(seen?.headers['stepgate-assertion']).toBeDefined();
    const claims = JSON.parse(atob(seen!.headers['stepgate-assertion']!.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as Record<
      string,
      unknown
    >;
    expect(claims).toMatchObject({ sub: 'carol', aud: 'b.example', rule: 'b-delete' });

    // carol of globex (the same token at c.example) has no factor: acme's is not hers.
    const other = await gw.send('http://c.example/.stepgate/api/factors', { headers: { cookie } });
    const factors = (await other.json()) as { factors?: unknown[] };
    expect(other.status).toBe(200);
    expect(factors.factors ?? []).toEqual([]);
  });
});
