/**
 * The audit log by organisation (issue 12), through the real gateway, Durable Objects and D1: two
 * organisations with an app each (xorg on x.test, yorg on y.test) and the default one (app.test).
 * Proxied requests and Stepgate's own endpoints record the app's organisation and id; each
 * organisation's auditors list and export their own events only, by session or by token, wherever
 * the token is presented; the whole chain (verify, checkpoints, key status) is the default
 * organisation's; a row moved to another organisation in D1 is never shown to it, even under
 * concurrent writers of both. Old rows, without the columns, are the default organisation's.
 */
import { env } from 'cloudflare:test';
import { generate } from 'otplib';
import { beforeAll, describe, expect, it } from 'vitest';
import { openRow } from '../../edge/audit/audit-chain';
import { verifyTenant } from '../../edge/audit/audit-store';
import type { ChainedEvent } from '../../edge/audit/events';
import { listAll, orgWithApp, ring, rowsOfHost } from './audit-orgs';
import { as, bodyOf, type Caller, callWith, enrol, newGateway, person, signIn } from './admin-callers';
import { seedRole } from './seed-roles';

const send = newGateway();
let xApp: string;
let yApp: string;
let xAud: Caller; // auditor of xorg
let yAud: Caller; // auditor of yorg
let dAud: Caller; // auditor of default
let xToken: string; // xAud's audit:read token

const secondsNow = () => Math.floor(Date.now() / 1000);

/** A person of `host`'s app: a challenged POST, approved with TOTP, then passed; a wrong code; an anonymous POST. */
async function traffic(host: string, user: string, marker: string, ip: string): Promise<void> {
  const plain = await signIn(user, host);
  const secret = await enrol(send, host, plain);
  const url = `http://${host}/api/${marker}`;
  const opened = await send(url, { method: 'POST', body: 'a=1', headers: { ...plain, 'cf-connecting-ip': ip } });
  expect(opened.status).toBe(401);
  const { challenge_id } = (await opened.json()) as { challenge_id: string };
  const wrong = await callWith(send, plain, host, 'POST', `/.stepgate/api/challenges/${challenge_id}/verify`, {
    method: 'totp',
    code: '000000',
  });
  expect(wrong.status).toBe(401);
  const ok = await callWith(send, plain, host, 'POST', `/.stepgate/api/challenges/${challenge_id}/verify`, {
    method: 'totp',
    code: await generate({ secret, epoch: secondsNow() }),
  });
  expect(ok.status).toBe(200);
  const grant = ok.headers.get('set-cookie')!.split(';')[0]!;
  const passed = await send(url, { method: 'POST', body: 'a=1', headers: { ...plain, cookie: grant, 'cf-connecting-ip': ip } });
  expect(passed.status).toBe(404); // forwarded: the demo origin has no such route
  // Nobody signed in: refused, recorded after the answer (folded per network; this is the first).
  expect((await send(url, { method: 'POST', body: 'a=1', headers: { 'cf-connecting-ip': ip } })).status).toBe(401);
}

const orgsOf = (events: ChainedEvent[]) => new Set(events.map((e) => e.event.org));

beforeAll(async () => {
  xApp = await orgWithApp('xorg', 'x.test');
  yApp = await orgWithApp('yorg', 'y.test');
  await seedRole('xorg/xa', 'auditor', { org: 'xorg' });
  await seedRole('yorg/ya', 'auditor', { org: 'yorg' });
  await seedRole('dora', 'auditor');
  xAud = await person(send, 'xa', 'x.test');
  yAud = await person(send, 'ya', 'y.test');
  dAud = await person(send, 'dora');
  await traffic('x.test', 'xu', 'x-only-marker', '198.51.100.41');
  await traffic('y.test', 'yu', 'y-only-marker', '198.51.100.42');
  const made = await as(send, xAud, 'POST', '/.stepgate/api/tokens', { scopes: ['audit:read'], label: 'x cli' });
  expect(made.status).toBe(201);
  xToken = (await bodyOf(made)).token as string;
}, 60_000);

