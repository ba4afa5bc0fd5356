/**
 * The whole step-up with TOTP and recovery codes through the real Worker, Durable Object and D1,
 * in front of the real demo app: enrol, get challenged, approve, and pass exactly once.
 */
import { exports } from 'cloudflare:workers';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { generate } from 'otplib';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { sessionCookie } from '../support/session';
import { MAX_CHALLENGES_PER_SESSION_PER_MINUTE } from '../../edge/user-state/limits';

const worker = (exports as unknown as { default: Fetcher }).default;
const ORIGIN = 'http://app.test';
const gw = (path: string, init: RequestInit = {}) => worker.fetch(new Request(`${ORIGIN}${path}`, init));
const api = (path: string, cookie: string, body: unknown = {}, headers: Record<string, string> = {}) =>
  gw(path, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { cookie, origin: ORIGIN, 'content-type': 'application/json', ...headers },
  });
const now = () => Math.floor(Date.now() / 1000);
const challengeOf = async (res: Response) => ((await res.json()) as { challenge_id: string }).challenge_id;

let cookie: string;
let secret: string;
let recovery: string[];

beforeAll(async () => {
  cookie = await sessionCookie('tina', 'tina-session-1');
  const start = await api('/.stepgate/api/factors/totp', cookie);
  expect(start.status).toBe(201);
  const enrol = (await start.json()) as { id: string; secret: string; otpauth_uri: string; qr_svg: string };
  secret = enrol.secret;
  expect(enrol.otpauth_uri).toMatch(/^otpauth:\/\/totp\/.*secret=[A-Z2-7]+.*issuer=/);
  expect(enrol.qr_svg).toContain('<svg');
  const confirm = await api(`/.stepgate/api/factors/totp/${enrol.id}/confirm`, cookie, {
    code: await generate({ secret, epoch: now() - 30 }),
  });
  expect(confirm.status).toBe(200);
  recovery = ((await confirm.json()) as { recovery_codes: string[] }).recovery_codes;
  expect(recovery).toHaveLength(10);
});

describe('enrolment', () => {
  it('refuses a second factor without a fresh step-up with the first', async () => {
    const res = await api('/.stepgate/api/factors/totp', cookie);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'ERR_FRESH_STEP_UP_REQUIRED' });
  });

  it('lists the factor and the recovery codes left', async () => {
    const res = await gw('/.stepgate/api/factors', { headers: { cookie } });
    expect(await res.json()).toMatchObject({ totp: [{ id: expect.any(String) }], recovery_codes_left: 10, enrolment: 'first-use' });
  });
});

