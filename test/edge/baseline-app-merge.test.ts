/**
 * A baseline is refused when some app of the organisation could not run it: the app's policy behind
 * it must validate (e.g. an app rule id `baseline.<id>`, saved before the prefix was reserved or edited
 * in D1, meets a baseline rule), or the app would stop loading (503 in new isolates, the copy without
 * the baseline in warm ones). Real D1 and Durable Objects.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createOrg } from '../../edge/admin/org-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { as, bodyOf, type Caller, newGateway, person, type Send } from './admin-callers';
import { seedApp } from './seed-apps';

const ring = parseKeyring(env.STEPGATE_KEYS);
const HOST = 'review13-registry.test';
const ORG = 'rv13r';
const BASE = `/.stepgate/api/admin/orgs/${ORG}/policy-baseline`;
let appId: string;
let olga: Caller;

const own = { id: 'own', match: { path: '/own/**' }, require: { factors: ['totp'], bind: 'session' } };

beforeAll(async () => {
  expect(
    (await createOrg(env.DB, { id: ORG, name: 'Rv13r', now: Date.now(), owner: { ring, sub: `${ORG}/olga`, grantedBy: 'seed' } })).ok,
  ).toBe(true);
  appId = (await seedApp({ org: ORG, name: 'rv13r', hosts: [HOST], originUrl: inject('originUrl'), policy: { version: 1, rules: [own] } }))
    .id;
  // A policy saved before checkPolicy reserved "baseline." ids (or edited in D1): validatePolicy alone accepts it.
  const legacy = JSON.stringify({ version: 1, rules: [{ ...own, id: 'baseline.admin' }] });
  await env.DB.prepare('UPDATE app_policies SET document_json = ? WHERE app_id = ?').bind(legacy, appId).run();
  olga = await person(newGateway(), 'olga', HOST);
}, 60_000);

describe('a baseline every app of the organisation can run', () => {
  it('a baseline whose rule id meets an app rule "baseline.<id>" is refused naming the app; gateways keep serving', async () => {
    let t = 0;
    const warm: Send = newGateway({ now: () => Date.now() + t });
    expect((await warm(`http://${HOST}/admin/x`, { headers: { 'stepgate-dev-user': 'nina' } })).status).not.toBe(503);

    const r = await as(newGateway(), olga, 'PUT', BASE, {
      policy: { version: 1, rules: [{ id: 'admin', match: { path: '/admin/**' }, require: { factors: ['webauthn'], bind: 'session' } }] },
    });
    expect(r.status).toBe(400);
    const body = await bodyOf(r);
    expect(JSON.stringify(body)).toContain(`app \\"rv13r\\" (${appId})`);
    expect(JSON.stringify(body)).toMatch(/baseline\.admin/);
    // Nothing was stored: a new isolate loads the app as before, and so does the warm one.
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM org_policy_baselines WHERE org_id = ?').bind(ORG).first('n')).toBe(0);
    const cold = newGateway();
    expect((await cold(`http://${HOST}/anything`, { headers: { 'stepgate-dev-user': 'nina' } })).status).not.toBe(503);
    t += 11_000;
    await warm(`http://${HOST}/warm`, { headers: { 'stepgate-dev-user': 'nina' } });
    t += 11_000;
    expect((await warm(`http://${HOST}/own/x`, { headers: { 'stepgate-dev-user': 'nina' } })).status).toBe(401);
  });

  it('a baseline that does not meet the app id is saved and enforced', async () => {
    const r = await as(newGateway(), olga, 'PUT', BASE, {
      policy: {
        version: 1,
        rules: [{ id: 'console', match: { path: '/console/**' }, require: { factors: ['webauthn'], bind: 'session' } }],
      },
    });
    expect(r.status).toBe(200);
    const cold = newGateway();
    const res = await cold(`http://${HOST}/console/x`, { headers: { 'stepgate-dev-user': 'nina' } });
    expect(res.status).toBe(401);
    expect(await bodyOf(res)).toMatchObject({ rule: 'baseline.console' });
  });
});
