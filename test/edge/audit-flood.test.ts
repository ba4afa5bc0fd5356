/**
 * Anonymous requests cannot grow the audit log without limit (review finding 5): denials with no,
 * an invalid or an ambiguous identity are folded per client and window — the first in full, the
 * rest counted into a `request.denied_summary` that the sequencer's alarm writes when the window
 * closes — and every stored request string is bounded. Signed-in denials stay individual events.
 */
import { createExecutionContext, env, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { auditRequest } from '../../edge/audit/audit-log';
import { DENIAL_CLIENTS, DENIAL_WINDOW_MS, type AuditSequencer } from '../../edge/audit/audit-sequencer';
import { listEvents, verifyTenant } from '../../edge/audit/audit-store';
import { AUDIT_LIMITS, boundInput, truncate } from '../../edge/audit/bounds';
import type { AuditEvent, AuditInput } from '../../edge/audit/events';
import { csvRow, toOcsf } from '../../edge/audit/export-formats';
import { blindIndex } from '../../edge/crypto/blind-index';
import { parseKeyring } from '../../edge/crypto/keyring';
import { canonicalizeRequest } from '../../edge/policy/canonical-request';
import worker from '../../edge/index';

const ring = parseKeyring(env.STEPGATE_KEYS);
const TENANT = 'default';
const sequencer = () => env.AUDIT_SEQUENCER.get(env.AUDIT_SEQUENCER.idFromName(`tenant:${TENANT}`));

/** 32 query names of 300 characters each, and a 4 KB User-Agent: the finding's request shape. */
const LONG_QUERY = Array.from({ length: 32 }, (_, i) => `${String(i).padStart(2, '0')}${'q'.repeat(298)}=1`).join('&');
const LONG_UA = `Flood/1.0 ${'x'.repeat(4096)}`;
const PATH = `/api/projects/1?${LONG_QUERY}`;

/** An anonymous protected request from `ip`, with the finding's long query and User-Agent. */
const deny = (ip: string, extra: Record<string, string> = {}) =>
  new Request(`http://app.test${PATH}`, { method: 'DELETE', headers: { 'cf-connecting-ip': ip, 'user-agent': LONG_UA, ...extra } });

/**
 * Send `n` requests, `c` at a time, straight to the Worker's handler; every one must be refused
 * with 401. Each batch's work after the response (`waitUntil`: the denials) is awaited, so the
 * sequencer has seen every denial when this returns.
 */
async function flood(n: number, c: number, request: (i: number) => Request): Promise<void> {
  for (let i = 0; i < n; i += c) {
    const ctx = createExecutionContext();
    const batch = await Promise.all(Array.from({ length: Math.min(c, n - i) }, (_, j) => worker.fetch(request(i + j) as Request<unknown, IncomingRequestCfProperties>, env as never, ctx)));
    for (const r of batch) {
      expect(r.status).toBe(401);
      await r.body?.cancel();
    }
    await waitOnExecutionContext(ctx);
  }
}

/** Denials counted by the sequencer in windows not yet summarized (0 when it folds nothing). */
const counted = () =>
  runInDurableObject(sequencer(), (_i, state) => {
    try {
      return Number(state.storage.sql.exec('SELECT COALESCE(SUM(denied), 0) AS n FROM denial_counts').one().n);
    } catch {
      return 0;
    }
  });

/** Rows (and their stored bytes) of one client IP, via its blind index. */
async function rowsOf(ip: string): Promise<{ rows: number; bytes: number }> {
  const ref = await blindIndex(ring, 'ip', ip);
  const r = await env.DB.prepare('SELECT COUNT(*) AS rows, COALESCE(SUM(LENGTH(sealed) + LENGTH(hash) + LENGTH(prev_hash) + LENGTH(ip_ref)), 0) AS bytes FROM audit_events WHERE tenant = ? AND ip_ref = ?')
    .bind(TENANT, ref)
    .first<{ rows: number; bytes: number }>();
  return r!;
}

const rowCount = async (): Promise<number> => (await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_events WHERE tenant = ?').bind(TENANT).first<{ n: number }>())!.n;

/** How far the sequencer's denial clock runs ahead; it only ever moves forward, so each test sees its own windows close. */
let skew = 0;
/** Move the sequencer's denial clock past the open window. */
const advance = () => {
  skew += DENIAL_WINDOW_MS + 1;
  const s = skew;
  return runInDurableObject(sequencer(), (instance) => {
    (instance as AuditSequencer).now = () => Date.now() + s;
  });
};
/** Close the open window and run the sequencer's alarm. */
async function closeWindow(): Promise<boolean> {
  await advance();
  return runDurableObjectAlarm(sequencer());
}

const summaries = async (ip?: string): Promise<AuditEvent[]> =>
  (await listEvents(env.DB, ring, TENANT, { types: ['request.denied_summary'], ...(ip ? { ip } : {}) }, { limit: 500, order: 'asc' })).events.map((e) => e.event);

describe('a flood of anonymous protected requests', () => {
  it('500 without a session and 500 with an invalid one, from one client: a few small rows, then a summary with the exact counts', async () => {
    const ip = '203.0.113.50';
    const before = await rowsOf(ip);
    const start = await counted();
    await flood(500, 50, () => deny(ip));
    await flood(500, 50, () => deny(ip, { cookie: 'demo_session=not-a-session' }));

    // Before the window closes: the first denial of each kind, in full, and nothing else.
    const during = await rowsOf(ip);
    expect(during.rows - before.rows).toBeLessThanOrEqual(5);
    expect(during.rows - before.rows).toBe(2);
    expect(during.bytes - before.bytes).toBeLessThan(2 * 2048);
    const full = (await listEvents(env.DB, ring, TENANT, { ip, types: ['request.denied'] }, { limit: 10, order: 'asc' })).events.map((e) => e.event);
    expect(full.map((e) => e.reason)).toEqual(['identity-missing', 'identity-invalid']);
    for (const e of full) {
      expect(e).toMatchObject({ actor: null, via: 'anonymous', rule: 'delete-project', app: 'app.test' });
      // Request metadata stays under 1 KB, and what was cut says so.
      expect(JSON.stringify(e.request).length).toBeLessThan(1024);
      expect(e.request!.user_agent).toMatch(/^Flood\/1\.0 x+…\[truncated \d+ chars\]$/);
      expect(e.request!.user_agent!.length).toBeLessThanOrEqual(AUDIT_LIMITS.userAgent);
      expect(e.request!.query_keys).toHaveLength(AUDIT_LIMITS.queryKeys);
      expect(e.request!.query_keys!.at(-1)).toBe(`…[${32 - (AUDIT_LIMITS.queryKeys - 1)} more]`);
      expect(e.request!.query_keys![0]).toMatch(/^00q+…\[truncated \d+ chars\]$/);
      expect(e.request!.query_sha256).toMatch(/^[\w-]{22}$/);
    }

    // The window closes (the alarm): one summary per kind, with the exact counts.
    expect(await closeWindow()).toBe(true);
    const after = await rowsOf(ip);
    expect(after.rows - before.rows).toBe(4);
    expect(after.bytes - before.bytes).toBeLessThan(4 * 2048);
    const sums = await summaries(ip);
    expect(sums).toHaveLength(2);
    const byReason = Object.fromEntries(sums.map((s) => [s.reason, s]));
    for (const reason of ['identity-missing', 'identity-invalid']) {
      expect(byReason[reason]).toMatchObject({
        type: 'request.denied_summary',
        outcome: 'denied',
        actor: null,
        via: 'anonymous',
        app: 'app.test',
        rule: 'delete-project',
        request: { method: 'DELETE', ip },
        details: { denied: 500, recorded: 1, folded: 499 },
      });
      const d = byReason[reason]!.details!;
      expect(Date.parse(d.window_end as string) - Date.parse(d.window_start as string)).toBe(DENIAL_WINDOW_MS);
    }
    // Nothing is left to fold, and the chain with the summaries in it verifies.
    expect(await counted()).toBe(0);
    const head = await sequencer().currentHead(TENANT);
    expect(await verifyTenant(env.DB, ring, TENANT, head, 1, 5000)).toMatchObject({ ok: true, complete: true });
  }, 60_000);

  it(`300 different clients: ${DENIAL_CLIENTS} recorded in full, the rest in one "other clients" summary`, async () => {
    const rowsBefore = await rowCount();
    const start = await counted();
    const ipOf = (i: number) => `198.18.${i >> 8}.${i & 255}`;
    await flood(300, 50, (i) => deny(ipOf(i)));

    const during = (await rowCount()) - rowsBefore;
    expect(during).toBeLessThanOrEqual(40);
    expect(during).toBeLessThanOrEqual(DENIAL_CLIENTS + 1); // + policy.changed, once per isolate
    expect(await closeWindow()).toBe(true);
    const added = (await rowCount()) - rowsBefore;
    expect(added).toBeLessThanOrEqual(DENIAL_CLIENTS + 2);
    const bytes = (await env.DB.prepare('SELECT SUM(LENGTH(sealed)) AS b FROM (SELECT sealed FROM audit_events WHERE tenant = ? ORDER BY seq DESC LIMIT ?)').bind(TENANT, added).first<{ b: number }>())!.b;
    expect(bytes).toBeLessThan(added * 2048);

    const other = (await summaries()).filter((s) => s.details?.other_clients === true);
    expect(other).toHaveLength(1);
    const folded = 300 - DENIAL_CLIENTS;
    expect(other[0]).toMatchObject({
      type: 'request.denied_summary',
      actor: null,
      via: 'anonymous',
      app: null,
      details: { other_clients: true, clients: folded, denied: folded, recorded: 0, folded, counts: [`identity-missing delete-project ${folded}`] },
    });
    expect(other[0]!.request).toBeUndefined();
    // Each of the first clients had one denial, recorded in full: no summary of its own.
    expect((await summaries(ipOf(0))).length).toBe(0);
    expect((await listEvents(env.DB, ring, TENANT, { ip: ipOf(0), types: ['request.denied'] }, { limit: 10, order: 'asc' })).events).toHaveLength(1);
    expect((await listEvents(env.DB, ring, TENANT, { ip: ipOf(299), types: ['request.denied'] }, { limit: 10, order: 'asc' })).events).toHaveLength(0);
  }, 60_000);

  it('a denial after the window closed starts a new window and brings the summary forward; the summary exports as CSV and OCSF', async () => {
    const ip = '203.0.113.77';
    const start = await counted();
    await flood(3, 3, () => deny(ip));
    // The window is over (the clock moved) when the next denial comes: that one is written in full,
    // in a new window, and the alarm now writes the old window's summary.
    await advance();
    await flood(1, 1, () => deny(ip));
    expect(await runDurableObjectAlarm(sequencer())).toBe(true);
    const sums = await summaries(ip);
    expect(sums).toHaveLength(1);
    expect(sums[0]!.details).toMatchObject({ denied: 3, recorded: 1, folded: 2 });
    expect((await listEvents(env.DB, ring, TENANT, { ip, types: ['request.denied'] }, { limit: 10, order: 'asc' })).events).toHaveLength(2);
    // The new window is still open: its one denial is counted, not yet summarized.
    expect(await counted()).toBe(start + 1);

    const chained = (await listEvents(env.DB, ring, TENANT, { ip, types: ['request.denied_summary'] }, { limit: 1, order: 'asc' })).events[0]!;
    const d = chained.event.details!;
    expect(toOcsf(chained)).toMatchObject({
      class_uid: 6003,
      activity_id: 99,
      type_uid: 600399,
      status_detail: 'identity-missing',
      count: 3,
      start_time: Date.parse(d.window_start as string),
      end_time: Date.parse(d.window_end as string),
      src_endpoint: { ip },
      unmapped: { stepgate_type: 'request.denied_summary', details: { folded: 2 } },
    });
    expect(csvRow(chained)).toContain('request.denied_summary,denied');
  });

  it('a summary that cannot be written stays, and the alarm writes it on a later run', async () => {
    const ip = '203.0.113.88';
    const start = await counted();
    await flood(4, 4, () => deny(ip));
    await env.DB.prepare("CREATE TRIGGER summary_fail BEFORE INSERT ON audit_events WHEN NEW.type = 'request.denied_summary' BEGIN SELECT RAISE(ABORT, 'audit down'); END").run();
    try {
      await advance();
      await expect(runInDurableObject(sequencer(), (instance) => (instance as AuditSequencer).alarm())).rejects.toThrow(/audit down/);
      expect(await summaries(ip)).toHaveLength(0);
      expect(await counted()).toBe(start + 4);
    } finally {
      await env.DB.prepare('DROP TRIGGER summary_fail').run();
    }
    await runInDurableObject(sequencer(), (instance) => (instance as AuditSequencer).alarm());
    expect((await summaries(ip)).map((s) => s.details)).toEqual([expect.objectContaining({ denied: 4, recorded: 1, folded: 3 })]);
    expect(await counted()).toBe(0);
  });
});

describe('signed-in denials', () => {
  it('stay individual events, even on the deferred path', async () => {
    const ip = '203.0.113.99';
    const denial = (reason: string): AuditInput => ({
      type: 'request.denied',
      outcome: 'denied',
      actor: 'ann',
      via: 'session',
      app: 'app.test',
      request: { method: 'DELETE', path: '/api/projects/1', ip, user_agent: 'test' },
      rule: 'delete-project',
      reason,
    });
    const before = await rowsOf(ip);
    for (const reason of ['not-approved', 'prompt-rate-limit', 'denied-by-user', 'not-approved', 'not-approved']) {
      await sequencer().appendLater(TENANT, [denial(reason)]);
    }
    await sequencer().append(TENANT, [denial('prompt-rate-limit')]);
    expect((await rowsOf(ip)).rows - before.rows).toBe(6);
  });
});

describe('stored request data is bounded', () => {
  it('auditRequest keeps one event under 1 KB of request metadata, whatever the request', async () => {
    const url = `https://app.test/${'seg/'.repeat(400)}x?${Array.from({ length: 200 }, (_, i) => `${'%E2%80%AE'.repeat(50)}${i}=v`).join('&')}`;
    const req = new Request(url, { method: 'DELETE', headers: { 'user-agent': 'U'.repeat(10_000), 'cf-connecting-ip': `2001:db8::${'1'.repeat(200)}` } });
    const r = await auditRequest(req, canonicalizeRequest(req.method, req.url, req.headers, { caseSensitive: false, allowPathInfo: false }));
    expect(JSON.stringify(r).length).toBeLessThan(1024);
    expect(r.path.length).toBeLessThanOrEqual(AUDIT_LIMITS.path);
    expect(r.path).toMatch(/…\[truncated \d+ chars\]$/);
    expect(r.ip!.length).toBeLessThanOrEqual(AUDIT_LIMITS.ip);
    expect(r.query_keys).toHaveLength(AUDIT_LIMITS.queryKeys);
    expect(r.query_keys!.every((k) => k.length <= AUDIT_LIMITS.queryKey)).toBe(true);
    // The marker is exact: what is kept plus what was cut is the original length.
    const m = /…\[truncated (\d+) chars\]$/.exec(r.user_agent!)!;
    expect(r.user_agent!.length - m[0].length + Number(m[1])).toBe(10_000);
  });

  it('the sequencer bounds every event it writes, and bounding twice changes nothing', () => {
    const long = 'z'.repeat(5000);
    const input: AuditInput = {
      type: 'request.denied',
      outcome: 'denied',
      actor: 'ann',
      app: long,
      rule: long,
      reason: long,
      request: { method: long, path: long, query_keys: Array.from({ length: 100 }, () => long), query_sha256: 'a'.repeat(22), ip: long, user_agent: long },
      details: { requested_from: long, list: Array.from({ length: 100 }, () => long), n: 5, ok: true, none: null },
    };
    const b = boundInput(input);
    expect(JSON.stringify(b.request).length).toBeLessThan(1024);
    expect(b.app!.length).toBeLessThanOrEqual(AUDIT_LIMITS.app);
    expect(b.rule!.length).toBeLessThanOrEqual(AUDIT_LIMITS.rule);
    expect(b.reason!.length).toBeLessThanOrEqual(AUDIT_LIMITS.reason);
    expect((b.details!.requested_from as string).length).toBeLessThanOrEqual(AUDIT_LIMITS.detailString);
    expect(b.details!.list).toHaveLength(AUDIT_LIMITS.detailList);
    expect(b.details).toMatchObject({ n: 5, ok: true, none: null });
    expect(b.actor).toBe('ann');
    expect(boundInput(b)).toEqual(b);
    expect(truncate('short', 10)).toBe('short');
    expect(truncate('😀'.repeat(100), 40)).not.toMatch(/[\uD800-\uDBFF]…/);
  });
});