describe('an action approved with TOTP passes exactly once', () => {
  it('DELETE → 401 challenge → TOTP approves → the identical DELETE is forwarded once', async () => {
    const first = await gw('/api/projects/2', { method: 'DELETE', headers: { cookie } });
    expect(first.status).toBe(401);
    const id = await challengeOf(first);

    const ok = await api(`/.stepgate/api/challenges/${id}/verify`, cookie, {
      method: 'totp',
      code: await generate({ secret, epoch: now() }),
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ approved: true, bind: 'action', rule: 'delete-project' });

    // A different action is not covered by the approval.
    expect((await gw('/api/projects/1', { method: 'DELETE', headers: { cookie } })).status).toBe(401);

    const retry = await gw('/api/projects/2?m=assert1', { method: 'DELETE', headers: { cookie, 'stepgate-assertion': 'forged' } });
    expect(retry.status).toBe(401); // the query is part of the action: a different request
    const exact = await gw('/api/projects/2', { method: 'DELETE', headers: { cookie, 'stepgate-assertion': 'forged' } });
    expect(exact.status).toBe(200);
    expect(await exact.json()).toEqual({ deleted: 2, by: 'tina' });

    // The origin received a Stepgate-Assertion it can verify with the published keys.
    const seen = (
      (await (await fetch(`${inject('originUrl')}/__demo/requests`)).json()) as {
        method: string;
        url: string;
        headers: Record<string, string>;
      }[]
    ).filter((r) => r.method === 'DELETE' && r.url === '/api/projects/2');
    expect(seen).toHaveLength(1);
    const jwks = createLocalJWKSet((await (await gw('/.well-known/stepgate/jwks.json')).json()) as { keys: [] });
    const { payload, protectedHeader } = await jwtVerify(seen[0]!.headers['stepgate-assertion']!, jwks, {
      issuer: 'stepgate',
      audience: 'app.test',
    });
    expect(protectedHeader.alg).toBe('EdDSA');
    expect(payload).toMatchObject({ sub: 'tina', rule: 'delete-project', amr: ['otp'], act: expect.stringMatching(/^[\w-]{43}$/) });
    expect(payload.exp! - payload.iat!).toBe(60);
    const again = await gw('/api/projects/2', { method: 'DELETE', headers: { cookie } });
    expect(again.status).toBe(401);
  });

  it('the same TOTP code never passes twice (replay)', async () => {
    const code = await generate({ secret, epoch: now() + 30 });
    const a = await challengeOf(await gw('/api/projects/77', { method: 'DELETE', headers: { cookie } }));
    const b = await challengeOf(await gw('/api/projects/78', { method: 'DELETE', headers: { cookie } }));
    expect((await api(`/.stepgate/api/challenges/${a}/verify`, cookie, { method: 'totp', code })).status).toBe(200);
    const replay = await api(`/.stepgate/api/challenges/${b}/verify`, cookie, { method: 'totp', code });
    expect(replay.status).toBe(401);
    expect(await replay.json()).toMatchObject({ code: 'ERR_FACTOR_REPLAYED' });
  });

  it('20 concurrent retries of one approved action: exactly one reaches the origin', async () => {
    // A session of its own: the 19 retries that are challenged again use up its challenge ration.
    const own = await sessionCookie('tina', 'tina-session-retries');
    const id = await challengeOf(await gw('/api/projects/3', { method: 'DELETE', headers: { cookie: own } }));
    const code = recovery.pop()!;
    expect((await api(`/.stepgate/api/challenges/${id}/verify`, own, { method: 'recovery', code })).status).toBe(200);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => gw('/api/projects/3', { method: 'DELETE', headers: { cookie: own } })),
    );
    // The others are challenged again, and past the session's ration (the first challenge counts) refused with 429.
    const challenged = MAX_CHALLENGES_PER_SESSION_PER_MINUTE - 1;
    expect(results.map((r) => r.status).sort()).toEqual([200, ...Array(challenged).fill(401), ...Array(19 - challenged).fill(429)]);
  });
});