describe('every event carries its organisation and app', () => {
  it('proxied requests and Stepgate’s endpoints on an app in D1: its organisation and id, in columns and sealed event', async () => {
    for (const [host, org, app, user] of [
      ['x.test', 'xorg', () => xApp, 'xorg/xu'],
      ['y.test', 'yorg', () => yApp, 'yorg/yu'],
    ] as const) {
      const rows = await rowsOfHost(host);
      const types = new Set(rows.map((r) => r.type));
      for (const t of [
        'challenge.issued',
        'factor.failed',
        'factor.verified',
        'grant.issued',
        'grant.used',
        'request.denied',
        'factor.enrolled',
      ])
        expect(types, `${host} ${t}`).toContain(t);
      for (const r of rows) {
        expect([r.type, r.org, r.app_id]).toEqual([r.type, org, app()]);
        const e = await openRow(ring, r);
        expect([e.org, e.app_id]).toEqual([org, app()]);
        if (e.type === 'challenge.issued') expect(e.actor).toBe(user);
      }
      const denied = await Promise.all(rows.filter((r) => r.type === 'request.denied').map((r) => openRow(ring, r)));
      expect(denied.map((e) => [e.actor, e.reason])).toContainEqual([null, 'identity-missing']);
    }
  });

  it('the bundled app’s events are the default organisation’s (column NULL, as old rows), under the id "bundled"', async () => {
    const rows = await rowsOfHost('app.test');
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r.org).toBeNull();
      expect(r.app_id).toBe('bundled');
      expect(await openRow(ring, r)).toMatchObject({ org: 'default', app_id: 'bundled' });
    }
  });
});

describe('an organisation’s readers see its events only', () => {
  it('listing: each auditor gets their own organisation’s events, and no filter reaches another’s', async () => {
    const x = await listAll(send, xAud);
    const y = await listAll(send, yAud);
    const d = await listAll(send, dAud);
    expect(orgsOf(x)).toEqual(new Set(['xorg']));
    expect(orgsOf(y)).toEqual(new Set(['yorg']));
    expect(orgsOf(d)).toEqual(new Set(['default']));
    expect(JSON.stringify(x)).toContain('x-only-marker');
    for (const [list, others] of [
      [x, ['y-only-marker', 'yorg', 'y.test', yApp]],
      [y, ['x-only-marker', 'xorg', 'x.test', xApp]],
      [d, ['x-only-marker', 'y-only-marker', 'xorg', 'yorg']],
    ] as const) {
      const text = JSON.stringify(list);
      for (const s of others) expect(text).not.toContain(s);
    }
    // Filters narrow within the organisation; they never widen it.
    expect(await listAll(send, xAud, '&app=y.test')).toEqual([]);
    expect(await listAll(send, xAud, '&user=yorg%2Fyu')).toEqual([]);
    expect((await listAll(send, xAud, '&user=xorg%2Fxu')).length).toBeGreaterThan(3);
  });

  it('exports (NDJSON, CSV, OCSF) hold the organisation’s events only', async () => {
    for (const format of ['ndjson', 'csv', 'ocsf']) {
      const r = await as(send, xAud, 'GET', `/.stepgate/api/admin/audit/export?format=${format}`);
      expect(r.status).toBe(200);
      const text = await r.text();
      expect(text, format).toContain('x-only-marker');
      for (const s of ['y-only-marker', 'yorg/', yApp]) expect(text, `${format} ${s}`).not.toContain(s);
    }
    const nd = await (await as(send, yAud, 'GET', '/.stepgate/api/admin/audit/export')).text();
    const events = nd
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Partial<ChainedEvent>)
      .filter((l) => l.event);
    expect(orgsOf(events as ChainedEvent[])).toEqual(new Set(['yorg']));
  });

  it('a token reads its own organisation wherever it is presented, and never another’s dashboard', async () => {
    const bearer = { authorization: `Bearer ${xToken}` };
    for (const host of ['x.test', 'y.test', 'app.test']) {
      const r = await send(`http://${host}/.stepgate/api/admin/audit/events?limit=500`, { headers: bearer });
      expect(r.status, host).toBe(200);
      const { events } = (await r.json()) as { events: ChainedEvent[] };
      expect(orgsOf(events), host).toEqual(new Set(['xorg']));
    }
    for (const host of ['x.test', 'y.test']) {
      expect((await send(`http://${host}/.stepgate/api/admin/orgs/yorg/dashboard`, { headers: bearer })).status, host).toBe(404);
      expect((await send(`http://${host}/.stepgate/api/admin/orgs/xorg/dashboard`, { headers: bearer })).status, host).toBe(200);
    }
    // The reading on y.test is recorded in xorg's log, without y's app id, and yorg never sees it.
    const reads = (await listAll(send, xAud, '&type=audit.read'))
      .map((e) => e.event)
      .filter((e) => e.via === 'token' && e.app === 'y.test');
    expect(reads.length).toBeGreaterThan(0);
    for (const e of reads) expect([e.org, e.app_id]).toEqual(['xorg', null]);
    expect((await listAll(send, yAud, '&type=audit.read')).map((e) => e.event.actor)).not.toContain('xorg/xa');
  });

  it('under concurrent reads of both organisations, every answer holds its reader’s organisation only', async () => {
    const bearer = { authorization: `Bearer ${xToken}` };
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        i % 2 === 0
          ? send('http://y.test/.stepgate/api/admin/audit/events?limit=200', { headers: bearer }).then(async (r) => [
              'xorg',
              await r.json(),
            ])
          : as(send, yAud, 'GET', '/.stepgate/api/admin/audit/events?limit=200').then(async (r) => ['yorg', await r.json()]),
      ),
    );
    for (const [org, body] of answers) expect(orgsOf((body as { events: ChainedEvent[] }).events)).toEqual(new Set([org]));
  });

  it('the whole chain (verify, checkpoints, key status) is the default organisation’s to check', async () => {
    for (const path of ['verify', 'checkpoints']) {
      const r = await as(send, xAud, 'GET', `/.stepgate/api/admin/audit/${path}`);
      expect(r.status, path).toBe(403);
      expect((await bodyOf(r)).detail).toContain('default organisation');
      expect(
        (await send(`http://x.test/.stepgate/api/admin/audit/${path}`, { headers: { authorization: `Bearer ${xToken}` } })).status,
      ).toBe(403);
    }
    expect((await as(send, xAud, 'GET', '/.stepgate/api/admin/keys')).status).toBe(403);
    const v = await as(send, dAud, 'GET', '/.stepgate/api/admin/audit/verify?limit=5000');
    expect(v.status).toBe(200);
    expect(await bodyOf(v)).toMatchObject({ ok: true });
  });
});

