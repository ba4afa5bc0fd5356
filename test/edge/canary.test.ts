/**
 * A policy canary on the request path (issue 13, item 4), in workerd with real D1 and Durable
 * Objects: a new version enforces for a stable share of people and the version before for the
 * rest; the share is right over 1,000 people; nobody identified is never let through because the
 * other version would have; and a request both versions decide alike goes on exactly as without
 * a canary (no identity look-up, no body read).
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseKeyring } from '../../edge/crypto/keyring';
import { canaryBucket } from '../../edge/request-path/canary-policy';
import { sessionCookie } from '../support/session';
import { canaryGateway, type PassedThrough } from './canary-harness';

const ring = parseKeyring(env.STEPGATE_KEYS);
const APP = 'canary-app';
const session = { factors: ['totp'], bind: 'session' } as const;
const deleteRule = {
  id: 'delete-project',
  match: { methods: ['DELETE'], path: '/api/projects/*' },
  require: { factors: ['totp'], bind: 'action' },
};

/** The version before the canary. */
const base = {
  version: 1,
  rules: [
    deleteRule,
    { id: 'export-v1', match: { methods: ['GET'], path: '/api/export' }, require: { ...session, maxAge: '5m' } },
    { id: 'reports-old', match: { methods: ['GET'], path: '/api/reports' }, require: session },
  ],
};
/** The canary: the delete rule unchanged, export tightened under a new id, reports renamed, two routes newly protected. */
const active = {
  version: 1,
  rules: [
    deleteRule,
    { id: 'export-v2', match: { methods: ['GET'], path: '/api/export' }, require: { ...session, maxAge: '1m' } },
    { id: 'reports', match: { methods: ['GET'], path: '/api/reports' }, require: session },
    { id: 'billing', match: { methods: ['GET'], path: '/api/billing' }, require: session },
    { id: 'archive', match: { methods: ['DELETE'], path: '/api/archive/*' }, require: { factors: ['totp'], bind: 'action' } },
  ],
};

const inCanary = async (person: string, percent: number, app = APP) => (await canaryBucket(ring, app, person)) < percent;
const people = (n: number, prefix = 'canary-person') => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
const cookies = new Map<string, string>();
const cookieOf = async (person: string) => {
  const known = cookies.get(person);
  if (known) return known;
  const made = await sessionCookie(person);
  cookies.set(person, made);
  return made;
};

/** A person known to be in the canary at `percent`, and one known to be outside it. */
async function oneEachSide(percent: number): Promise<{ inside: string; outside: string }> {
  let inside: string | undefined;
  let outside: string | undefined;
  for (const p of people(200, 'side')) {
    if (await inCanary(p, percent)) inside ??= p;
    else outside ??= p;
  }
  if (!inside || !outside) throw new Error('no person on one side');
  return { inside, outside };
}

describe('the bucket', () => {
  it('is the same from another keyring instance (another isolate) and independent of the app’s policy versions', async () => {
    const other = parseKeyring(env.STEPGATE_KEYS);
    for (const p of people(50)) {
      const b = await canaryBucket(ring, APP, p);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(100);
      expect(await canaryBucket(other, APP, p)).toBe(b);
    }
  });

  it('differs between apps: another app’s canary buckets people independently', async () => {
    let same = 0;
    for (const p of people(200)) if ((await canaryBucket(ring, APP, p)) === (await canaryBucket(ring, 'other-app', p))) same++;
    expect(same).toBeLessThan(20); // ~2 expected by chance
  });

  it('puts the canary’s share of 1,000 people in the new version (10 %, 50 %, 90 %)', async () => {
    const buckets = await Promise.all(people(1000, 'share').map((p) => canaryBucket(ring, APP, p)));
    for (const percent of [10, 50, 90]) {
      const inside = buckets.filter((b) => b < percent).length;
      // Binomial, n = 1000: 3 standard deviations are at most ±48 people.
      expect(Math.abs(inside - percent * 10)).toBeLessThan(50);
    }
    // Widening never moves anyone out: whoever is in at 10 % is in at 50 %.
    expect(buckets.every((b) => !(b < 10) || b < 50)).toBe(true);
  });
});

