/**
 * A strengthening policy version applies at once to grants already given too: a session grant names
 * its rule by id, and is checked against the factors and maxAge that rule has in the active version
 * (edge/grants/grant-meets-rule.ts), so a grant made under a weaker requirement stops passing.
 */
import { env } from 'cloudflare:test';
import { generate } from 'otplib';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createOrg } from '../../edge/admin/org-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { grantMeetsRule } from '../../edge/grants/grant-meets-rule';
import { as, callWith, type Caller, enrol, newGateway, person, type Send } from './admin-callers';
import { seedApp } from './seed-apps';

const ring = parseKeyring(env.STEPGATE_KEYS);
const HOST = 'grant-stricter-rule.test';
const ORG = 'rv13g';
let api: string;
let offset = 0;
const now = () => Date.now() + offset;
const gw: Send = newGateway({ now });
let olga: Caller;

const weak = { id: 'g', match: { path: '/g/**' }, require: { factors: ['webauthn', 'totp'], bind: 'session', maxAge: '1h' } };
const strong = { id: 'g', match: { path: '/g/**' }, require: { factors: ['webauthn'], bind: 'session', maxAge: '5m' } };

beforeAll(async () => {
  expect(
    (await createOrg(env.DB, { id: ORG, name: 'Rv13g', now: Date.now(), owner: { ring, sub: `${ORG}/olga`, grantedBy: 'seed' } })).ok,
  ).toBe(true);
  const app = await seedApp({
    org: ORG,
    name: 'rv13g',
    hosts: [HOST],
    originUrl: inject('originUrl'),
    policy: { version: 1, rules: [weak] },
    createdBy: `${ORG}/olga`,
  });
  api = `/.stepgate/api/admin/orgs/${ORG}/apps/${app.id}/policy`;
  olga = await person(gw, 'olga', HOST, { now });
}, 60_000);

describe('grants across a strengthening version', () => {
  it('a totp grant from the old version no longer passes the rule once it requires webauthn (and a shorter maxAge)', async () => {
    const nina = { 'stepgate-dev-user': 'nina' };
    const secret = await enrol(gw, HOST, nina, now);
    const first = await gw(`http://${HOST}/g/1`, { headers: nina });
    expect(first.status).toBe(401);
    const { challenge_id } = (await first.json()) as { challenge_id: string };
    const ok = await callWith(gw, nina, HOST, 'POST', `/.stepgate/api/challenges/${challenge_id}/verify`, {
      method: 'totp',
      code: await generate({ secret, epoch: Math.floor(now() / 1000) }),
    });
    expect(ok.status).toBe(200);
    const grant = ok.headers.get('set-cookie')!.split(';')[0]!;
    const withGrant = { ...nina, cookie: grant };
    expect((await gw(`http://${HOST}/g/2`, { headers: withGrant })).status).not.toBe(401); // reached the origin (its 404)

    // An owner strengthens rule g: webauthn only, 5 minutes. Applied at once (200).
    const r = await as(gw, olga, 'PUT', api, { policy: { version: 1, rules: [strong] }, comment: 'phishing-resistant' });
    expect(r.status).toBe(200);
    // Past the registry refresh (the grant itself is still within its own 1 h).
    offset += 11_000;
    await gw(`http://${HOST}/g/warm`, { headers: nina });
    offset += 11_000;
    await gw(`http://${HOST}/g/warm2`, { headers: nina });
    const after = await gw(`http://${HOST}/g/3`, { headers: withGrant });
    expect((await gw(`http://${HOST}/g/4`, { headers: nina })).status).toBe(401); // the new version is in force
    expect(after.status).toBe(401); // ... for the holder of an old totp grant too: it is not a passkey
  });
});

describe('grantMeetsRule', () => {
  const at = 1_000_000;
  it('takes the factor the grant was made with, within the rule’s maxAge as it is now', () => {
    expect(grantMeetsRule({ amr: ['otp'], auth_time: at }, { factors: ['webauthn', 'totp'], maxAgeSeconds: 300 }, at + 300)).toBe(true);
    expect(grantMeetsRule({ amr: ['hwk', 'user'], auth_time: at }, { factors: ['webauthn'], maxAgeSeconds: 300 }, at)).toBe(true);
    expect(grantMeetsRule({ amr: ['recovery'], auth_time: at }, { factors: ['totp', 'recovery'], maxAgeSeconds: 60 }, at)).toBe(true);
  });
  it('refuses a factor the rule no longer accepts, an age past its maxAge, and an amr it does not know', () => {
    expect(grantMeetsRule({ amr: ['otp'], auth_time: at }, { factors: ['webauthn'], maxAgeSeconds: 3600 }, at)).toBe(false);
    expect(grantMeetsRule({ amr: ['hwk'], auth_time: at }, { factors: ['webauthn'], maxAgeSeconds: 300 }, at + 301)).toBe(false);
    expect(grantMeetsRule({ amr: ['pwd'], auth_time: at }, { factors: ['webauthn', 'totp', 'recovery'], maxAgeSeconds: 300 }, at)).toBe(
      false,
    );
    expect(grantMeetsRule({ amr: [], auth_time: at }, { factors: ['webauthn'], maxAgeSeconds: 300 }, at)).toBe(false);
  });
});