describe('tampering and races', () => {
  it('a row moved to another organisation in D1 is never shown to it: listing and dashboard stop, verify names the column', async () => {
    const moved = (await rowsOfHost('y.test')).find((r) => r.type === 'request.denied')!;
    await env.DB.prepare("UPDATE audit_events SET org = 'xorg' WHERE tenant = 'default' AND seq = ?").bind(moved.seq).run();
    try {
      const list = await as(send, xAud, 'GET', '/.stepgate/api/admin/audit/events?limit=500&type=request.denied');
      expect(list.status).toBe(500);
      expect(await bodyOf(list)).toMatchObject({ code: 'ERR_AUDIT_INTEGRITY', seq: moved.seq });
      const dash = await as(send, xAud, 'GET', '/.stepgate/api/admin/orgs/xorg/dashboard');
      expect(dash.status).toBe(500);
      expect(await (await as(send, xAud, 'GET', '/.stepgate/api/admin/audit/export')).text()).not.toContain('y-only-marker');
      const head = await env.AUDIT_SEQUENCER.get(env.AUDIT_SEQUENCER.idFromName('tenant:default')).currentHead('default');
      expect(await verifyTenant(env.DB, ring, 'default', head, 1, 100_000)).toMatchObject({
        ok: false,
        seq: moved.seq,
        problem: 'modified',
        detail: 'column org does not match the sealed event',
      });
    } finally {
      await env.DB.prepare("UPDATE audit_events SET org = 'yorg' WHERE tenant = 'default' AND seq = ?").bind(moved.seq).run();
    }
    expect((await as(send, xAud, 'GET', '/.stepgate/api/admin/audit/events?limit=500&type=request.denied')).status).toBe(200);
  });

  it('concurrent requests to both organisations’ apps (one sequencer, batched together): each row is its own app’s', async () => {
    const last = (await rowsOfHost('x.test')).concat(await rowsOfHost('y.test')).reduce((m, r) => Math.max(m, r.seq), 0);
    // Anonymous POSTs from 40 networks (past the 32 clients a window has: the rest fold per organisation).
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        send(`http://${i % 2 ? 'x' : 'y'}.test/api/race-${i}`, {
          method: 'POST',
          body: 'a=1',
          headers: { 'cf-connecting-ip': `10.${i}.0.9` },
        }),
      ),
    );
    const rows = [...(await rowsOfHost('x.test')), ...(await rowsOfHost('y.test'))].filter((r) => r.seq > last);
    expect(rows.length).toBeGreaterThanOrEqual(32);
    for (const r of rows) {
      const [org, app] = r.app === 'x.test' ? ['xorg', xApp] : ['yorg', yApp];
      expect([r.seq, r.org, r.app_id]).toEqual([r.seq, org, app]);
      const e = await openRow(ring, r);
      expect([r.seq, e.org, e.app_id]).toEqual([r.seq, org, app]);
      if (e.request?.path.startsWith('/api/race-')) expect(Number(e.request.path.slice(10)) % 2 ? 'x.test' : 'y.test').toBe(r.app);
    }
  });
});