describe('a request the two versions decide differently', () => {
  it('is decided by the person’s version, the same on every request and in another gateway instance', async () => {
    const gw = canaryGateway({ appId: APP, active, base, percent: 50 });
    const again = canaryGateway({ appId: APP, active, base, percent: 50 });
    let inside = 0;
    for (const p of people(30)) {
      const expected = (await inCanary(p, 50)) ? 401 : 200;
      if (expected === 401) inside++;
      for (const g of [gw, again, gw]) {
        const res = await g.send('/api/billing', { headers: { cookie: await cookieOf(p) } });
        expect(res.status, p).toBe(expected);
        if (expected === 200) expect(((await res.json()) as PassedThrough).rule).toBeNull();
      }
    }
    expect(inside).toBeGreaterThan(0);
    expect(inside).toBeLessThan(30);
  });

  it('stays the person’s version under concurrent requests', async () => {
    const gw = canaryGateway({ appId: APP, active, base, percent: 50 });
    const { inside, outside } = await oneEachSide(50);
    const sends = [inside, outside, inside, outside].flatMap((p) =>
      Array.from(
        { length: 5 },
        async () => [p, (await gw.send('/api/billing', { headers: { cookie: await cookieOf(p) } })).status] as const,
      ),
    );
    for (const [p, status] of await Promise.all(sends)) expect(status, p).toBe(p === inside ? 401 : 200);
  });

  it('names the deciding version’s rule in its audit events, and asks who is calling once', async () => {
    const { inside, outside } = await oneEachSide(50);
    for (const [person, path, rule] of [
      [inside, '/api/export', 'export-v2'],
      [outside, '/api/export', 'export-v1'],
      [inside, '/api/reports', 'reports'],
      [outside, '/api/reports', 'reports-old'],
    ] as const) {
      const gw = canaryGateway({ appId: APP, active, base, percent: 50 });
      const res = await gw.send(path, { headers: { cookie: await cookieOf(person) } });
      expect(res.status).toBe(401);
      const issued = gw.events.filter((e) => e.type === 'challenge.issued');
      expect(issued).toHaveLength(1);
      expect(issued[0]!.rule).toBe(rule);
      expect(gw.identifyCalls).toBe(1);
    }
  });

  it('each version matches the request canonicalized its own way (case-sensitive paths before, case-folded now)', async () => {
    const { inside, outside } = await oneEachSide(50);
    const gw = canaryGateway({ appId: APP, active, base: { ...base, caseSensitive: true }, percent: 50 });
    expect((await gw.send('/API/Export', { headers: { cookie: await cookieOf(inside) } })).status).toBe(401);
    expect((await gw.send('/API/Export', { headers: { cookie: await cookieOf(outside) } })).status).toBe(200);
    expect((await gw.send('/API/Export')).status).toBe(401);
  });

  it('a person outside the canary gets a body-claimed method the new version protects, with the exact body', async () => {
    const { inside, outside } = await oneEachSide(50);
    const gw = canaryGateway({ appId: APP, active, base, percent: 50 });
    const init = (cookie: string) => ({
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: '_method=DELETE&x=1',
    });
    const out = await gw.send('/api/archive/7', init(await cookieOf(outside)));
    expect(out.status).toBe(200);
    expect(((await out.json()) as PassedThrough).body).toBe('_method=DELETE&x=1');
    expect((await gw.send('/api/archive/7', init(await cookieOf(inside)))).status).toBe(401);
  });
});

describe('nobody identified (fail closed)', () => {
  const forged = 'demo_session=eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.';

  it('is refused when either version protects, whichever way the canary goes, even at 1 %', async () => {
    const canary = canaryGateway({ appId: APP, active, base, percent: 1 });
    // The reverse (a version before that protected more) cannot come from the API, but the request path must not care.
    const reverse = canaryGateway({ appId: APP, active: base, base: active, percent: 99 });
    for (const g of [canary, reverse]) {
      for (const headers of [{}, { cookie: forged }] as Record<string, string>[]) {
        const res = await g.send('/api/billing', { headers });
        expect(res.status).toBe(401);
        const denied = g.events.filter((e) => e.type === 'request.denied');
        expect(denied.at(-1)?.rule).toBe('billing');
      }
    }
  });

  it('is refused for a method only the body claims, in either direction', async () => {
    for (const g of [
      canaryGateway({ appId: APP, active, base, percent: 1 }),
      canaryGateway({ appId: APP, active: base, base: active, percent: 99 }),
    ]) {
      const res = await g.send('/api/archive/7', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: '_method=DELETE',
      });
      expect(res.status).toBe(401);
    }
  });

  it('goes on when neither version protects the route', async () => {
    const gw = canaryGateway({ appId: APP, active, base, percent: 50 });
    const res = await gw.send('/api/archive/7', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'x=1',
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as PassedThrough).body).toBe('x=1');
  });
});

describe('a request both versions decide alike', () => {
  let alice: string;
  beforeAll(async () => {
    alice = await cookieOf('alice');
  });

  it('unprotected: goes on with no identity look-up and no body read, as without a canary', async () => {
    const gw = canaryGateway({ appId: APP, active, base, percent: 50 });
    for (const [path, init] of [
      ['/api/health', {}],
      ['/api/health', { headers: { cookie: alice } }],
      ['/api/notes', { method: 'POST', headers: { cookie: alice, 'content-type': 'application/json' }, body: '{"a":1}' }],
    ] as const) {
      const res = await gw.send(path, init);
      expect(res.status).toBe(200);
      const passed = (await res.json()) as PassedThrough;
      expect(passed).toMatchObject({ rule: null, bodyRead: false });
    }
    expect(gw.identifyCalls).toBe(0);
  });

  it('protected by the same rule: decided once by the active version, whoever asks', async () => {
    const { inside, outside } = await oneEachSide(50);
    for (const person of [inside, outside]) {
      const gw = canaryGateway({ appId: APP, active, base, percent: 50 });
      expect((await gw.send('/api/projects/1', { method: 'DELETE', headers: { cookie: await cookieOf(person) } })).status).toBe(401);
      expect(gw.identifyCalls).toBe(1);
      expect(gw.events.find((e) => e.type === 'challenge.issued')?.rule).toBe('delete-project');
    }
  });
});
