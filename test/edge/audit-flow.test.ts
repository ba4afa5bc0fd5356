/**
 * The audit log through the real gateway, Durable Objects and D1: a step-up flow leaves one event
 * per decision; an auditor lists, filters, pages, exports (NDJSON, CSV, OCSF) and verifies them;
 * readers are only admins and auditors, stepped up or holding a personal token; a failed audit
 * write means nothing is forwarded; and no stored row or log line holds a secret used here.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { verifyExported } from '../../edge/audit/audit-chain';
import type { AuditEvent, ChainedEvent } from '../../edge/audit/events';
import { enrolTotp, factorsStepUp, gw, post, type Person } from '../support/edge-flow';
import { seedRole } from './seed-roles';
import { refuseAudit } from '../support/audit-faults';

const logs: string[] = [];
const capture = (...args: unknown[]) => void logs.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) vi.spyOn(console, level).mockImplementation(capture);

const originUrl = inject('originUrl');
const originSaw = async (marker: string): Promise<string[]> =>
  ((await (await fetch(`${originUrl}/__demo/requests`)).json()) as { method: string; url: string }[])
    .filter((r) => r.url.includes(marker))
    .map((r) => `${r.method} ${r.url}`);

let tina: Person; // a regular user
let dave: Person; // an auditor of the default organisation (a role grant, seeded below)
let daveReader: string; // dave's cookies with a fresh step-up
const secrets: string[] = [];

const list = async (query: string, cookie = daveReader) => {
  const r = await gw(`/.stepgate/api/admin/audit/events?${query}`, { headers: { cookie } });
  expect(r.status, await r.clone().text()).toBe(200);
  return (await r.json()) as { events: ChainedEvent[]; next_cursor: string | null };
};
/** request.forwarded is written after the response; wait for it. */
const eventually = async <T>(fn: () => Promise<T | null>): Promise<T> => {
  for (let i = 0; i < 100; i++) {
    const v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('timed out');
};

beforeAll(async () => {
  tina = await enrolTotp('tina-audit');
  await seedRole('dave', 'auditor');
  dave = await enrolTotp('dave');
  daveReader = await factorsStepUp(dave);

  // Tina deletes a project: challenged, approves with TOTP, the identical DELETE passes once.
  const path = '/api/projects/67?m=audit-flow';
  const first = await gw(path, {
    method: 'DELETE',
    headers: { cookie: tina.cookie, 'cf-connecting-ip': '198.51.100.23', 'user-agent': 'AuditTest/1.0' },
  });
  expect(first.status).toBe(401);
  const { challenge_id } = (await first.json()) as { challenge_id: string };
  secrets.push(challenge_id);
  const ok = await post(`/.stepgate/api/challenges/${challenge_id}/verify`, tina.cookie, { method: 'totp', code: await tina.code() });
  expect(ok.status).toBe(200);
  const bad = await post(`/.stepgate/api/challenges/${challenge_id}/verify`, tina.cookie, { method: 'totp', code: '000000' });
  expect(bad.status).toBe(404); // answered already: gone
  const again = await gw(path, {
    method: 'DELETE',
    headers: { cookie: tina.cookie, 'cf-connecting-ip': '198.51.100.23', 'user-agent': 'AuditTest/1.0' },
  });
  expect(again.status).toBe(200);
  expect(await originSaw('m=audit-flow')).toHaveLength(1);
  secrets.push(...tina.secrets, ...dave.secrets, daveReader);
});

afterAll(() => vi.restoreAllMocks());

describe('one event per decision', () => {
  it('records the step-up flow: challenge, verification, grant, use, and the origin’s answer', async () => {
    const forwarded = await eventually(async () => (await list('user=tina-audit&type=request.forwarded')).events[0] ?? null);
    expect(forwarded.event).toMatchObject({ type: 'request.forwarded', outcome: 'success', actor: 'tina-audit', details: { status: 200 } });
    const { events } = await list('user=tina-audit&order=asc&limit=100');
    const types = events.map((e) => e.event.type);
    expect(types).toEqual([
      'factor.enrolled',
      'factor.enrolled',
      'challenge.issued',
      'factor.verified',
      'grant.issued',
      'grant.used',
      'request.forwarded',
    ]);
    const issued = events[2]!.event;
    expect(issued).toMatchObject({
      actor: 'tina-audit',
      via: 'session',
      app: 'app.test',
      rule: 'delete-project',
      request: { method: 'DELETE', path: '/api/projects/67', query_keys: ['m'], ip: '198.51.100.23', user_agent: 'AuditTest/1.0' },
      details: { bind: 'action', held: false },
    });
    expect(issued.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(events[3]!.event).toMatchObject({ type: 'factor.verified', factor: 'totp', rule: 'delete-project' });
    expect(events[5]!.event.details).toMatchObject({ bind: 'action', amr: ['otp'], action_digest: issued.details!.action_digest });
  });

  it('records failures with their reason, and the person who failed', async () => {
    const r = await gw('/api/projects/68?m=audit-fail', { method: 'DELETE', headers: { cookie: tina.cookie } });
    const { challenge_id } = (await r.json()) as { challenge_id: string };
    expect((await post(`/.stepgate/api/challenges/${challenge_id}/verify`, tina.cookie, { method: 'totp', code: '123456' })).status).toBe(
      401,
    );
    const { events } = await list('user=tina-audit&type=factor.failed&outcome=failure');
    expect(events[0]!.event).toMatchObject({
      type: 'factor.failed',
      reason: 'invalid',
      factor: 'totp',
      details: { consecutive_failures: 1 },
    });
  });

  it('records requests refused for want of an identity, without a person', async () => {
    expect((await gw('/api/projects/69?m=anon', { method: 'DELETE' })).status).toBe(401);
    // Written after the answer (it forwards nothing): wait for it.
    await vi.waitFor(async () => {
      const { events } = await list('type=request.denied');
      expect(events[0]!.event).toMatchObject({
        type: 'request.denied',
        outcome: 'denied',
        actor: null,
        via: 'anonymous',
        reason: 'identity-missing',
        rule: 'delete-project',
      });
    });
  });

  it('records the policy in force when the edge first writes', async () => {
    const { events } = await list('type=policy.changed');
    expect(events.at(-1)!.event).toMatchObject({ seq: 1, type: 'policy.changed', actor: null, via: 'system', details: { from: null } });
  });
});

describe('reading the log', () => {
  it('is for administrators and auditors with a fresh step-up, or a token', async () => {
    const notReader = await gw('/.stepgate/api/admin/audit/events', { headers: { cookie: tina.cookie } });
    expect(notReader.status).toBe(403);
    expect(await notReader.json()).toMatchObject({ code: 'ERR_FORBIDDEN' });
    const noStepUp = await gw('/.stepgate/api/admin/audit/events', { headers: { cookie: dave.cookie } });
    expect(noStepUp.status).toBe(403);
    expect(await noStepUp.json()).toMatchObject({ code: 'ERR_FRESH_STEP_UP_REQUIRED' });
    expect((await gw('/.stepgate/api/admin/audit/events')).status).toBe(401);
    expect((await gw('/.stepgate/api/admin/audit/events', { headers: { authorization: 'Bearer sgt.nope' } })).status).toBe(401);
  });

  it('filters by type, outcome, app, time range and client IP; refuses bad filters with 400', async () => {
    const all = await list('limit=500');
    expect(all.events.length).toBeGreaterThan(8);
    const since = (await list('type=challenge.issued&user=tina-audit&order=asc')).events[0]!.event.time;
    const later = await list(`from=${encodeURIComponent(since)}&app=app.test`);
    expect(later.events.every((e) => Date.parse(e.event.time) >= Date.parse(since) && e.event.app === 'app.test')).toBe(true);
    expect((await list(`to=${encodeURIComponent(since)}&type=challenge.issued&user=tina-audit`)).events).toEqual([]);
    expect((await list('ip=198.51.100.23')).events.map((e) => e.event.type)).toEqual([
      'request.forwarded',
      'grant.used',
      'challenge.issued',
    ]);
    for (const q of ['type=nope', 'outcome=maybe', 'from=yesterday', 'limit=0', 'limit=501', 'cursor=zzz']) {
      const r = await gw(`/.stepgate/api/admin/audit/events?${q}`, { headers: { cookie: daveReader } });
      expect(r.status, q).toBe(400);
      expect(((await r.json()) as { detail: string }).detail).toMatch(new RegExp(`^${q.split('=')[0]}`));
    }
  });

  it('pages with a cursor: every event once, newest first', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page = await list(`limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.events.map((e) => e.event.seq));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen.length).toBeGreaterThan(8);
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('exports NDJSON that verifies offline, CSV, and OCSF', async () => {
    const nd = await gw('/.stepgate/api/admin/audit/export?format=ndjson', { headers: { cookie: daveReader } });
    expect(nd.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (await nd.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ChainedEvent | { checkpoint: string });
    const chained = lines.filter((l): l is ChainedEvent => 'event' in l);
    expect(await verifyExported(chained)).toMatchObject({ ok: true, rows: chained.length });
    expect(chained[0]!.event.seq).toBe(1);

    const csv = await (
      await gw('/.stepgate/api/admin/audit/export?format=csv&user=tina-audit', { headers: { cookie: daveReader } })
    ).text();
    const rows = csv.trim().split('\r\n');
    expect(rows[0]).toBe(
      'seq,time,type,outcome,user,via,target,app,org,app_id,method,path,rule,factor,reason,ip,user_agent,details,id,hash',
    );
    expect(
      rows.some((r) =>
        r.includes(',grant.used,success,tina-audit,session,,app.test,default,bundled,DELETE,/api/projects/67,delete-project,'),
      ),
    ).toBe(true);

    const ocsfFile = await gw('/.stepgate/api/admin/audit/export?format=ocsf&user=tina-audit', { headers: { cookie: daveReader } });
    // OCSF downloads under its own name, never taken for the verifiable NDJSON.
    expect(ocsfFile.headers.get('content-disposition')).toBe('attachment; filename="stepgate-audit.ocsf.ndjson"');
    expect(nd.headers.get('content-disposition')).toBe('attachment; filename="stepgate-audit.ndjson"');
    const ocsf = (await ocsfFile.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const byType = (t: string) => ocsf.find((o) => (o.unmapped as { stepgate_type: string }).stepgate_type === t)!;
    expect(byType('factor.verified')).toMatchObject({
      class_uid: 3002,
      category_uid: 3,
      activity_id: 1,
      type_uid: 300201,
      status_id: 1,
      user: { uid: 'tina-audit' },
      is_mfa: true,
    });
    expect(byType('factor.enrolled')).toMatchObject({ class_uid: 3001, activity_id: 10, type_uid: 300110, user: { uid: 'tina-audit' } });
    expect(byType('request.forwarded')).toMatchObject({
      class_uid: 6003,
      type_uid: 600399,
      api: { operation: 'DELETE /api/projects/67' },
      src_endpoint: { ip: '198.51.100.23' },
    });
    for (const o of ocsf) {
      expect(o.type_uid).toBe((o.class_uid as number) * 100 + (o.activity_id as number));
      expect(typeof o.time).toBe('number');
      expect(o.metadata).toMatchObject({ version: '1.1.0', product: { vendor_name: 'Stepgate' } });
    }
    expect((await gw('/.stepgate/api/admin/audit/export?format=xml', { headers: { cookie: daveReader } })).status).toBe(400);
  });

  it('verifies the chain, and reading is itself audited', async () => {
    const r = (await (await gw('/.stepgate/api/admin/audit/verify', { headers: { cookie: daveReader } })).json()) as {
      ok: boolean;
      complete: boolean;
      rows: number;
    };
    expect(r).toMatchObject({ ok: true, complete: true });
    const { events } = await list('user=dave&type=audit.read,audit.exported,audit.verified');
    expect(new Set(events.map((e) => e.event.type))).toEqual(new Set(['audit.read', 'audit.exported', 'audit.verified']));
  });

  it('names where each page of a verification started, so pages verified apart are seen to link up', async () => {
    type Page = { ok: boolean; from: number; start: { seq: number; hash: string }; to: number; head: { seq: number; hash: string } };
    const page = async (q: string) =>
      (await (await gw(`/.stepgate/api/admin/audit/verify?${q}`, { headers: { cookie: daveReader } })).json()) as Page;
    const first = await page('from=1&limit=3');
    expect(first).toMatchObject({ ok: true, from: 1, start: { seq: 0, hash: 'genesis' }, to: 3 });
    const second = await page('from=4&limit=3');
    expect(second).toMatchObject({ ok: true, from: 4, to: 6 });
    expect(second.start).toEqual(first.head);
  });
});

describe('personal API tokens', () => {
  it('are created after a step-up, read with audit:read, and stop working when revoked', async () => {
    expect((await post('/.stepgate/api/tokens', dave.cookie, { scopes: ['audit:read'], label: 'cli' })).status).toBe(403); // no step-up
    expect((await post('/.stepgate/api/tokens', tina.cookie, { scopes: ['audit:read'], label: 'cli' })).status).toBe(403); // not a reader
    expect((await post('/.stepgate/api/tokens', daveReader, { scopes: ['admin:everything'], label: 'x' })).status).toBe(400);
    const created = await post('/.stepgate/api/tokens', daveReader, { scopes: ['audit:read'], label: 'laptop CLI', ttl_days: 7 });
    expect(created.status).toBe(201);
    const { token, id } = (await created.json()) as { token: string; id: string };
    secrets.push(token);
    const bearer = { authorization: `Bearer ${token}` };
    const page = await gw('/.stepgate/api/admin/audit/events?type=token.created', { headers: bearer });
    expect(page.status).toBe(200);
    expect(((await page.json()) as { events: { event: AuditEvent }[] }).events[0]!.event).toMatchObject({
      actor: 'dave',
      details: { scopes: ['audit:read'], label: 'laptop CLI' },
    });
    expect(
      (
        await gw('/.stepgate/api/admin/audit/events', {
          headers: { authorization: `Bearer ${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}` },
        })
      ).status,
    ).toBe(401);
    expect((await post(`/.stepgate/api/tokens/${id}/revoke`, dave.cookie)).status).toBe(200);
    expect((await gw('/.stepgate/api/admin/audit/events', { headers: bearer })).status).toBe(401);
    // Tokens never change anything: administration needs a stepped-up browser session.
    expect((await post('/.stepgate/api/admin/maintenance', '', {}, bearer)).status).toBe(401);
  });
});

describe('fail closed', () => {
  it('when the audit record cannot be written, the approved action is not forwarded (503)', async () => {
    const path = '/api/projects/71?m=audit-down';
    const first = await gw(path, { method: 'DELETE', headers: { cookie: tina.cookie } });
    const { challenge_id } = (await first.json()) as { challenge_id: string };
    expect(
      (await post(`/.stepgate/api/challenges/${challenge_id}/verify`, tina.cookie, { method: 'totp', code: await tina.code() })).status,
    ).toBe(200);

    // The audit log cannot take the record for a moment (its journal refuses writes).
    const fault = await refuseAudit('audit_down');
    try {
      const r = await gw(path, { method: 'DELETE', headers: { cookie: tina.cookie } });
      expect(r.status).toBe(503);
      expect(await r.json()).toMatchObject({ code: 'ERR_AUDIT_UNAVAILABLE' });
      // Unprotected routes do not wait on the audit log at all.
      expect((await gw('/api/projects?m=audit-down-read')).status).toBe(200);
    } finally {
      await fault.drop();
    }
    const seen = await originSaw('m=audit-down');
    expect(seen.filter((r) => r.startsWith('DELETE'))).toEqual([]);
    expect(seen.filter((r) => r.startsWith('GET'))).toHaveLength(1);
    // The approval was spent by the refused attempt: the person approves again, and nothing was
    // carried out without its record. The chain is intact.
    const v = (await (await gw('/.stepgate/api/admin/audit/verify', { headers: { cookie: daveReader } })).json()) as { ok: boolean };
    expect(v.ok).toBe(true);
  });
});

describe('fail closed when approving', () => {
  it('an approval that cannot be recorded is withdrawn: 503, and the action is challenged again', async () => {
    const tess = await enrolTotp('tess-audit');
    const path = '/api/projects/72?m=audit-down-approve';
    const first = await gw(path, { method: 'DELETE', headers: { cookie: tess.cookie } });
    const { challenge_id } = (await first.json()) as { challenge_id: string };
    const code = await tess.code();
    const fault = await refuseAudit('audit_down_approve');
    try {
      const r = await post(`/.stepgate/api/challenges/${challenge_id}/verify`, tess.cookie, { method: 'totp', code });
      expect(r.status).toBe(503);
      expect(await r.json()).toMatchObject({ code: 'ERR_AUDIT_UNAVAILABLE' });
    } finally {
      await fault.drop();
    }
    expect((await gw(path, { method: 'DELETE', headers: { cookie: tess.cookie } })).status).toBe(401);
    expect((await originSaw('m=audit-down-approve')).filter((r) => r.startsWith('DELETE'))).toEqual([]);
  });
});

describe('fail closed for tokens', () => {
  it('a token whose creation cannot be recorded is never handed out, and never works', async () => {
    const live = async () =>
      (await env.DB.prepare('SELECT COUNT(*) AS n FROM api_tokens WHERE revoked_at IS NULL').first<{ n: number }>())!.n;
    const before = await live();
    const fault = await refuseAudit('tok_fail', "NEW.type = 'token.created'");
    try {
      const r = await post('/.stepgate/api/tokens', daveReader, { scopes: ['audit:read'], label: 'unrecorded' });
      expect(r.status).toBe(503);
      expect(await r.text()).not.toContain('sgt.');
    } finally {
      await fault.drop();
    }
    expect(await live()).toBe(before); // the token written before the failed record was revoked
  });
});

describe('no secrets at rest or in logs', () => {
  it('no D1 row, Durable Object row or log line holds a TOTP secret, code, recovery code, cookie, token or challenge id', async () => {
    const dump: string[] = [];
    const { results: tables } = await env.DB.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' " +
        "AND name NOT LIKE '_cf_%' AND name != 'd1_migrations'",
    ).all<{ name: string }>();
    for (const { name } of tables) dump.push(JSON.stringify((await env.DB.prepare(`SELECT * FROM "${name}"`).all()).results));
    for (const sub of ['tina-audit', 'dave']) {
      const gate = env.USER_STATE.get(env.USER_STATE.idFromName(`user:${sub}`));
      dump.push(await runInDurableObject(gate, (_i, state) => dumpSql(state.storage.sql)));
    }
    const seqr = env.AUDIT_SEQUENCER.get(env.AUDIT_SEQUENCER.idFromName('tenant:default'));
    dump.push(await runInDurableObject(seqr, (_i, state) => dumpSql(state.storage.sql)));
    // The decrypted export, too: what an auditor takes away must not carry them either.
    dump.push(await (await gw('/.stepgate/api/admin/audit/export?format=ndjson', { headers: { cookie: daveReader } })).text());
    const haystack = `${dump.join('\n')}\n${logs.join('\n')}`;
    expect(dump.join('').length).toBeGreaterThan(10_000);
    const needles = [...new Set(secrets.flatMap((s) => s.split('; ').map((c) => c.split('=').pop()!)))].filter((s) => s.length >= 6);
    expect(needles.length).toBeGreaterThan(20);
    for (const n of needles) {
      const at = haystack.indexOf(n);
      expect(
        at,
        `found a secret (${n.slice(0, 4)}…) in: …${haystack.slice(Math.max(0, at - 120), at).replaceAll(n, '<secret>')}<secret>…`,
      ).toBe(-1);
    }
  });
});

function dumpSql(sql: SqlStorage): string {
  const names = sql
    .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'")
    .toArray();
  return names.map(({ name }) => JSON.stringify(sql.exec(`SELECT * FROM "${name}"`).toArray())).join('\n');
}
