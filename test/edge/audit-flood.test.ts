/**
 * Nobody can grow the audit log one row per request with requests that forward nothing (review
 * finding 5, and the review of its fix). Denials with no, an invalid or an ambiguous identity are
 * folded per network (IPv4 /24, IPv6 /64), reason and rule; a signed-in person's refusals by rate,
 * cap or missing approval per person, reason and rule. The first of a window is written in full,
 * the rest counted into a `request.denied_summary` that the sequencer's alarm writes when the
 * window closes; past the table, the first of each reason and rule is still written in full. Every
 * stored request is bounded, in UTF-8 bytes as stored.
 */
import { createExecutionContext, env, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { auditRequest } from '../../edge/audit/audit-log';
import type { AuditSequencer } from '../../edge/audit/audit-sequencer';
import { networkOf } from '../../edge/audit/client-network';
import { DENIAL_CLIENTS, DENIAL_OTHER_SAMPLE, DENIAL_WINDOW_MS } from '../../edge/audit/denial-folding';
import { listEvents, verifyTenant } from '../../edge/audit/audit-store';
import { AUDIT_LIMITS, boundInput, boundRequest, storedBytes, truncate } from '../../edge/audit/bounds';
import type { AuditEvent, AuditInput } from '../../edge/audit/events';
import { csvRow, toOcsf } from '../../edge/audit/export-formats';
import { blindIndex } from '../../edge/crypto/blind-index';
import { parseKeyring } from '../../edge/crypto/keyring';
import { canonicalizeRequest } from '../../edge/policy/canonical-request';
import worker from '../../edge/index';
import { MAX_CHALLENGES_PER_SESSION_PER_MINUTE } from '../../edge/user-state/limits';
import { gw } from '../support/edge-flow';
import { sessionCookie } from '../support/session';
import { refuseAudit } from '../support/audit-faults';

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

/** An anonymous protected request from `ip` with a forged session (identity-invalid). */
const forged = (ip: string, path: string) =>
  new Request(`http://app.test${path}`, {
    method: 'DELETE',
    headers: { 'cf-connecting-ip': ip, cookie: 'demo_session=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.forged' },
  });

/** A signed-in person's refusal, as the edge records it. */
const refusal = (actor: string, reason: string, ip: string): AuditInput => ({
  type: 'request.denied',
  outcome: 'denied',
  actor,
  via: 'session',
  app: 'app.test',
  request: { method: 'DELETE', path: '/api/projects/1', ip, user_agent: 'test' },
  rule: 'delete-project',
  reason,
});

/**
 * Send `n` requests, `c` at a time, straight to the Worker's handler; every one must be refused
 * with 401. Each batch's work after the response (`waitUntil`: the denials) is awaited, so the
 * sequencer has seen every denial when this returns.
 */
async function flood(n: number, c: number, request: (i: number) => Request): Promise<void> {
  for (let i = 0; i < n; i += c) {
    const ctx = createExecutionContext();
    const batch = await Promise.all(
      Array.from({ length: Math.min(c, n - i) }, (_, j) =>
        worker.fetch(request(i + j) as Request<unknown, IncomingRequestCfProperties>, env as never, ctx),
      ),
    );
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
  const r = await env.DB.prepare(
    'SELECT COUNT(*) AS rows, COALESCE(SUM(LENGTH(sealed) + LENGTH(hash) + LENGTH(prev_hash) + LENGTH(ip_ref)), 0) AS bytes ' +
      'FROM audit_events WHERE tenant = ? AND ip_ref = ?',
  )
    .bind(TENANT, ref)
    .first<{ rows: number; bytes: number }>();
  return r!;
}

const rowCount = async (): Promise<number> =>
  (await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_events WHERE tenant = ?').bind(TENANT).first<{ n: number }>())!.n;

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
  (
    await listEvents(env.DB, ring, TENANT, { types: ['request.denied_summary'], ...(ip ? { ip } : {}) }, { limit: 500, order: 'asc' })
  ).events.map((e) => e.event);
/** Events of one type, of one client IP or person. */
const eventsOf = async (filter: { ip?: string; user?: string }, type: 'request.denied' | 'request.denied_summary'): Promise<AuditEvent[]> =>
  (await listEvents(env.DB, ring, TENANT, { types: [type], ...filter }, { limit: 500, order: 'asc' })).events.map((e) => e.event);

describe('a flood of anonymous protected requests', () => {
  it('500 without a session and 500 with an invalid one, from one client: ' +
    'a few small rows, then a summary with the exact counts', async () => {
    const ip = '203.0.113.50';
    const before = await rowsOf(ip);
    await flood(500, 50, () => deny(ip));
    await flood(500, 50, () => deny(ip, { cookie: 'demo_session=not-a-session' }));

    // Before the window closes: the first denial of each kind, in full, and nothing else.
    const during = await rowsOf(ip);
    expect(during.rows - before.rows).toBeLessThanOrEqual(5);
    expect(during.rows - before.rows).toBe(2);
    expect(during.bytes - before.bytes).toBeLessThan(2 * 2048);
    const full = (await listEvents(env.DB, ring, TENANT, { ip, types: ['request.denied'] }, { limit: 10, order: 'asc' })).events.map(
      (e) => e.event,
    );
    expect(full.map((e) => e.reason)).toEqual(['identity-missing', 'identity-invalid']);
    for (const e of full) {
      expect(e).toMatchObject({ actor: null, via: 'anonymous', rule: 'delete-project', app: 'app.test' });
      // Request metadata stays within its bytes as stored, and what was cut says so.
      expect(storedBytes(e.request)).toBeLessThanOrEqual(AUDIT_LIMITS.requestBytes);
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
        details: { network: '203.0.113.0/24', denied: 500, recorded: 1, folded: 499 },
      });
      const d = byReason[reason]!.details!;
      expect(Date.parse(d.window_end as string) - Date.parse(d.window_start as string)).toBe(DENIAL_WINDOW_MS);
    }
    // Nothing is left to fold, and the chain with the summaries in it verifies.
    expect(await counted()).toBe(0);
    const head = await sequencer().currentHead(TENANT);
    expect(await verifyTenant(env.DB, ring, TENANT, head, 1, 5000)).toMatchObject({ ok: true, complete: true });
  }, 60_000);

  it(`300 different networks: ${DENIAL_CLIENTS} recorded in full, ` +
    `then the first of the others, and one "other clients" summary naming a few`, async () => {
    const rowsBefore = await rowCount();
    // One address in each of 300 IPv4 /24s.
    const ipOf = (i: number) => `198.${18 + (i >> 8)}.${i & 255}.9`;
    // The first ones one by one (so which are past the table is known), then 50 at a time.
    const first = DENIAL_CLIENTS + DENIAL_OTHER_SAMPLE;
    await flood(first, 1, (i) => deny(ipOf(i)));
    await flood(300 - first, 50, (i) => deny(ipOf(first + i)));

    const during = (await rowCount()) - rowsBefore;
    expect(during).toBeLessThanOrEqual(DENIAL_CLIENTS + 2); // + the overflow's first, + policy.changed once per isolate
    expect(await closeWindow()).toBe(true);
    const added = (await rowCount()) - rowsBefore;
    expect(added).toBeLessThanOrEqual(DENIAL_CLIENTS + 3);
    const bytes = (await env.DB.prepare(
      'SELECT SUM(LENGTH(sealed)) AS b FROM (SELECT sealed FROM audit_events WHERE tenant = ? ORDER BY seq DESC LIMIT ?)',
    )
      .bind(TENANT, added)
      .first<{ b: number }>())!.b;
    expect(bytes).toBeLessThan(added * 2048);

    const other = (await summaries()).filter((s) => s.details?.other_clients === true);
    expect(other).toHaveLength(1);
    const past = 300 - DENIAL_CLIENTS;
    expect(other[0]).toMatchObject({
      type: 'request.denied_summary',
      actor: null,
      via: 'anonymous',
      app: null,
      details: {
        other_clients: true,
        clients: past,
        denied: past,
        recorded: 1,
        folded: past - 1,
        counts: [`identity-missing delete-project ${past}`],
      },
    });
    // The first networks past the table, by name: a sample, bounded.
    expect(other[0]!.details!.networks).toEqual(Array.from({ length: DENIAL_OTHER_SAMPLE }, (_, i) => networkOf(ipOf(DENIAL_CLIENTS + i))));
    expect(other[0]!.request).toBeUndefined();
    // Each of the first clients had one denial, recorded in full: no summary of its own.
    expect((await summaries(ipOf(0))).length).toBe(0);
    expect(await eventsOf({ ip: ipOf(0) }, 'request.denied')).toHaveLength(1);
    // Past the table, the first denial of its reason and rule is still written in full; later ones are counted.
    expect(await eventsOf({ ip: ipOf(DENIAL_CLIENTS) }, 'request.denied')).toHaveLength(1);
    expect(await eventsOf({ ip: ipOf(299) }, 'request.denied')).toHaveLength(0);
  }, 60_000);

  it(
    'a denial after the window closed starts a new window and brings the summary forward; ' + 'the summary exports as CSV and OCSF',
    async () => {
      const ip = '192.0.2.77';
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
      expect((await listEvents(env.DB, ring, TENANT, { ip, types: ['request.denied'] }, { limit: 10, order: 'asc' })).events).toHaveLength(
        2,
      );
      // The new window is still open: its one denial is counted, not yet summarized.
      expect(await counted()).toBe(start + 1);

      const chained = (await listEvents(env.DB, ring, TENANT, { ip, types: ['request.denied_summary'] }, { limit: 1, order: 'asc' }))
        .events[0]!;
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
    },
  );

  it('a summary that cannot be written stays, and the alarm writes it on a later run', async () => {
    const ip = '198.51.100.88';
    const start = await counted();
    await flood(4, 4, () => deny(ip));
    const fault = await refuseAudit('summary_fail', "NEW.type = 'request.denied_summary'");
    try {
      await advance();
      await expect(runInDurableObject(sequencer(), (instance) => (instance as AuditSequencer).alarm())).rejects.toThrow(/refuses writes/);
      expect(await summaries(ip)).toHaveLength(0);
      expect(await counted()).toBe(start + 4);
    } finally {
      await fault.drop();
    }
    await runInDurableObject(sequencer(), (instance) => (instance as AuditSequencer).alarm());
    expect((await summaries(ip)).map((s) => s.details)).toEqual([expect.objectContaining({ denied: 4, recorded: 1, folded: 3 })]);
    expect(await counted()).toBe(0);
  });

  it(
    `one network is one client: ${DENIAL_CLIENTS} addresses of one IPv6 ` +
      `/64 take one entry, so a probe from elsewhere is still written in full`,
    async () => {
      const rowsBefore = await rowCount();
      // The review's decoys: 32 addresses of one /64, no session (identity-missing), one by one.
      await flood(
        DENIAL_CLIENTS,
        1,
        (i) =>
          new Request(`http://app.test/api/projects/1?d=${i}`, {
            method: 'DELETE',
            headers: { 'cf-connecting-ip': `2001:db8:a77a:c4::${i.toString(16)}` },
          }),
      );
      // Then the real probe: a forged session against another project, from another address, three times.
      await flood(3, 1, () => forged('198.51.100.7', '/api/projects/3?probe=1'));
      expect(await closeWindow()).toBe(true);

      const probe = await eventsOf({ ip: '198.51.100.7' }, 'request.denied');
      expect(probe).toHaveLength(1);
      expect(probe[0]).toMatchObject({
        actor: null,
        reason: 'identity-invalid',
        rule: 'delete-project',
        request: { method: 'DELETE', path: '/api/projects/3', ip: '198.51.100.7' },
      });
      expect((await summaries('198.51.100.7')).map((e) => e.details)).toEqual([
        expect.objectContaining({ network: '198.51.100.0/24', denied: 3, recorded: 1, folded: 2 }),
      ]);
      // The whole /64: its first denial in full, and one summary counting all of them.
      expect(await eventsOf({ ip: '2001:db8:a77a:c4::0' }, 'request.denied')).toHaveLength(1);
      expect((await summaries('2001:db8:a77a:c4::0')).map((e) => e.details)).toEqual([
        expect.objectContaining({ network: '2001:db8:a77a:c4::/64', denied: DENIAL_CLIENTS, recorded: 1, folded: DENIAL_CLIENTS - 1 }),
      ]);
      expect((await rowCount()) - rowsBefore).toBe(4);
    },
  );

  it(
    `past the table, the first denial of each reason and rule is still written in full, ` +
      `and the summary names the first ${DENIAL_OTHER_SAMPLE} networks`,
    async () => {
      // Decoys from 33 different /64s: they fill the table, and the 33rd is the overflow's first identity-missing.
      const decoyIp = (i: number) => `2001:db8:${(0x100 + i).toString(16)}::1`;
      await flood(DENIAL_CLIENTS + 1, 1, (i) => deny(decoyIp(i)));
      // A probe with a forged session, from a network of its own: the overflow's first identity-invalid, in full.
      await flood(2, 1, () => forged('203.0.113.201', '/api/projects/3'));
      // A later identity-missing from another network: only counted (the limit left: many networks can
      // take the table and every reason's first), but its network is named in the summary.
      await flood(1, 1, () => deny('198.51.100.201'));
      expect(await closeWindow()).toBe(true);

      expect(await eventsOf({ ip: decoyIp(DENIAL_CLIENTS) }, 'request.denied')).toHaveLength(1);
      expect(await eventsOf({ ip: '203.0.113.201' }, 'request.denied')).toHaveLength(1);
      expect(await eventsOf({ ip: '198.51.100.201' }, 'request.denied')).toHaveLength(0);
      const other = (await summaries()).filter((e) => e.details?.other_clients === true).at(-1)!;
      expect(other.details).toMatchObject({
        clients: 3,
        networks: ['2001:db8:120:0::/64', '203.0.113.0/24', '198.51.100.0/24'],
        denied: 4,
        recorded: 2,
        folded: 2,
        counts: ['identity-missing delete-project 2', 'identity-invalid delete-project 2'],
      });
    },
  );

  it('networkOf: IPv4 /24, IPv6 /64 however written, an IPv4-mapped address as IPv4; anything else stands for itself', () => {
    expect(networkOf('198.51.100.7')).toBe('198.51.100.0/24');
    expect(networkOf('2001:db8:a77a:c4::1f')).toBe('2001:db8:a77a:c4::/64');
    expect(networkOf('2001:0DB8:A77A:00C4:1:2:3:4')).toBe('2001:db8:a77a:c4::/64');
    expect(networkOf('2001:db8::1.2.3.4')).toBe('2001:db8:0:0::/64');
    expect(networkOf('::ffff:198.51.100.7')).toBe('198.51.100.0/24');
    expect(networkOf('::1')).toBe('0:0:0:0::/64');
    for (const odd of ['not an ip', '1.2.3.256', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::1']) expect(networkOf(odd)).toBe(odd);
    expect(networkOf(null)).toBeNull();
  });
});

describe("a signed-in person's repeated refusals", () => {
  it('60 requests of one session past its challenge limit: ' +
    'the first refusal in full, the rest counted into a summary that names the person', async () => {
    const cookie = await sessionCookie('audit-grower', 'audit-grower-session');
    const ref = await blindIndex(ring, 'user', 'audit-grower');
    const rows = async () =>
      (await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_events WHERE tenant = ? AND actor_ref = ?')
        .bind(TENANT, ref)
        .first<{ n: number }>())!.n;
    const before = await rows();
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) {
      const r = await gw(`/api/projects/${(i % 90) + 1}?m=grow`, {
        method: 'DELETE',
        headers: { cookie, 'cf-connecting-ip': '198.51.100.200' },
      });
      statuses.push(r.status);
      await r.body?.cancel();
    }
    const limited = 60 - MAX_CHALLENGES_PER_SESSION_PER_MINUTE;
    expect(statuses.filter((s) => s === 401)).toHaveLength(MAX_CHALLENGES_PER_SESSION_PER_MINUTE);
    expect(statuses.filter((s) => s === 429)).toHaveLength(limited);
    // The challenges, and the first refusal in full (accounted for before its 429); the rest counted.
    expect((await rows()) - before).toBe(MAX_CHALLENGES_PER_SESSION_PER_MINUTE + 1);
    const full = await eventsOf({ user: 'audit-grower' }, 'request.denied');
    expect(full).toHaveLength(1);
    expect(full[0]).toMatchObject({
      actor: 'audit-grower',
      via: 'session',
      reason: 'challenge-rate-limit',
      rule: 'delete-project',
      details: { limit: 'session' },
    });

    expect(await closeWindow()).toBe(true);
    expect((await rows()) - before).toBe(MAX_CHALLENGES_PER_SESSION_PER_MINUTE + 2);
    // Found by the person's blind index, like any event of theirs.
    const sums = await eventsOf({ user: 'audit-grower' }, 'request.denied_summary');
    expect(sums).toHaveLength(1);
    expect(sums[0]).toMatchObject({
      actor: 'audit-grower',
      via: 'session',
      app: 'app.test',
      reason: 'challenge-rate-limit',
      rule: 'delete-project',
      request: { method: 'DELETE', ip: '198.51.100.200' },
      details: { denied: limited, recorded: 1, folded: limited - 1 },
    });
    expect(sums[0]!.details!.network).toBeUndefined();
  }, 60_000);

  it(
    `a table of its own: ${DENIAL_CLIENTS} people, reasons and rules have an entry each; ` +
      `past them, the first of each reason and rule in full, and one summary of the other people`,
    async () => {
      const people = Array.from({ length: DENIAL_CLIENTS + 3 }, (_, i) => `crowd-${i}`);
      // The anonymous table is full of decoys first: it does not take the people's entries.
      await flood(DENIAL_CLIENTS + 1, 1, (i) => deny(`2001:db8:${(0x300 + i).toString(16)}::1`));
      for (const actor of people)
        for (let k = 0; k < 2; k++) await sequencer().appendLater(TENANT, [refusal(actor, 'prompt-rate-limit', '192.0.2.150')]);
      expect(await closeWindow()).toBe(true);

      expect(await eventsOf({ user: 'crowd-0' }, 'request.denied')).toHaveLength(1);
      expect((await eventsOf({ user: 'crowd-0' }, 'request.denied_summary')).map((e) => e.details)).toEqual([
        expect.objectContaining({ denied: 2, recorded: 1, folded: 1 }),
      ]);
      expect(await eventsOf({ user: people[DENIAL_CLIENTS - 1]! }, 'request.denied')).toHaveLength(1);
      // Past the table: the first of the reason and rule in full, then counts only.
      expect(await eventsOf({ user: people[DENIAL_CLIENTS]! }, 'request.denied')).toHaveLength(1);
      expect(await eventsOf({ user: people[DENIAL_CLIENTS + 1]! }, 'request.denied')).toHaveLength(0);
      const other = (await summaries()).filter((e) => e.details?.other_people === true);
      expect(other).toHaveLength(1);
      expect(other[0]).toMatchObject({
        actor: null,
        via: 'session',
        app: null,
        details: {
          other_people: true,
          people: 3,
          actors: people.slice(DENIAL_CLIENTS),
          denied: 6,
          recorded: 1,
          folded: 5,
          counts: ['prompt-rate-limit delete-project 6'],
        },
      });
    },
  );

  it("a person's explicit denial (denied-by-user) stays an event of its own, and append never folds", async () => {
    const ip = '203.0.113.99';
    const before = await rowsOf(ip);
    for (const reason of ['denied-by-user', 'denied-by-user', 'not-approved', 'not-approved', 'not-approved', 'hold-limit']) {
      await sequencer().appendLater(TENANT, [refusal('ann', reason, ip)]);
    }
    await sequencer().append(TENANT, [refusal('ann', 'prompt-rate-limit', ip), refusal('ann', 'prompt-rate-limit', ip)]);
    // denied-by-user twice, the first not-approved and the hold-limit; both appended.
    expect((await rowsOf(ip)).rows - before.rows).toBe(6);
    expect(await closeWindow()).toBe(true);
    expect((await eventsOf({ user: 'ann' }, 'request.denied_summary')).map((e) => [e.reason, e.details?.folded])).toEqual([
      ['not-approved', 2],
    ]);
  });
});

describe('denial tables of the first version', () => {
  it('an open window in tables without the columns added since is summarized, with what this version folded into it', async () => {
    const t = 'legacy-denials';
    const stub = env.AUDIT_SEQUENCER.get(env.AUDIT_SEQUENCER.idFromName(`tenant:${t}`));
    const now = Date.now();
    const request = (ip: string) => ({ method: 'DELETE', path: '/api/projects/1', ip, user_agent: null });
    await runInDurableObject(stub, async (_i, state) => {
      const sql = state.storage.sql;
      sql.exec(
        'CREATE TABLE denial_windows (id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, ' +
          'starts_at INTEGER NOT NULL, ends_at INTEGER NOT NULL, closed INTEGER NOT NULL DEFAULT 0)',
      );
      sql.exec(
        'CREATE TABLE denial_counts (win INTEGER NOT NULL, key TEXT NOT NULL, other INTEGER NOT NULL, reason TEXT, ' +
          'rule TEXT, app TEXT, request TEXT, denied INTEGER NOT NULL, recorded INTEGER NOT NULL, PRIMARY KEY (win, key))',
      );
      sql.exec('CREATE TABLE denial_clients (win INTEGER NOT NULL, ip TEXT NOT NULL, PRIMARY KEY (win, ip))');
      sql.exec('INSERT INTO denial_windows (id, tenant, starts_at, ends_at) VALUES (1, ?, ?, ?)', t, now, now + DENIAL_WINDOW_MS);
      const key = JSON.stringify(['192.0.2.5', 'identity-missing', 'delete-project']);
      sql.exec(
        "INSERT INTO denial_counts VALUES (1, ?, 0, 'identity-missing', 'delete-project', 'app.test', ?, 5, 1)",
        key,
        JSON.stringify(request('192.0.2.5')),
      );
      sql.exec(
        "INSERT INTO denial_counts VALUES (1, ?, 1, 'identity-missing', 'delete-project', NULL, NULL, 7, 0)",
        JSON.stringify(['other', 'identity-missing', 'delete-project']),
      );
      sql.exec("INSERT INTO denial_clients VALUES (1, '192.0.2.6')");
      await state.storage.setAlarm(now + DENIAL_WINDOW_MS);
    });
    await stub.appendLater(t, [refusal('pat', 'not-approved', '192.0.2.7')]);
    await stub.appendLater(t, [refusal('pat', 'not-approved', '192.0.2.7')]);
    await runInDurableObject(stub, (i) => {
      (i as AuditSequencer).now = () => Date.now() + DENIAL_WINDOW_MS + 1;
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);

    const sums = (await listEvents(env.DB, ring, t, { types: ['request.denied_summary'] }, { limit: 10, order: 'asc' })).events.map(
      (e) => e.event,
    );
    expect(sums).toMatchObject([
      {
        actor: null,
        via: 'anonymous',
        reason: 'identity-missing',
        request: { ip: '192.0.2.5' },
        details: { denied: 5, recorded: 1, folded: 4 },
      },
      {
        actor: 'pat',
        via: 'session',
        reason: 'not-approved',
        request: { ip: '192.0.2.7' },
        details: { denied: 2, recorded: 1, folded: 1 },
      },
      {
        actor: null,
        via: 'anonymous',
        app: null,
        details: {
          other_clients: true,
          clients: 1,
          networks: ['192.0.2.6'],
          denied: 7,
          recorded: 0,
          folded: 7,
          counts: ['identity-missing delete-project 7'],
        },
      },
    ]);
    expect(sums[0]!.details!.network).toBeUndefined();
    const left = await runInDurableObject(stub, (_i, state) =>
      Number(state.storage.sql.exec('SELECT COUNT(*) AS n FROM denial_counts').one().n),
    );
    expect(left).toBe(0);
  });
});

describe('stored request data is bounded', () => {
  it('auditRequest keeps one event under 1 KB of request metadata, whatever the request', async () => {
    const query = Array.from({ length: 200 }, (_, i) => `${'%E2%80%AE'.repeat(50)}${i}=v`).join('&');
    const url = `https://app.test/${'seg/'.repeat(400)}x?${query}`;
    const req = new Request(url, {
      method: 'DELETE',
      headers: { 'user-agent': 'U'.repeat(10_000), 'cf-connecting-ip': `2001:db8::${'1'.repeat(200)}` },
    });
    const r = await auditRequest(
      req,
      canonicalizeRequest(req.method, req.url, req.headers, { caseSensitive: false, allowPathInfo: false }),
    );
    // As stored: JSON, UTF-8 (each name here is 50 three-byte characters).
    expect(storedBytes(r)).toBeLessThanOrEqual(AUDIT_LIMITS.requestBytes);
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
      request: {
        method: long,
        path: long,
        query_keys: Array.from({ length: 100 }, () => long),
        query_sha256: 'a'.repeat(22),
        ip: long,
        user_agent: long,
      },
      details: { requested_from: long, list: Array.from({ length: 100 }, () => long), n: 5, ok: true, none: null },
    };
    const b = boundInput(input);
    expect(storedBytes(b.request)).toBeLessThanOrEqual(AUDIT_LIMITS.requestBytes);
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
  it(
    'control characters in query names (six bytes each as stored) ' +
      'and three-byte text stay within the bytes, each field cut with an exact marker',
    async () => {
      // The review's request: ten names of 31 control characters each, and a long User-Agent.
      const names = Array.from({ length: 12 }, (_, i) => `${'%01'.repeat(31)}${i % 10}`);
      const url = `https://app.test/api/projects/1?${names.map((n) => `${n}=v`).join('&')}`;
      const req = new Request(url, { method: 'DELETE', headers: { 'user-agent': 'U'.repeat(400), 'cf-connecting-ip': '2001:db8::1' } });
      const r = await auditRequest(
        req,
        canonicalizeRequest(req.method, req.url, req.headers, { caseSensitive: false, allowPathInfo: false }),
      );
      expect(storedBytes(r)).toBeLessThanOrEqual(AUDIT_LIMITS.requestBytes);
      // Short fields are kept whole; the long ones are cut, and say by how much.
      expect(r).toMatchObject({ method: 'DELETE', path: '/api/projects/1', ip: '2001:db8::1' });
      const exact = (s: string, original: number) => {
        const m = /…\[truncated (\d+) chars\]$/.exec(s);
        expect(m, s).not.toBeNull();
        expect(s.length - m![0].length + Number(m![1])).toBe(original);
      };
      // Twelve names, ten of them distinct.
      expect(r.query_keys).toHaveLength(10);
      for (const k of r.query_keys!) {
        expect(k).toMatch(/^\u0001+…/);
        exact(k, 32);
      }
      exact(r.user_agent!, 400);

      // Three-byte characters everywhere (a raw UTF-8 User-Agent is decoded so), and a bounded request bounded again.
      const wide = boundRequest({
        method: 'DELETE',
        path: `/${'€'.repeat(300)}`,
        query_keys: Array.from({ length: 12 }, (_, i) => `${'€'.repeat(40)}${i}`),
        query_sha256: 'a'.repeat(22),
        ip: '2001:db8::1',
        user_agent: '€'.repeat(300),
      });
      expect(storedBytes(wide)).toBeLessThanOrEqual(AUDIT_LIMITS.requestBytes);
      expect(wide).toMatchObject({ method: 'DELETE', ip: '2001:db8::1', query_sha256: 'a'.repeat(22) });
      exact(wide.path, 301);
      exact(wide.user_agent!, 300);
      for (const k of wide.query_keys!.slice(0, -1)) exact(k, 41);
      expect(boundRequest(wide)).toEqual(wide);
      // ASCII text: the lengths alone keep it within the bytes, and nothing more is cut.
      const ascii = boundRequest({
        method: 'DELETE',
        path: `/${'p'.repeat(300)}`,
        query_keys: Array.from({ length: 12 }, () => 'k'.repeat(40)),
        query_sha256: 'a'.repeat(22),
        ip: '2001:db8::1',
        user_agent: 'u'.repeat(300),
      });
      expect(ascii.path).toHaveLength(AUDIT_LIMITS.path);
      expect(ascii.user_agent).toHaveLength(AUDIT_LIMITS.userAgent);
      expect(storedBytes(ascii)).toBeLessThanOrEqual(AUDIT_LIMITS.requestBytes);
    },
  );
});
