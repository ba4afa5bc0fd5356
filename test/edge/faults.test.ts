/**
 * Fault injection inside workerd: D1 failing (triggers that RAISE, tables gone for a moment, slow,
 * timing out or hanging queries) and the Durable Objects failing (stubs that reject, SQLite errors
 * inside the object, objects reset with `state.abort()`), each against a real step-up flow. Every
 * fault must fail closed — 503 problem+json with a stable code and nothing of the fault in it,
 * nothing forwarded without its `grant.used` record — and the same request must work again once
 * the fault is gone, with the audit chain intact.
 */
import { createExecutionContext, env, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { hashRef } from '../../edge/audit/audit-log';
import { listEvents, verifyTenant } from '../../edge/audit/audit-store';
import type { AuditEvent } from '../../edge/audit/events';
import { parseKeyring } from '../../edge/crypto/keyring';
import { activeFactorCount } from '../../edge/factors/active-factors';
import { createGateway } from '../../edge/gateway';
import { enrolTotp, factorsStepUp, gw, ORIGIN, post, type Person } from '../support/edge-flow';
import { FaultSwitch, faultyD1, faultyNamespace, sleep } from '../support/fault-bindings';
import { seedRole } from './seed-roles';
import { sessionCookie } from '../support/session';
import { refuseAudit } from '../support/audit-faults';

const logs: string[] = [];
for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logs.push(args.map(String).join(' ')));
}
afterAll(() => vi.restoreAllMocks());

const originUrl = inject('originUrl');
const ring = parseKeyring(env.STEPGATE_KEYS);
const EXT = 'chrome-extension://leldacdejfbkleoogdbophfdkoapmfbd'; // WEBAUTHN_ORIGINS in wrangler.toml

/** What the demo origin received whose URL carries `marker`, as "METHOD url". */
const originSaw = async (marker: string): Promise<string[]> =>
  ((await (await fetch(`${originUrl}/__demo/requests`)).json()) as { method: string; url: string }[])
    .filter((r) => r.url.includes(marker))
    .map((r) => `${r.method} ${r.url}`);

/** Text an injected fault carries: none of it may reach a client. */
const INTERNALS = [
  'fault-injected',
  'no such table',
  'SQLITE',
  'D1_ERROR',
  '10.0.0.7',
  'RAISE',
  'stack',
  '    at ',
  'Error:',
  'outputGate',
  'test reset',
];

/** A refusal as Stepgate writes it: problem+json, the stable code, and nothing of the fault. */
async function expectProblem(res: Response, status: number, code: string): Promise<Record<string, unknown>> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(body).toMatchObject({
    status,
    code,
    type: expect.stringMatching(/^urn:stepgate:problem:/),
    title: expect.any(String),
    detail: expect.any(String),
  });
  for (const leak of INTERNALS) expect(text, `the answer carries "${leak}"`).not.toContain(leak);
  return body;
}

/** A person's audit events (decrypted), oldest first. */
const eventsOf = async (user: string, types?: AuditEvent['type'][]): Promise<AuditEvent[]> =>
  (await listEvents(env.DB, ring, 'default', { user, ...(types ? { types } : {}) }, { limit: 500, order: 'asc' })).events.map(
    (e) => e.event,
  );

/** The whole chain verifies against the sequencer's head: no fork, no gap, nothing cut off. */
async function expectChainIntact(): Promise<number> {
  // Requests sent through SELF (`gw`) write request.forwarded after answering: wait until the log is still.
  return vi.waitFor(
    async () => {
      const seqr = env.AUDIT_SEQUENCER.get(env.AUDIT_SEQUENCER.idFromName('tenant:default'));
      const head = await seqr.currentHead('default');
      const report = await verifyTenant(env.DB, ring, 'default', head, 1, 5000);
      expect(report, JSON.stringify(report)).toMatchObject({ ok: true, complete: true, from: 1, to: head.seq, rows: head.seq });
      const { n, max } = (await env.DB.prepare("SELECT COUNT(*) AS n, MAX(seq) AS max FROM audit_events WHERE tenant = 'default'").first<{
        n: number;
        max: number;
      }>())!;
      expect({ n, max }).toEqual({ n: head.seq, max: head.seq });
      return head.seq;
    },
    { timeout: 5000, interval: 100 },
  );
}

