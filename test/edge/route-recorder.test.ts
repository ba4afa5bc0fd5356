/**
 * The route recorder (edge/policy/route-recorder.ts, route-sample-store.ts) against real D1: counts
 * are summed per (app, hour, method, host, path) with no query; the request path only increments a
 * Map and hands at most one flush to `waitUntil` per interval; no client grows memory or D1 beyond
 * 1,000 routes per app and hour, even with isolates writing at once; the cron prunes rows older than 2 h;
 * secret-looking path segments (reset tokens) are masked before anything is counted or stored.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import demoPolicy from '../../edge/config/policy.json';
import { MAX_FLUSH_ROUTES, MAX_PENDING_ROUTES, RouteRecorder, recordRoute, routeRecorder } from '../../edge/policy/route-recorder';
import {
  HOUR_MS,
  MAX_ROUTES_PER_APP_HOUR,
  MAX_SAMPLE_PATH_CHARS,
  pruneRouteSamples,
  routeSamples,
} from '../../edge/policy/route-sample-store';
import { stepgateScheduled } from '../../edge/scheduled';

const rowsOf = async (app: string) =>
  (await env.DB.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(requests), 0) AS requests FROM route_samples WHERE app_id = ?')
    .bind(app)
    .first<{ n: number; requests: number }>())!;

/** A `waitUntil` that keeps what it was handed. */
const collector = () => {
  const handed: Promise<unknown>[] = [];
  return { ec: { waitUntil: (p: Promise<unknown>) => void handed.push(p) }, handed };
};

/** Flush until nothing waits. */
const drain = async (r: RouteRecorder) => {
  while (r.pending > 0) await r.flushNow(env.DB);
};