describe('a session grant from a recovery code', () => {
  it('covers the rule for this user and session only, and never reaches the origin as a cookie', async () => {
    const held = await gw('/admin/settings', {
      method: 'POST',
      body: '{"theme":"dark"}',
      headers: { cookie, 'content-type': 'application/json' },
    });
    expect(held.status).toBe(401);
    const id = await challengeOf(held);
    const code = recovery.pop()!;
    const ok = await api(`/.stepgate/api/challenges/${id}/verify`, cookie, { method: 'recovery', code });
    expect(ok.status).toBe(200);
    const setCookie = ok.headers.get('set-cookie')!;
    // http in development: no __Host-/Secure
    expect(setCookie).toMatch(/^stepgate-admin-writes=sg1\.[^;]+; Path=\/; Max-Age=300; HttpOnly; SameSite=Strict$/);
    const grantCookie = setCookie.split(';')[0]!;

    const pass = await gw('/admin/settings', {
      method: 'POST',
      body: '{"theme":"dark"}',
      headers: { cookie: `${cookie}; ${grantCookie}`, 'content-type': 'application/json' },
    });
    expect(pass.status).toBe(200);
    expect(await pass.json()).toMatchObject({ saved: { theme: 'dark' }, by: 'tina' });

    // The same grant in another session of the same user, or for another user, is worthless.
    const otherSession = await sessionCookie('tina', 'tina-session-2');
    expect(
      (
        await gw('/admin/settings', {
          method: 'POST',
          body: '{}',
          headers: { cookie: `${otherSession}; ${grantCookie}`, 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(401);
    const otherUser = await sessionCookie('uma', 'tina-session-1');
    expect(
      (
        await gw('/admin/settings', {
          method: 'POST',
          body: '{}',
          headers: { cookie: `${otherUser}; ${grantCookie}`, 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(401);
    // A recovery code is single use.
    const id2 = await challengeOf(
      await gw('/admin/users', { method: 'POST', body: '{}', headers: { cookie: otherSession, 'content-type': 'application/json' } }),
    );
    expect((await api(`/.stepgate/api/challenges/${id2}/verify`, otherSession, { method: 'recovery', code })).status).toBe(401);
  });
});

describe('the verify endpoint refuses', () => {
  let id: string;
  beforeAll(async () => {
    id = await challengeOf(await gw('/api/projects/90', { method: 'DELETE', headers: { cookie } }));
  });

  it.each([
    ['a cross-site Origin', { origin: 'https://evil.example' }, 403],
    ['a non-JSON body', { 'content-type': 'text/plain' }, 415],
  ])('%s', async (_n, headers, status) => {
    expect((await api(`/.stepgate/api/challenges/${id}/verify`, cookie, { method: 'totp', code: '000000' }, headers)).status).toBe(status);
  });

  it('no Origin and no Sec-Fetch-Site: same-origin', async () => {
    const res = await gw(`/.stepgate/api/challenges/${id}/verify`, {
      method: 'POST',
      body: '{"method":"totp","code":"000000"}',
      headers: { cookie, 'content-type': 'application/json' },
    });
    expect(res.status).toBe(403);
  });

  it.each([[{ method: 'sms', code: '1' }], [{ method: 'totp' }], [{ method: 'totp', code: '1', extra: 1 }]])(
    'a malformed body %j (400)',
    async (body) => {
      expect((await api(`/.stepgate/api/challenges/${id}/verify`, cookie, body)).status).toBe(400);
    },
  );

  it('another session’s one-time challenge without the number shown there (400, number matching), and another person’s (404)', async () => {
    const other = await sessionCookie('tina', 'tina-session-9');
    const r = await api(`/.stepgate/api/challenges/${id}/verify`, other, { method: 'totp', code: '000000' });
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ code: 'ERR_NUMBER_MISMATCH' });
    const stranger = await sessionCookie('not-tina', 'x-1');
    expect((await api(`/.stepgate/api/challenges/${id}/verify`, stranger, { method: 'totp', code: '000000' })).status).toBe(404);
  });
});

describe('brute force', () => {
  it('five wrong codes end a challenge; consecutive failures back off across sessions, and the person is told when to retry', async () => {
    const c = await sessionCookie('vic', 'vic-1');
    const start = (await (await api('/.stepgate/api/factors/totp', c)).json()) as { id: string; secret: string };
    await api(`/.stepgate/api/factors/totp/${start.id}/confirm`, c, { code: await generate({ secret: start.secret, epoch: now() - 30 }) });
    const id = await challengeOf(await gw('/api/projects/91', { method: 'DELETE', headers: { cookie: c } }));
    const statuses: number[] = [];
    let last: Record<string, unknown> = {};
    for (let i = 0; i < 6; i++) {
      const r = await api(`/.stepgate/api/challenges/${id}/verify`, c, { method: 'totp', code: '000000' });
      statuses.push(r.status);
      last = (await r.json()) as Record<string, unknown>;
    }
    expect(statuses.slice(0, 4)).toEqual([401, 401, 401, 401]);
    // The fifth failure starts the back-off, so the sixth attempt is refused until retry_at.
    expect(statuses[5]).toBe(429);
    expect(last).toMatchObject({ code: 'ERR_LOCKED_OUT', retry_at: expect.any(String) });
    // Another session of the same user is locked out too, even with the right code.
    const c2 = await sessionCookie('vic', 'vic-2');
    const id2 = await challengeOf(await gw('/api/projects/92', { method: 'DELETE', headers: { cookie: c2 } }));
    const locked = await api(`/.stepgate/api/challenges/${id2}/verify`, c2, {
      method: 'totp',
      code: await generate({ secret: start.secret, epoch: now() }),
    });
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toMatch(/^\d+$/);
  });
});

describe('a held browser request', () => {
  it('is carried out exactly once, however many times "continue" is posted at once', async () => {
    const nav = { cookie, 'sec-fetch-mode': 'navigate', accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' };
    const held = await gw('/api/projects/40', { method: 'POST', body: '_method=DELETE', headers: nav });
    expect(held.status).toBe(401);
    const id = held.headers.get('stepgate-challenge')!;
    expect(await held.text()).toContain(`action="/.stepgate/challenge/${id}/continue"`);

    // Before approval, "continue" finds nothing to carry out.
    const early = await gw(`/.stepgate/challenge/${id}/continue`, { method: 'POST', headers: { cookie, origin: ORIGIN } });
    expect(early.status).toBe(404);

    const code = recovery.pop()!;
    expect((await api(`/.stepgate/api/challenges/${id}/verify`, cookie, { method: 'recovery', code })).status).toBe(200);
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        gw(`/.stepgate/challenge/${id}/continue`, {
          method: 'POST',
          headers: { cookie, origin: ORIGIN, 'sec-fetch-mode': 'navigate' },
          redirect: 'manual',
        }),
      ),
    );
    // The demo app answers a form delete with 303 → /projects; every other attempt finds nothing.
    expect(results.map((r) => r.status).sort()).toEqual([303, ...Array(9).fill(404)]);
    const ids = ((await (await gw('/api/projects')).json()) as { id: number }[]).map((p) => p.id);
    expect(ids).not.toContain(40);
    expect(ids).toContain(41);
  });

  it('cannot be continued cross-site or from another session', async () => {
    const nav = { cookie, 'sec-fetch-mode': 'navigate', accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' };
    const held = await gw('/api/projects/93', { method: 'POST', body: '_method=DELETE', headers: nav });
    const id = held.headers.get('stepgate-challenge')!;
    expect((await api(`/.stepgate/api/challenges/${id}/verify`, cookie, { method: 'recovery', code: recovery.pop()! })).status).toBe(200);
    expect(
      (await gw(`/.stepgate/challenge/${id}/continue`, { method: 'POST', headers: { cookie, origin: 'https://evil.example' } })).status,
    ).toBe(403);
    const other = await sessionCookie('tina', 'tina-session-3');
    expect((await gw(`/.stepgate/challenge/${id}/continue`, { method: 'POST', headers: { cookie: other, origin: ORIGIN } })).status).toBe(
      404,
    );
  });
});

describe('a burst of parallel guesses', () => {
  it('meets the back-off as it starts: at most five guesses get checked, across any number of challenges', async () => {
    const c = await sessionCookie('walt', 'walt-1');
    const start = (await (await api('/.stepgate/api/factors/totp', c)).json()) as { id: string; secret: string };
    await api(`/.stepgate/api/factors/totp/${start.id}/confirm`, c, { code: await generate({ secret: start.secret, epoch: now() - 30 }) });
    const ids = await Promise.all(
      Array.from({ length: 10 }, async (_, i) =>
        challengeOf(await gw(`/api/projects/${200 + i}`, { method: 'DELETE', headers: { cookie: c } })),
      ),
    );
    const guesses = await Promise.all(
      ids.flatMap((id) =>
        Array.from({ length: 3 }, () => api(`/.stepgate/api/challenges/${id}/verify`, c, { method: 'totp', code: '000000' })),
      ),
    );
    const checked = guesses.filter((r) => r.status === 401).length;
    expect(checked).toBeLessThanOrEqual(5);
    expect(guesses.filter((r) => r.status === 429).length).toBe(30 - checked);
  });
});