const d1 = (sql: string) => env.DB.prepare(sql).run();
/** A D1 trigger that makes inserts into `table` fail (optionally only some), until `drop`. */
async function raiseOn(name: string, table: string, when = ''): Promise<{ drop(): Promise<void> }> {
  await d1(
    `CREATE TRIGGER ${name} BEFORE INSERT ON ${table} ${when ? `WHEN ${when}` : ''} ` +
      `BEGIN SELECT RAISE(ABORT, 'fault-injected: ${table} refuses writes'); END`,
  );
  return { drop: async () => void (await d1(`DROP TRIGGER IF EXISTS ${name}`)) };
}

/** Ask for `path` with the session grant of rule admin-writes, approved with TOTP; returns the cookies. */
async function sessionGrant(p: Person, path: string): Promise<string> {
  const first = await gw(path, {
    method: 'POST',
    body: 'probe=1',
    headers: { cookie: p.cookie, 'content-type': 'application/x-www-form-urlencoded' },
  });
  expect(first.status).toBe(401);
  const { challenge_id } = (await first.json()) as { challenge_id: string };
  const ok = await post(`/.stepgate/api/challenges/${challenge_id}/verify`, p.cookie, { method: 'totp', code: await p.code() });
  expect(ok.status, await ok.clone().text()).toBe(200);
  return `${p.cookie}; ${ok.headers.get('set-cookie')!.split(';')[0]}`;
}

/** Start a one-time DELETE: 401 with its challenge id. */
async function challengeFor(p: Person, path: string, send = gw): Promise<string> {
  const r = await send(path, { method: 'DELETE', headers: { cookie: p.cookie } });
  expect(r.status, await r.clone().text()).toBe(401);
  return ((await r.json()) as { challenge_id: string }).challenge_id;
}

const settings =
  (cookie: string, send = gw) =>
  (path: string) =>
    send(path, {
      method: 'POST',
      body: 'support_email=fault@example.test',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    });

/**
 * A gateway whose D1 and Durable Object bindings pass through switches. One env object, so one
 * runtime: a fault switched off is gone for the very same gateway (recovery without a restart).
 */
function faultyGateway() {
  const sw = { db: new FaultSwitch(), gate: new FaultSwitch(), audit: new FaultSwitch() };
  const e = {
    ...env,
    DB: faultyD1(env.DB, sw.db),
    USER_STATE: faultyNamespace(env.USER_STATE, sw.gate),
    AUDIT_SEQUENCER: faultyNamespace(env.AUDIT_SEQUENCER, sw.audit),
  };
  const g = createGateway(e);
  const send = async (path: string, init: RequestInit = {}): Promise<Response> => {
    const ctx = createExecutionContext();
    const res = await g.fetch(new Request(`${ORIGIN}${path}`, init), e, ctx);
    // request.forwarded is written after the response: wait for it, as the platform would.
    await waitOnExecutionContext(ctx);
    return res;
  };
  const postJson = (path: string, cookie: string, body: unknown, headers: Record<string, string> = {}) =>
    send(path, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { cookie, origin: ORIGIN, 'content-type': 'application/json', ...headers },
    });
  return { sw, send, post: postJson };
}

const fx = faultyGateway();
afterAll(() => {
  fx.sw.db.clear();
  fx.sw.gate.clear();
  fx.sw.audit.clear();
});

