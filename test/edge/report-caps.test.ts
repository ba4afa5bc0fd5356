/**
 * Report-only counts cannot grow without bound (real D1): a flood of distinct routes fills at most
 * MAX_KEYS_PER_APP_HOUR keys per app and hour — in one isolate's memory and in D1, also when several
 * isolates flush at once — and what is beyond is counted as dropped, not lost silently. Old counts
 * are pruned by the cron's call.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import demoPolicy from '../../edge/config/policy.json';
import { parseKeyring } from '../../edge/crypto/keyring';
import { HOUR_MS, MAX_FLUSH_KEYS, ReportCounter } from '../../edge/policy/report-counter';
import { stepgateScheduled } from '../../edge/scheduled';
import { MAX_KEYS_PER_APP_HOUR, pruneReportCounts, REPORT_RETENTION_DAYS, reportSummary } from '../../edge/policy/report-store';

const ring = parseKeyring(env.STEPGATE_KEYS);

const stored = async (app: string) =>
  (await env.DB.prepare('SELECT COUNT(*) AS keys, COALESCE(SUM(requests), 0) AS requests FROM policy_report_counts WHERE app_id = ?')
    .bind(app)
    .first<{ keys: number; requests: number }>())!;
const dropped = async (app: string) =>
  (await env.DB.prepare('SELECT COALESCE(SUM(requests), 0) AS n FROM policy_report_dropped WHERE app_id = ?')
    .bind(app)
    .first<{ n: number }>())!.n;

/** Flush everything a counter holds (MAX_FLUSH_KEYS per flush). */
const drain = async (c: ReportCounter) => {
  while (c.pending > 0) await c.flushNow(env.DB);
};

const flood = (c: ReportCounter, app: string, n: number, now: number, prefix = 'r') => {
  for (let i = 0; i < n; i++) c.add({ appId: app, ruleId: 'try', route: `GET /${prefix}/${i}`, person: '', now });
};

describe('caps under a flood of distinct routes', () => {
  it('one isolate keeps at most MAX_KEYS_PER_APP_HOUR keys per app and hour; the rest are counted as dropped', async () => {
    const c = new ReportCounter(0);
    const now = Date.now();
    flood(c, 'cap-one', MAX_KEYS_PER_APP_HOUR + 250, now);
    // Known keys still count when the app is full: no new key, no drop.
    c.add({ appId: 'cap-one', ruleId: 'try', route: 'GET /r/0', person: '', now });
    await drain(c);
    expect(await stored('cap-one')).toEqual({ keys: MAX_KEYS_PER_APP_HOUR, requests: MAX_KEYS_PER_APP_HOUR + 1 });
    expect(await dropped('cap-one')).toBe(250);
    const s = await reportSummary(env.DB, ring, 'cap-one', { sinceMs: now });
    expect(s.dropped).toBe(250);
    expect(s.rules[0]!.topRoutes).toHaveLength(10);
    expect(s.rules[0]!.topRoutes[0]).toEqual({ route: 'GET /r/0', requests: 2 });
    // Another app has its own budget.
    flood(c, 'cap-other', 3, now);
    await drain(c);
    expect(await stored('cap-other')).toEqual({ keys: 3, requests: 3 });
  });

  it('a flush writes at most MAX_FLUSH_KEYS keys; the rest wait for the next one', async () => {
    const c = new ReportCounter(0);
    flood(c, 'cap-flush', MAX_FLUSH_KEYS + 5, Date.now());
    await c.flushNow(env.DB);
    expect((await stored('cap-flush')).keys).toBe(MAX_FLUSH_KEYS);
    expect(c.pending).toBe(5);
    await c.flushNow(env.DB);
    expect((await stored('cap-flush')).keys).toBe(MAX_FLUSH_KEYS + 5);
  });

  it('several isolates flushing at once cannot pass the cap in D1 together', async () => {
    const now = Date.now();
    const isolates = Array.from({ length: 4 }, (_, i) => {
      const c = new ReportCounter(0);
      flood(c, 'cap-race', 400, now, `i${i}`); // 1,600 distinct keys in all, 400 per isolate (under each one's own cap)
      return c;
    });
    // Each drains in turns of MAX_FLUSH_KEYS; the four run concurrently.
    await Promise.all(isolates.map(drain));
    const s = await stored('cap-race');
    expect(s.keys).toBe(MAX_KEYS_PER_APP_HOUR);
    expect(s.requests + (await dropped('cap-race'))).toBe(1_600);
  });

  it('a new hour starts a new budget', async () => {
    const c = new ReportCounter(0);
    const now = Date.now();
    flood(c, 'cap-hours', MAX_KEYS_PER_APP_HOUR + 1, now - HOUR_MS);
    await drain(c);
    flood(c, 'cap-hours', 5, now);
    await drain(c);
    expect(await stored('cap-hours')).toEqual({ keys: MAX_KEYS_PER_APP_HOUR + 5, requests: MAX_KEYS_PER_APP_HOUR + 5 });
    expect(await dropped('cap-hours')).toBe(1);
  });
});

describe('retention', () => {
  it(`the cron deletes counts and drops older than ${REPORT_RETENTION_DAYS} days and keeps the rest`, async () => {
    const c = new ReportCounter(0);
    const now = Date.now();
    const old = now - (REPORT_RETENTION_DAYS * 24 + 2) * HOUR_MS;
    flood(c, 'prune', 2, old);
    flood(c, 'prune', 3, now);
    await drain(c);
    await env.DB.prepare('INSERT INTO policy_report_dropped (app_id, hour, requests) VALUES (?, ?, 9)')
      .bind('prune', old - (old % HOUR_MS))
      .run();
    await stepgateScheduled(env, { policy: demoPolicy, now: () => now });
    expect(await pruneReportCounts(env.DB, now)).toBe(0); // nothing left to prune: the cron did it
    expect(await stored('prune')).toEqual({ keys: 3, requests: 3 });
    expect(await dropped('prune')).toBe(0);
  });
});
