/**
 * Enrolment by invitation: only owners, admins (and an app's app-admins) issue them, after a fresh
 * step-up, never for themselves; each works once, for its own user.
 */
import { createExecutionContext, env, runInDurableObject } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { generate } from 'otplib';
import { beforeAll, describe, expect, it } from 'vitest';
import demoPolicy from '../../edge/config/policy.json';
import { createGateway } from '../../edge/gateway';
import { listEvents } from '../../edge/audit/audit-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { seedRole } from './seed-roles';
import { sessionCookie } from '../support/session';

const ORIGIN = 'http://app.test';
const worker = (exports as unknown as { default: Fetcher }).default;
const invitePolicy = { ...demoPolicy, enrolment: 'invite' };
const inviteGateway = createGateway(env, invitePolicy);
const post = (via: 'demo' | 'invite', path: string, cookie: string, body: unknown = {}) => {
  const req = new Request(`${ORIGIN}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { cookie, origin: ORIGIN, 'content-type': 'application/json' },
  });
  return via === 'demo' ? worker.fetch(req) : inviteGateway.fetch(req, env, createExecutionContext());
};
const now = () => Math.floor(Date.now() / 1000);

let admin: string; // alice, an admin of the default organisation (a role grant, seeded below)
let adminWithGrant: string;

beforeAll(async () => {
  await seedRole('alice', 'admin');
  admin = await sessionCookie('alice', 'inv-admin');
  const start = (await (await post('demo', '/.stepgate/api/factors/totp', admin)).json()) as { id: string; secret: string };
  expect(
    (
      await post('demo', `/.stepgate/api/factors/totp/${start.id}/confirm`, admin, {
        code: await generate({ secret: start.secret, epoch: now() - 30 }),
      })
    ).status,
  ).toBe(200);
  const { challenge_id } = (await (await post('demo', '/.stepgate/api/factors/step-up', admin)).json()) as { challenge_id: string };
  const ok = await post('demo', `/.stepgate/api/challenges/${challenge_id}/verify`, admin, {
    method: 'totp',
    code: await generate({ secret: start.secret, epoch: now() }),
  });
  expect(ok.status).toBe(200);
  adminWithGrant = `${admin}; ${ok.headers.get('set-cookie')!.split(';')[0]}`;
});

describe('enrolment invitations', () => {
  it('without an invitation, the first factor is refused under "invite"', async () => {
    const zed = await sessionCookie('zed', 'z-1');
    expect((await post('invite', '/.stepgate/api/factors/totp', zed)).status).toBe(403);
    expect((await post('invite', '/.stepgate/api/factors/totp', zed, { invite: 'AAAAA-AAAAA-AAAAA-AAAAA-AAAAA' })).status).toBe(403);
  });

  it('an admin with a fresh step-up invites; the code works once, for that user only', async () => {
    expect((await post('demo', '/.stepgate/api/admin/invites', admin, { user: 'zed' })).status).toBe(403); // no fresh step-up
    const r = await post('demo', '/.stepgate/api/admin/invites', adminWithGrant, { user: 'zed' });
    expect(r.status).toBe(201);
    const { invite } = (await r.json()) as { invite: string };

    const mallory = await sessionCookie('mallory', 'm-1');
    expect((await post('invite', '/.stepgate/api/factors/totp', mallory, { invite })).status).toBe(403); // not hers
    const zed = await sessionCookie('zed', 'z-1');
    expect((await post('invite', '/.stepgate/api/factors/totp', zed, { invite })).status).toBe(201);
    expect((await post('invite', '/.stepgate/api/factors/totp', zed, { invite })).status).toBe(403); // spent
  });

  it('nobody invites themselves, and non-admins cannot invite', async () => {
    expect((await post('demo', '/.stepgate/api/admin/invites', adminWithGrant, { user: 'alice' })).status).toBe(403);
    const bob = await sessionCookie('bob', 'b-1');
    expect((await post('demo', '/.stepgate/api/admin/invites', bob, { user: 'zed' })).status).toBe(403);
  });
});

describe('unlocking a locked-out person', () => {
  it('another administrator with a fresh step-up unlocks; nobody unlocks themselves; it is audited', async () => {
    const gate = env.USER_STATE.get(env.USER_STATE.idFromName('user:locked-lou'));
    // Lou reached the permanent lock (100 consecutive failures).
    await runInDurableObject(gate, (_i, state) => {
      state.storage.sql.exec(
        'INSERT INTO failures (id, consecutive, locked_until) VALUES (1, 100, 0) ON CONFLICT (id) DO UPDATE SET consecutive = 100',
      );
    });
    const lou = await sessionCookie('locked-lou', 'lou-1');
    const ch = await gate.createChallenge({
      sid: 'lou-session',
      rule: 'delete-project',
      bind: 'action',
      factors: ['totp'],
      maxAgeSeconds: 300,
      actionDigest: 'x',
      action: { method: 'DELETE', host: 'app.test', path: '/x', query: '', bodySha256: '' },
      matchedMethod: 'DELETE',
    });
    expect(await gate.beginAttempt(ch.id, ch.sid)).toEqual({ ok: false, reason: 'locked', retryAt: null });

    expect((await post('demo', '/.stepgate/api/admin/unlock', admin, { user: 'locked-lou' })).status).toBe(403); // no fresh step-up
    expect((await post('demo', '/.stepgate/api/admin/unlock', lou, { user: 'locked-lou' })).status).toBe(403); // not an admin
    expect((await post('demo', '/.stepgate/api/admin/unlock', adminWithGrant, { user: 'alice' })).status).toBe(403); // not yourself
    const r = await post('demo', '/.stepgate/api/admin/unlock', adminWithGrant, { user: 'locked-lou' });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ unlocked: true, user: 'locked-lou', consecutive_failures: 100 });
    expect(await gate.beginAttempt(ch.id, ch.sid)).toMatchObject({ ok: true });
    const { events } = await listEvents(
      env.DB,
      parseKeyring(env.STEPGATE_KEYS),
      'default',
      { types: ['user.unlocked'] },
      { limit: 5, order: 'desc' },
    );
    expect(events[0]!.event).toMatchObject({
      actor: 'alice',
      target: 'locked-lou',
      details: { org: 'default', app_id: 'bundled', consecutive_failures: 100 },
    });
  });
});