describe('D1 fails: triggers that RAISE, tables gone for a moment', () => {
  it('a protected request with a valid session grant: 503 ERR_AUDIT_UNAVAILABLE, nothing forwarded; then it passes once', async () => {
    const p = await enrolTotp('fault-grant');
    const path = '/admin/settings?m=fault-d1-grant';
    const cookies = await sessionGrant(p, path);
    const send = settings(cookies);
    const fault = await refuseAudit('fault_audit_down');
    try {
      await expectProblem(await send(path), 503, 'ERR_AUDIT_UNAVAILABLE');
      await expectProblem(await send(path), 503, 'ERR_AUDIT_UNAVAILABLE'); // and again: no half-state
      // Unprotected routes never wait on the audit log.
      expect((await gw('/api/projects?m=fault-d1-grant-open')).status).toBe(200);
    } finally {
      await fault.drop();
    }
    expect(await originSaw('m=fault-d1-grant')).toEqual(['GET /api/projects?m=fault-d1-grant-open']);
    expect(await eventsOf('fault-grant', ['grant.used'])).toEqual([]);

    // The fault is gone: the very same request, with the same grant, passes, once.
    expect((await send(path)).status).toBe(200);
    expect(await originSaw('m=fault-d1-grant')).toEqual(['GET /api/projects?m=fault-d1-grant-open', `POST ${path}`]);
    expect(await eventsOf('fault-grant', ['grant.used'])).toHaveLength(1);
    await expectChainIntact();
  });

  it('an action approval whose record fails is withdrawn whole (one D1 batch), then can be given again', async () => {
    const p = await enrolTotp('fault-approve');
    const path = '/api/projects/42?m=fault-d1-approve';
    const first = await challengeFor(p, path);
    // Only grant.issued is refused; factor.verified travels in the same batch and must not land alone.
    const fault = await refuseAudit('fault_grant_issued', "NEW.type = 'grant.issued'");
    try {
      await expectProblem(
        await post(`/.stepgate/api/challenges/${first}/verify`, p.cookie, { method: 'totp', code: await p.code() }),
        503,
        'ERR_AUDIT_UNAVAILABLE',
      );
    } finally {
      await fault.drop();
    }
    expect(await eventsOf('fault-approve', ['factor.verified', 'grant.issued', 'grant.used'])).toEqual([]);
    await expectChainIntact();
    // Nothing was approved: the DELETE is challenged again, approved, and passes once.
    const again = await challengeFor(p, path);
    expect((await post(`/.stepgate/api/challenges/${again}/verify`, p.cookie, { method: 'totp', code: await p.code() })).status).toBe(200);
    expect((await gw(path, { method: 'DELETE', headers: { cookie: p.cookie } })).status).toBe(200);
    expect((await gw(path, { method: 'DELETE', headers: { cookie: p.cookie } })).status).toBe(401);
    expect(await originSaw('m=fault-d1-approve')).toEqual([`DELETE ${path}`]);
    expect((await eventsOf('fault-approve', ['factor.verified', 'grant.issued', 'grant.used'])).map((e) => e.type)).toEqual([
      'factor.verified',
      'grant.issued',
      'grant.used',
    ]);
  });

  it(
    'a challenge whose issue cannot be recorded: 503 ERR_AUDIT_UNAVAILABLE, nothing forwarded; ' + 'then 401 with a recorded challenge',
    async () => {
      const p = await enrolTotp('fault-challenge');
      const path = '/api/projects/43?m=fault-d1-challenge';
      const fault = await refuseAudit('fault_challenge_issued', "NEW.type = 'challenge.issued'");
      try {
        await expectProblem(await gw(path, { method: 'DELETE', headers: { cookie: p.cookie } }), 503, 'ERR_AUDIT_UNAVAILABLE');
        // A browser navigation (which would be held for after approval) fails the same way, on a page in words.
        const nav = await gw(path, { method: 'DELETE', headers: { cookie: p.cookie, 'sec-fetch-mode': 'navigate', accept: 'text/html' } });
        const page = await nav.text();
        expect(nav.status).toBe(503);
        expect(nav.headers.get('content-type')).toContain('text/html');
        for (const leak of [...INTERNALS, 'ERR_']) expect(page, `the page carries "${leak}"`).not.toContain(leak);
      } finally {
        await fault.drop();
      }
      expect(await eventsOf('fault-challenge', ['challenge.issued'])).toEqual([]);
      expect(await originSaw('m=fault-d1-challenge')).toEqual([]);
      const id = await challengeFor(p, path);
      const issued = await eventsOf('fault-challenge', ['challenge.issued']);
      expect(issued).toHaveLength(1);
      expect(issued[0]!.details).toMatchObject({ challenge: await hashRef(id) });
      expect(await originSaw('m=fault-d1-challenge')).toEqual([]);
    },
  );

  // A challenge is stored unanswerable until challenge.issued is durable, and withdrawn when that
  // record fails, so the extension is never offered it (the race: test/edge/unconfirmed-challenge.test.ts).
  it('a challenge whose challenge.issued could not be recorded is withdrawn: not offered, not answerable', async () => {
    const p = await enrolTotp('fault-orphan');
    const path = '/api/projects/54?m=fault-orphan';
    const fault = await refuseAudit('fault_orphan', "NEW.type = 'challenge.issued'");
    try {
      await expectProblem(await gw(path, { method: 'DELETE', headers: { cookie: p.cookie } }), 503, 'ERR_AUDIT_UNAVAILABLE');
    } finally {
      await fault.drop();
    }
    const list = (await (await gw('/.stepgate/api/challenges', { headers: { cookie: p.cookie } })).json()) as {
      challenges: { id: string; action: { path: string } }[];
    };
    const orphans = list.challenges.filter((c) => c.action.path === '/api/projects/54');
    expect(orphans, 'an unrecorded challenge is still pending').toEqual([]);
  });

  it(
    'a TOTP verification while its factor table is gone: 503 ERR_UNAVAILABLE; ' + 'the code is not spent and works once the table is back',
    async () => {
      const p = await enrolTotp('fault-totp');
      const path = '/api/projects/44?m=fault-d1-totp';
      const id = await challengeFor(p, path);
      const code = await p.code();
      await d1('ALTER TABLE totp_factors RENAME TO totp_factors_away');
      try {
        await expectProblem(
          await post(`/.stepgate/api/challenges/${id}/verify`, p.cookie, { method: 'totp', code }),
          503,
          'ERR_UNAVAILABLE',
        );
      } finally {
        await d1('ALTER TABLE totp_factors_away RENAME TO totp_factors');
      }
      expect(await originSaw('m=fault-d1-totp')).toEqual([]);
      expect((await post(`/.stepgate/api/challenges/${id}/verify`, p.cookie, { method: 'totp', code })).status).toBe(200);
      expect((await gw(path, { method: 'DELETE', headers: { cookie: p.cookie } })).status).toBe(200);
      expect(await originSaw('m=fault-d1-totp')).toEqual([`DELETE ${path}`]);
    },
  );

  it('a recovery code while its table refuses the update: 503; the code is not spent and works afterwards', async () => {
    const p = await enrolTotp('fault-recovery');
    const path = '/api/projects/48?m=fault-d1-recovery';
    const id = await challengeFor(p, path);
    await d1(
      'CREATE TRIGGER fault_recovery BEFORE UPDATE ON recovery_codes BEGIN ' +
        "SELECT RAISE(ABORT, 'fault-injected: recovery_codes refuses writes'); END",
    );
    try {
      await expectProblem(
        await post(`/.stepgate/api/challenges/${id}/verify`, p.cookie, { method: 'recovery', code: p.recovery[0] }),
        503,
        'ERR_UNAVAILABLE',
      );
    } finally {
      await d1('DROP TRIGGER fault_recovery');
    }
    expect((await post(`/.stepgate/api/challenges/${id}/verify`, p.cookie, { method: 'recovery', code: p.recovery[0] })).status).toBe(200);
    expect((await gw(path, { method: 'DELETE', headers: { cookie: p.cookie } })).status).toBe(200);
    expect(await originSaw('m=fault-d1-recovery')).toEqual([`DELETE ${path}`]);
  });

  it('enrolment while the factor table refuses writes: 503 without the secret; then 201', async () => {
    const cookie = await sessionCookie('fault-enrol', 'fault-enrol-session');
    const fault = await raiseOn('fault_totp_insert', 'totp_factors');
    try {
      const r = await post('/.stepgate/api/factors/totp', cookie);
      const body = await expectProblem(r, 503, 'ERR_UNAVAILABLE');
      expect(body).not.toHaveProperty('secret');
    } finally {
      await fault.drop();
    }
    expect(await activeFactorCount(env.DB, ring, 'fault-enrol')).toBe(0);
    const ok = await post('/.stepgate/api/factors/totp', cookie);
    expect(ok.status).toBe(201);
    expect(await ok.json()).toMatchObject({ id: expect.any(String), secret: expect.any(String) });
  });

  it(
    'confirming a first factor while its record fails: 503 without the recovery ' +
      'codes (the documented gap: the factor stands), and the person recovers',
    async () => {
      const cookie = await sessionCookie('fault-enrol2', 'fault-enrol2-session');
      const start = (await (await post('/.stepgate/api/factors/totp', cookie)).json()) as { id: string; secret: string };
      const now = Math.floor(Date.now() / 1000);
      const fault = await refuseAudit('fault_enrolled', "NEW.type = 'factor.enrolled'");
      try {
        const r = await post(`/.stepgate/api/factors/totp/${start.id}/confirm`, cookie, {
          code: await generate({ secret: start.secret, epoch: now - 30 }),
        });
        const body = await expectProblem(r, 503, 'ERR_AUDIT_UNAVAILABLE');
        expect(body).not.toHaveProperty('recovery_codes');
      } finally {
        await fault.drop();
      }
      // Known gap (docs/security.md): factor edits are recorded after the change, which stands.
      expect(await activeFactorCount(env.DB, ring, 'fault-enrol2')).toBe(1);
      expect(await eventsOf('fault-enrol2', ['factor.enrolled'])).toEqual([]);
      // The recovery codes issued with it were never shown; the person steps up and gets new ones.
      const { challenge_id } = (await (await post('/.stepgate/api/factors/step-up', cookie)).json()) as { challenge_id: string };
      const ok = await post(`/.stepgate/api/challenges/${challenge_id}/verify`, cookie, {
        method: 'totp',
        code: await generate({ secret: start.secret, epoch: now }),
      });
      expect(ok.status).toBe(200);
      const stepped = `${cookie}; ${ok.headers.get('set-cookie')!.split(';')[0]}`;
      const codes = await post('/.stepgate/api/recovery-codes', stepped);
      expect(codes.status).toBe(201);
      expect(((await codes.json()) as { recovery_codes: string[] }).recovery_codes).toHaveLength(10);
    },
  );

  describe('audit reads', () => {
    let reader: string;
    beforeAll(async () => {
      await seedRole('dave', 'auditor');
      reader = await factorsStepUp(await enrolTotp('dave'));
    });

    it('when the read cannot be recorded: 503 ERR_AUDIT_UNAVAILABLE and no events leave; then 200', async () => {
      const fault = await refuseAudit('fault_audit_read', "NEW.type IN ('audit.read', 'audit.exported', 'audit.verified')");
      try {
        for (const path of [
          '/.stepgate/api/admin/audit/events',
          '/.stepgate/api/admin/audit/export?format=ndjson',
          '/.stepgate/api/admin/audit/verify',
          '/.stepgate/api/admin/audit/checkpoints',
        ]) {
          const body = await expectProblem(await gw(path, { headers: { cookie: reader } }), 503, 'ERR_AUDIT_UNAVAILABLE');
          expect(body, path).not.toHaveProperty('events');
          expect(body, path).not.toHaveProperty('ok');
        }
      } finally {
        await fault.drop();
      }
      const r = await gw('/.stepgate/api/admin/audit/events?limit=5', { headers: { cookie: reader } });
      expect(r.status).toBe(200);
      expect(((await r.json()) as { events: unknown[] }).events).toHaveLength(5);
    });

    it('when D1 fails reading the events: 503 ERR_UNAVAILABLE; then 200 from the same gateway', async () => {
      fx.sw.db.set({ kind: 'reject', message: 'D1_ERROR: fault-injected read failure at 10.0.0.7' }, (q) =>
        q.startsWith('all SELECT * FROM audit_events'),
      );
      try {
        await expectProblem(await fx.send('/.stepgate/api/admin/audit/events', { headers: { cookie: reader } }), 503, 'ERR_UNAVAILABLE');
        await expectProblem(await fx.send('/.stepgate/api/admin/audit/verify', { headers: { cookie: reader } }), 503, 'ERR_UNAVAILABLE');
        expect(fx.sw.db.calls.length).toBeGreaterThanOrEqual(2);
      } finally {
        fx.sw.db.clear();
      }
      expect((await fx.send('/.stepgate/api/admin/audit/events', { headers: { cookie: reader } })).status).toBe(200);
      const v = await fx.send('/.stepgate/api/admin/audit/verify', { headers: { cookie: reader } });
      expect(await v.json()).toMatchObject({ ok: true, complete: true });
    });
  });
});

