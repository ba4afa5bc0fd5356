/** Regressions for flaws a security review found in the step-up ceremony. */
import { createExecutionContext, env } from 'cloudflare:test';
import { generate } from 'otplib';
import { beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../../edge/gateway';
import { sessionCookie } from '../support/session';

const ORIGIN = 'http://app.test';
const gateway = createGateway(env, {
  version: 1,
  rules: [
    {
      id: 'rename-project',
      match: { methods: ['POST'], path: '/api/projects/*' },
      require: { factors: ['totp', 'recovery'], bind: 'action' },
    },
    { id: 'delete-project', match: { methods: ['DELETE'], path: '/api/projects/*' }, require: { factors: ['webauthn'], bind: 'action' } },
  ],
});
const call = (path: string, init: RequestInit) => gateway.fetch(new Request(`${ORIGIN}${path}`, init), env, createExecutionContext());
const api = (path: string, cookie: string, body: unknown = {}) =>
  call(path, { method: 'POST', body: JSON.stringify(body), headers: { cookie, origin: ORIGIN, 'content-type': 'application/json' } });
const now = () => Math.floor(Date.now() / 1000);

let cookie: string;
let secret: string;
let recovery: string[];

beforeAll(async () => {
  cookie = await sessionCookie('rita', 'rita-1');
  const start = (await (await api('/.stepgate/api/factors/totp', cookie)).json()) as { id: string; secret: string };
  secret = start.secret;
  const confirm = await api(`/.stepgate/api/factors/totp/${start.id}/confirm`, cookie, {
    code: await generate({ secret, epoch: now() - 30 }),
  });
  recovery = ((await confirm.json()) as { recovery_codes: string[] }).recovery_codes;
});

describe('review regressions', () => {
  it('an approval of a POST does not pass the same POST claiming DELETE (another rule)', async () => {
    const body = '{"name":"renamed"}';
    const headers = { cookie, 'content-type': 'application/json' };
    const held = await call('/api/projects/60', { method: 'POST', body, headers });
    expect(await held.json()).toMatchObject({ rule: 'rename-project' });
    const { challenge_id } = (await (await call('/api/projects/60', { method: 'POST', body, headers })).json()) as { challenge_id: string };
    expect(
      (
        await api(`/.stepgate/api/challenges/${challenge_id}/verify`, cookie, {
          method: 'totp',
          code: await generate({ secret, epoch: now() }),
        })
      ).status,
    ).toBe(200);
    const smuggled = await call('/api/projects/60', { method: 'POST', body, headers: { ...headers, 'x-http-method-override': 'DELETE' } });
    expect(smuggled.status).toBe(401);
    expect(await smuggled.json()).toMatchObject({ rule: 'delete-project', factors: ['webauthn'] });
    // The approval is still there for the request it was given for.
    expect((await call('/api/projects/60', { method: 'POST', body, headers })).status).not.toBe(401);
  });

  it('a recovery code does not pass a passkey-only rule', async () => {
    const { challenge_id } = (await (await call('/api/projects/61', { method: 'DELETE', headers: { cookie } })).json()) as {
      challenge_id: string;
    };
    const r = await api(`/.stepgate/api/challenges/${challenge_id}/verify`, cookie, { method: 'recovery', code: recovery[0] });
    expect(r.status).toBe(400);
  });

  it('a pending TOTP planted before the first enrolment cannot be switched on later without a step-up', async () => {
    const victim = await sessionCookie('vera', 'vera-stolen');
    const planted = (await (await api('/.stepgate/api/factors/totp', victim)).json()) as { id: string; secret: string };
    const own = (await (await api('/.stepgate/api/factors/totp', victim)).json()) as { id: string; secret: string };
    expect(
      (await api(`/.stepgate/api/factors/totp/${own.id}/confirm`, victim, { code: await generate({ secret: own.secret, epoch: now() }) }))
        .status,
    ).toBe(200);
    const later = await sessionCookie('vera', 'vera-attacker');
    const r = await api(`/.stepgate/api/factors/totp/${planted.id}/confirm`, later, {
      code: await generate({ secret: planted.secret, epoch: now() }),
    });
    expect(r.status).toBe(403);
  });
});

describe('held requests too large for the Durable Object', () => {
  it('are not held (the person repeats the action) rather than failing with 503', async () => {
    const big = createGateway(env, {
      version: 1,
      maxInspectBytes: 4 * 1024 * 1024,
      rules: [{ id: 'upload', match: { methods: ['POST'], path: '/admin/**' }, require: { factors: ['totp'], bind: 'action' } }],
    });
    const res = await big.fetch(
      new Request(`${ORIGIN}/admin/import`, {
        method: 'POST',
        body: 'x'.repeat(1_500_000),
        headers: { cookie, 'sec-fetch-mode': 'navigate', accept: 'text/html', 'content-type': 'application/octet-stream' },
      }),
      env,
      createExecutionContext(),
    );
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('data-held="0"');
  });
});