describe('the route recorder', () => {
  it('counts a route per method, host and path, and flushes once per interval through waitUntil', async () => {
    const { ec, handed } = collector();
    const now = Date.now();
    const rt = { app: { id: 'rec-a' }, db: env.DB, now: () => now };
    for (let i = 0; i < 50; i++) recordRoute(ec, rt, { method: 'GET', hostname: 'a.test', path: '/api/projects' });
    recordRoute(ec, rt, { method: 'POST', hostname: 'a.test', path: '/api/projects' });
    // One flush for 51 requests: the rest only incremented the count.
    expect(handed).toHaveLength(1);
    await Promise.all(handed);
    const samples = await routeSamples(env.DB, 'rec-a', now);
    expect(samples).toEqual([
      { method: 'GET', host: 'a.test', path: '/api/projects', requests: 50 },
      { method: 'POST', host: 'a.test', path: '/api/projects', requests: 1 },
    ]);
    expect(routeRecorder.pending).toBe(0);
  });

  it('hands a flush to waitUntil only when the interval has passed and none is running', async () => {
    const r = new RouteRecorder(50);
    const { ec, handed } = collector();
    const now = Date.now();
    const hit = (path: string) => {
      r.add('rec-interval', 'GET', 'i.test', path, now);
      r.flushSoon(ec, env.DB);
    };
    hit('/a');
    hit('/b'); // a flush runs: nothing more is handed
    expect(handed).toHaveLength(1);
    await Promise.all(handed);
    expect(r.pending).toBe(0); // both went into that flush
    hit('/c'); // within the interval: waits
    expect(handed).toHaveLength(1);
    expect(r.pending).toBe(1);
    await new Promise((res) => setTimeout(res, 60));
    hit('/d');
    expect(handed).toHaveLength(2);
    await Promise.all(handed);
    expect((await routeSamples(env.DB, 'rec-interval', now)).map((x) => x.path).sort()).toEqual(['/a', '/b', '/c', '/d']);
  });

  it('never throws nor waits on the request path, even when D1 fails', async () => {
    const { ec, handed } = collector();
    const broken = { batch: () => Promise.reject(new Error('D1 down')) } as unknown as D1Database;
    const r = new RouteRecorder(0);
    r.add('rec-broken', 'GET', 'b.test', '/x', Date.now());
    r.flushSoon(ec, broken);
    expect(handed).toHaveLength(1);
    await expect(Promise.all(handed)).resolves.toBeDefined(); // the flush logs and drops
    expect(r.pending).toBe(0);
    const rt = { app: { id: 'rec-broken' }, db: broken, now: Date.now };
    expect(recordRoute(ec, rt, { method: 'GET', hostname: 'b.test', path: '/x' })).toBeUndefined();
    // Without an execution context (outside a Worker request) nothing is scheduled and nothing fails.
    expect(() =>
      recordRoute(undefined, { app: { id: 'rec-none' }, db: env.DB, now: Date.now }, { method: 'GET', hostname: 'b.test', path: '/y' }),
    ).not.toThrow();
  });

  it(`keeps at most ${MAX_ROUTES_PER_APP_HOUR} routes per app and hour in memory, across flushes; known routes still count`, async () => {
    const r = new RouteRecorder(0);
    const now = Date.now();
    let counted = 0;
    for (let i = 0; i < MAX_ROUTES_PER_APP_HOUR + 300; i++) {
      if (r.add('rec-cap', 'GET', 'c.test', `/item/${i}`, now)) counted++;
      if (r.pending >= MAX_FLUSH_ROUTES) await r.flushNow(env.DB);
    }
    expect(counted).toBe(MAX_ROUTES_PER_APP_HOUR);
    expect(r.add('rec-cap', 'GET', 'c.test', '/item/0', now)).toBe(true); // already known: counted
    expect(r.add('rec-cap-other', 'GET', 'c.test', '/item/0', now)).toBe(true); // another app has its own budget
    await drain(r);
    expect(await rowsOf('rec-cap')).toEqual({ n: MAX_ROUTES_PER_APP_HOUR, requests: MAX_ROUTES_PER_APP_HOUR + 1 });
    // The next hour starts a new budget; a row of the hour before still waiting is written too.
    expect(r.add('rec-cap', 'GET', 'c.test', '/item/0', now)).toBe(true);
    expect(r.add('rec-cap', 'GET', 'c.test', '/item/5000', now + HOUR_MS)).toBe(true);
    await drain(r);
    expect(await rowsOf('rec-cap')).toEqual({ n: MAX_ROUTES_PER_APP_HOUR + 1, requests: MAX_ROUTES_PER_APP_HOUR + 3 });
  });

  it(`holds at most ${MAX_PENDING_ROUTES} routes between flushes over all apps, and skips paths too long to replay`, () => {
    const r = new RouteRecorder();
    const now = Date.now();
    for (let a = 0; a < 5; a++) for (let i = 0; i < 600; i++) r.add(`rec-mem-${a}`, 'GET', 'd.test', `/p/${i}`, now);
    expect(r.pending).toBe(MAX_PENDING_ROUTES);
    expect(r.add('rec-long', 'GET', 'd.test', `/${'x'.repeat(MAX_SAMPLE_PATH_CHARS)}`, now)).toBe(false);
  });

  it(`keeps at most ${MAX_ROUTES_PER_APP_HOUR} rows per app and hour in D1, with isolates flushing at once`, async () => {
    const now = Date.now();
    const isolates = Array.from({ length: 3 }, () => new RouteRecorder(0));
    // Each isolate saw 400 routes of its own and one shared route: 1,201 distinct routes in all.
    isolates.forEach((r, k) => {
      for (let i = 0; i < 400; i++) r.add('rec-race', 'GET', 'e.test', `/i${k}/${i}`, now);
      r.add('rec-race', 'GET', 'e.test', '/shared', now);
    });
    await Promise.all(isolates.map(drain));
    const stored = await rowsOf('rec-race');
    expect(stored.n).toBe(MAX_ROUTES_PER_APP_HOUR);
    // Once full, a known route still counts in D1.
    const late = new RouteRecorder(0);
    const known = (await env.DB.prepare('SELECT path FROM route_samples WHERE app_id = ? LIMIT 1')
      .bind('rec-race')
      .first<{ path: string }>())!.path;
    late.add('rec-race', 'GET', 'e.test', known, now);
    late.add('rec-race', 'GET', 'e.test', '/one-too-many', now);
    await drain(late);
    const after = await rowsOf('rec-race');
    expect(after).toEqual({ n: MAX_ROUTES_PER_APP_HOUR, requests: stored.requests + 1 });
  });

  it('the cron prunes rows whose hour started more than 2 hours ago, and replay reads from the previous hour', async () => {
    const now = Date.now();
    const hour = now - (now % HOUR_MS);
    for (const h of [hour, hour - HOUR_MS, hour - 2 * HOUR_MS, hour - 3 * HOUR_MS]) {
      await env.DB.prepare(
        "INSERT INTO route_samples (app_id, hour, method, host, path, requests) VALUES ('rec-prune', ?, 'GET', 'f.test', ?, 1)",
      )
        .bind(h, `/h${(hour - h) / HOUR_MS}`)
        .run();
    }
    expect((await routeSamples(env.DB, 'rec-prune', now - HOUR_MS)).map((s) => s.path).sort()).toEqual(['/h0', '/h1']);
    await stepgateScheduled(env, { policy: demoPolicy, now: () => now });
    expect(await pruneRouteSamples(env.DB, now)).toBe(0); // the cron did it
    const left = await env.DB.prepare("SELECT path FROM route_samples WHERE app_id = 'rec-prune' ORDER BY path").all<{ path: string }>();
    // hour - 2 h started more than 2 hours before `now` (unless now is exactly on the hour).
    expect(left.results.map((r) => r.path)).toEqual(now === hour ? ['/h0', '/h1', '/h2'] : ['/h0', '/h1']);
  });

  it('masks secret-looking segments before counting: tokens reach neither memory nor D1, and many tokens are one route', async () => {
    const { ec, handed } = collector();
    const now = Date.now();
    const rt = { app: { id: 'rec-mask' }, db: env.DB, now: () => now };
    const tokens = Array.from({ length: MAX_ROUTES_PER_APP_HOUR + 5 }, (_, i) => `Zq8fXq0pL2mN7vB4-${i}`);
    for (const t of tokens) recordRoute(ec, rt, { method: 'GET', hostname: 'm.test', path: `/reset/${t}` });
    recordRoute(ec, rt, { method: 'GET', hostname: 'm.test', path: '/api/projects/7' });
    await Promise.all(handed);
    await drain(routeRecorder);
    expect(await routeSamples(env.DB, 'rec-mask', now)).toEqual([
      { method: 'GET', host: 'm.test', path: '/reset/*', requests: tokens.length },
      { method: 'GET', host: 'm.test', path: '/api/projects/7', requests: 1 },
    ]);
    const raw = await env.DB.prepare("SELECT path FROM route_samples WHERE app_id = 'rec-mask'").all<{ path: string }>();
    expect(raw.results.some((r) => r.path.includes('Zq8f'))).toBe(false);
  });

  it('masks rows stored before masking existed as they are read, summed into their route', async () => {
    const hour = Date.now() - (Date.now() % HOUR_MS);
    await env.DB.prepare(
      "INSERT INTO route_samples (app_id, hour, method, host, path, requests) VALUES ('rec-legacy', ?1, 'GET', 'l.test', ?2, 2), " +
        "('rec-legacy', ?1, 'GET', 'l.test', ?3, 2), ('rec-legacy', ?1, 'GET', 'l.test', '/a', 3)",
    )
      .bind(hour, '/magic/AbCdEfGh12345678', '/magic/550e8400-e29b-41d4-a716-446655440000')
      .run();
    expect(await routeSamples(env.DB, 'rec-legacy', Date.now())).toEqual([
      { method: 'GET', host: 'l.test', path: '/magic/*', requests: 4 },
      { method: 'GET', host: 'l.test', path: '/a', requests: 3 },
    ]);
  });
});