describe('D1 slow, timing out, hanging (the Worker’s D1 binding wrapped)', () => {
  it('slow queries only slow the answer; a query that times out is 503 and leaves the code unspent; a hang forwards nothing', async () => {
    const p = await enrolTotp('fault-slow');
    const path = '/api/projects/49?m=fault-slow-d1';
    const verify = (id: string, code: string) => fx.post(`/.stepgate/api/challenges/${id}/verify`, p.cookie, { method: 'totp', code });

    // Slow: every query of the Worker waits 300 ms. It is slower, and it works.
    const id = await challengeFor(p, path, fx.send);
    const code = await p.code();
    fx.sw.db.set({ kind: 'delay', ms: 300 });
    const t0 = Date.now();
    try {
      expect((await verify(id, code)).status).toBe(200);
    } finally {
      fx.sw.db.clear();
    }
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect((await fx.send(path, { method: 'DELETE', headers: { cookie: p.cookie } })).status).toBe(200);

    // A timeout, as D1 reports one: after a while, an error that names internals. 503, and the
    // code (not yet accepted when the query failed) still works afterwards.
    const path2 = '/api/projects/50?m=fault-slow-timeout';
    const id2 = await challengeFor(p, path2, fx.send);
    const code2 = await p.code();
    fx.sw.db.set({ kind: 'reject', afterMs: 200, message: 'D1_ERROR: fault-injected: query timed out on 10.0.0.7' }, (q) =>
      q.includes('totp_factors'),
    );
    try {
      await expectProblem(await verify(id2, code2), 503, 'ERR_UNAVAILABLE');
    } finally {
      fx.sw.db.clear();
    }

    // A query that never answers: Stepgate has no deadline of its own on D1, so the request waits
    // (the platform's limits end it in production). Meanwhile nothing is forwarded; when the call
    // finally fails, the answer is the same opaque 503.
    fx.sw.db.set({ kind: 'hang' }, (q) => q.includes('totp_factors'));
    const hanging = verify(id2, code2);
    const early = await Promise.race([hanging.then(() => 'answered'), sleep(1500).then(() => 'still waiting')]);
    expect(early).toBe('still waiting');
    expect(await originSaw('m=fault-slow-timeout')).toEqual([]);
    fx.sw.db.clear(); // ends the hang with an error
    await expectProblem(await hanging, 503, 'ERR_UNAVAILABLE');

    // Recovered: the same code answers the same challenge, and the DELETE passes once.
    expect((await verify(id2, code2)).status).toBe(200);
    expect((await fx.send(path2, { method: 'DELETE', headers: { cookie: p.cookie } })).status).toBe(200);
    expect(await originSaw('m=fault-slow-')).toEqual([`DELETE ${path}`, `DELETE ${path2}`]);
  });
});

