/** Enrolment by invitation: only admins issue them, after a fresh step-up, never for themselves; each works once, for its own user. */
import { createExecutionContext, env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { generate } from 'otplib';
import { beforeAll, describe, expect, it } from 'vitest';
import demoPolicy from '../../edge/config/policy.json';
import { createGateway } from '../../edge/gateway';
import { sessionCookie } from '../support/session';

const ORIGIN = 'http://app.test';
const worker = (exports as unknown as { default: Fetcher }).default;
const invitePolicy = { ...demoPolicy, enrolment: 'invite' };
const inviteGateway = createGateway(env, invitePolicy);
const post = (via: 'demo' | 'invite', path: string, cookie: string, body: unknown = {}) => {
  const req = new Request(`${ORIGIN}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { cookie, origin: ORIGIN, 'content-type': 'application/json' } });
  return via === 'demo' ? worker.fetch(req) : inviteGateway.fetch(req, env, createExecutionContext());
};
const now = () => Math.floor(Date.now() / 1000);

let admin: string; // alice, named in ADMINS (wrangler.toml)
let adminWithGrant: string;

beforeAll(async () => {
  admin = await sessionCookie('alice', 'inv-admin');
  const start = (await (await post('demo', '/.stepgate/api/factors/totp', admin)).json()) as { id: string; secret: string };
  expect((await post('demo', `/.stepgate/api/factors/totp/${start.id}/confirm`, admin, { code: await generate({ secret: start.secret, epoch: now() - 30 }) })).status).toBe(200);
  const { challenge_id } = (await (await post('demo', '/.stepgate/api/factors/step-up', admin)).json()) as { challenge_id: string };
  const ok = await post('demo', `/.stepgate/api/challenges/${challenge_id}/verify`, admin, { method: 'totp', code: await generate({ secret: start.secret, epoch: now() }) });
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