describe('Durable Objects fail', () => {
  it(
    'UserState stub rejects while spending an approval: ' +
      '503 ERR_UNAVAILABLE, nothing forwarded, the approval kept; then it passes once',
    async () => {
      const p = await enrolTotp('fault-gate');
      const path = '/api/projects/45?m=fault-do-gate';
      const id = await challengeFor(p, path, fx.send);
      expect((await fx.post(`/.stepgate/api/challenges/${id}/verify`, p.cookie, { method: 'totp', code: await p.code() })).status).toBe(
        200,
      );
      fx.sw.gate.set(
        { kind: 'reject', message: 'fault-injected: Durable Object storage operation exceeded timeout at 10.0.0.7' },
        (m) => m === 'consumeApproval',
      );
      try {
        await expectProblem(await fx.send(path, { method: 'DELETE', headers: { cookie: p.cookie } }), 503, 'ERR_UNAVAILABLE');
        // A fresh action, whose challenge cannot be created, fails the same way.
        fx.sw.gate.set(
          { kind: 'reject', message: 'fault-injected: Durable Object reset' },
          (m) => m === 'openChallenge' || m === 'createChallenge',
        );
        await expectProblem(
          await fx.send('/api/projects/51?m=fault-do-gate', { method: 'DELETE', headers: { cookie: p.cookie } }),
          503,
          'ERR_UNAVAILABLE',
        );
        expect(fx.sw.gate.calls).toEqual(['consumeApproval', expect.stringMatching(/^(open|create)Challenge$/)]);
      } finally {
        fx.sw.gate.clear();
      }
      expect(await originSaw('m=fault-do-gate')).toEqual([]);
      expect(await eventsOf('fault-gate', ['grant.used'])).toEqual([]);
      expect((await fx.send(path, { method: 'DELETE', headers: { cookie: p.cookie } })).status).toBe(200);
      expect((await fx.send(path, { method: 'DELETE', headers: { cookie: p.cookie } })).status).toBe(401);
      expect(await originSaw('m=fault-do-gate')).toEqual([`DELETE ${path}`]);
      expect(await eventsOf('fault-gate', ['grant.used'])).toHaveLength(1);
    },
  );

  it('UserState throws inside the object (its SQLite table gone): 503 without the SQLite error; then 401 with a challenge', async () => {
    const p = await enrolTotp('fault-gate-sql');
    const stub = env.USER_STATE.get(env.USER_STATE.idFromName('user:fault-gate-sql'));
    const path = '/api/projects/52?m=fault-do-sql';
    await runInDurableObject(stub, (_gate, state) => void state.storage.sql.exec('ALTER TABLE challenges RENAME TO challenges_away'));
    try {
      await expectProblem(await gw(path, { method: 'DELETE', headers: { cookie: p.cookie } }), 503, 'ERR_UNAVAILABLE');
    } finally {
      await runInDurableObject(stub, (_gate, state) => void state.storage.sql.exec('ALTER TABLE challenges_away RENAME TO challenges'));
    }
    expect(logs.some((l) => l.includes('stepgate: internal error') && l.includes('no such table'))).toBe(true); // for the operator only
    await challengeFor(p, path);
    expect(await originSaw('m=fault-do-sql')).toEqual([]);
  });

  it(
    'AuditSequencer stub rejects, then is slow: ' + '503 ERR_AUDIT_UNAVAILABLE and nothing forwarded; slow only delays; then it passes',
    async () => {
      const p = await enrolTotp('fault-seq');
      const path = '/admin/settings?m=fault-do-seq';
      const send = settings(await sessionGrant(p, path), fx.send);
      fx.sw.audit.set({ kind: 'reject', message: 'fault-injected: Durable Object is overloaded' }, (m) => m === 'append');
      try {
        await expectProblem(await send(path), 503, 'ERR_AUDIT_UNAVAILABLE');
      } finally {
        fx.sw.audit.clear();
      }
      expect(await originSaw('m=fault-do-seq')).toEqual([]);
      fx.sw.audit.set({ kind: 'delay', ms: 500 }, (m) => m === 'append');
      const t0 = Date.now();
      try {
        expect((await send(path)).status).toBe(200);
      } finally {
        fx.sw.audit.clear();
      }
      expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
      expect((await send(path)).status).toBe(200);
      expect(await originSaw('m=fault-do-seq')).toEqual([`POST ${path}`, `POST ${path}`]);
      expect(await eventsOf('fault-seq', ['grant.used'])).toHaveLength(2);
      await expectChainIntact();
    },
  );

  it(
    'AuditSequencer reset (state.abort) in the middle of a burst of forwards: ' +
      'each one forwarded has its grant.used; the reloaded head continues the chain without a fork or gap',
    async () => {
      const p = await enrolTotp('fault-burst');
      const cookies = await sessionGrant(p, '/admin/settings?m=fault-burst-x');
      const send = settings(cookies);
      const before = await expectChainIntact();
      const seqr = () => env.AUDIT_SEQUENCER.get(env.AUDIT_SEQUENCER.idFromName('tenant:default'));
      const markers = Array.from({ length: 30 }, (_, i) => `m=fault-burst-${String(i).padStart(2, '0')}`);
      const inflight = markers.map((m) => send(`/admin/settings?${m}`));
      await sleep(5);
      const aborted = await runInDurableObject(seqr(), (_s, state) => state.abort('fault-injected reset')).then(
        () => 'no',
        () => 'yes',
      );
      expect(aborted).toBe('yes');
      const answers = await Promise.all(inflight);
      const ok: string[] = [];
      for (const [i, r] of answers.entries()) {
        if (r.status === 200) ok.push(markers[i]!);
        else {
          const code = ((await r.clone().json()) as { code: string }).code;
          expect(['ERR_AUDIT_UNAVAILABLE', 'ERR_UNAVAILABLE']).toContain(code);
          await expectProblem(r, 503, code);
        }
      }
      console.info(`burst across a sequencer reset: ${ok.length}/30 forwarded, ${30 - ok.length} refused with 503`);
      // The origin saw exactly the requests that were answered 200, and each has its grant.used.
      const seen = (await originSaw('m=fault-burst-')).map((s) => s.split('?')[1]);
      expect(seen.sort()).toEqual([...ok].sort());
      const used = await eventsOf('fault-burst', ['grant.used']);
      const refs = new Set(used.map((e) => e.request?.query_sha256));
      for (const m of ok) expect(refs.has(await hashRef(m)), `grant.used for ${m}`).toBe(true);
      // The chain continues after the reset: the new instance reloads its head from D1 and storage.
      expect((await send('/admin/settings?m=fault-burst-after')).status).toBe(200);
      // Its request.forwarded is written after the response; let it land before reading the head.
      const ref = await hashRef('m=fault-burst-after');
      for (let i = 0; i < 100 && !(await eventsOf('fault-burst', ['request.forwarded'])).some((e) => e.request?.query_sha256 === ref); i++)
        await sleep(20);
      const after = await expectChainIntact();
      expect(after).toBeGreaterThan(before + ok.length);
      const remembered = await runInDurableObject(seqr(), (_s, state) => state.storage.get<{ seq: number }>('head'));
      expect(remembered?.seq).toBe(after);
    },
  );

  it(
    'UserState reset while a request is held for the extension: ' +
      'the held request ends with 503, is never forwarded; the approval still counts once',
    async () => {
      const p = await enrolTotp('fault-held');
      const path = '/api/projects/53?m=fault-do-held';
      const held = gw(path, {
        method: 'DELETE',
        headers: { cookie: p.cookie, 'stepgate-extension': '1', 'sec-fetch-mode': 'cors', origin: ORIGIN },
      });
      let challenge: string | undefined;
      for (let i = 0; i < 100 && !challenge; i++) {
        const list = (await (await gw('/.stepgate/api/challenges', { headers: { cookie: p.cookie } })).json()) as {
          challenges: { id: string; held: boolean }[];
        };
        challenge = list.challenges.find((c) => c.held)?.id;
        if (!challenge) await sleep(20);
      }
      expect(challenge).toBeDefined();
      const stub = env.USER_STATE.get(env.USER_STATE.idFromName('user:fault-held'));
      await runInDurableObject(stub, (_g, state) => state.abort('fault-injected reset')).catch(() => undefined);
      const ended = await Promise.race([held, sleep(10_000).then(() => null)]);
      expect(ended, 'the held request ended').not.toBeNull();
      await expectProblem(ended!, 503, 'ERR_UNAVAILABLE');
      expect(await originSaw('m=fault-do-held')).toEqual([]);

      // The challenge survived in the object's storage; approving it now records an approval, and
      // (nobody is waiting any more) the repeated request spends it, once.
      const ok = await post(
        `/.stepgate/api/challenges/${challenge}/verify`,
        p.cookie,
        { method: 'totp', code: await p.code() },
        { origin: EXT },
      );
      expect(ok.status).toBe(200);
      expect(await originSaw('m=fault-do-held')).toEqual([]);
      expect((await gw(path, { method: 'DELETE', headers: { cookie: p.cookie } })).status).toBe(200);
      expect((await gw(path, { method: 'DELETE', headers: { cookie: p.cookie } })).status).toBe(401);
      expect(await originSaw('m=fault-do-held')).toEqual([`DELETE ${path}`]);
      expect(await eventsOf('fault-held', ['grant.used'])).toHaveLength(1);
    },
  );
});
