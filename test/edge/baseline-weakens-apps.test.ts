/**
 * The organisation baseline runs FIRST in every app, and the first matching rule applies, so a
 * baseline rule that asks for less than an app rule shadows it. A baseline change is therefore
 * classified for every app of the organisation too (edge/admin/baseline-impact.ts): adding such a
 * rule, even with an admin:write token, is a proposal naming the app, and the gateway keeps the
 * app's own rule until a second person approves. Real D1 and Durable Objects.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createOrg } from '../../edge/admin/org-store';
import { grantRole } from '../../edge/admin/role-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { as, bodyOf, type Caller, newGateway, person, type Send } from './admin-callers';
import { seedApp } from './seed-apps';

const ring = parseKeyring(env.STEPGATE_KEYS);
const HOST = 'review13-shadow.test';
const ORG = 'rv13s';
const BASE = `/.stepgate/api/admin/orgs/${ORG}/policy-baseline`;
let offset = 0;
const gw: Send = newGateway({ now: () => Date.now() + offset });
let api: string;
let adam: Caller; // admin (a single person)

/** The app's own rule: deleting a project needs a passkey approval of that one request. */
const deleteRule = {
  id: 'delete-project',
  match: { methods: ['DELETE'], path: '/api/projects/*' },
  require: { factors: ['webauthn'], bind: 'action' },
};
/** What the admin adds to the baseline: anything, one TOTP or recovery-code step-up a day. */
const lax = {
  id: 'everything',
  match: { path: '/api/**' },
  require: { factors: ['webauthn', 'totp', 'recovery'], bind: 'session', maxAge: '24h' },
};

beforeAll(async () => {
  const now = Date.now();
  expect((await createOrg(env.DB, { id: ORG, name: 'Rv13s', now, owner: { ring, sub: `${ORG}/olga`, grantedBy: 'seed' } })).ok).toBe(true);
  expect((await grantRole(env.DB, ring, { orgId: ORG, sub: `${ORG}/adam`, role: 'admin', grantedBy: `${ORG}/olga`, now })).ok).toBe(true);
  const app = await seedApp({
    org: ORG,
    name: 'rv13s',
    hosts: [HOST],
    originUrl: inject('originUrl'),
    policy: { version: 1, rules: [deleteRule] },
    createdBy: `${ORG}/olga`,
  });
  api = `/.stepgate/api/admin/orgs/${ORG}/apps/${app.id}/policy`;
  adam = await person(gw, 'adam', HOST, { now: () => Date.now() + offset });
}, 60_000);

describe('a baseline rule that shadows a stricter app rule needs a second person', () => {
  it('the same edit on the app and through the baseline (token) is a proposal; the gateway keeps the app rule', async () => {
    // On the app itself, putting the lax rule first is a weakening: a proposal for a second person.
    const direct = await as(gw, adam, 'PUT', api, { policy: { version: 1, rules: [lax, deleteRule] } });
    expect(direct.status).toBe(202);

    // Through the baseline, with an admin:write token (no browser, no fresh step-up).
    const token = String(
      (await bodyOf(await as(gw, adam, 'POST', '/.stepgate/api/tokens', { scopes: ['admin:write'], label: 'ci' }))).token,
    );
    const viaToken = (body: unknown) =>
      gw(`http://${HOST}${BASE}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    // A first baseline that shadows nothing is in force at once ...
    const harmless = { id: 'admin', match: { path: '/admin/**' }, require: { factors: ['webauthn'], bind: 'action' } };
    expect((await viaToken({ policy: { version: 1, rules: [harmless] } })).status).toBe(200);
    // ... adding the lax rule only "adds a rule" to the baseline, but shadows the app's delete rule: 202, naming the app.
    const r = await viaToken({ policy: { version: 1, rules: [harmless, lax] } });
    expect(r.status).toBe(202);
    const body = await bodyOf(r);
    expect(body).toMatchObject({ state: 'proposed', weakens: true });
    expect(JSON.stringify(body.changes)).toMatch(/In app \\"rv13s\\".*delete-project/);
    // Nobody can approve with a token; the GET shows the app's reasons to the second person.
    const proposal = (await bodyOf(await as(gw, adam, 'GET', BASE))).proposal as { changes: { message: string }[] };
    expect(proposal.changes.map((c) => c.message).join('\n')).toMatch(/In app "rv13s"/);

    // The gateway still asks the app's passkey approval for DELETE /api/projects/7.
    offset += 11_000;
    await gw(`http://${HOST}/warm`, { headers: { 'stepgate-dev-user': 'nina' } });
    offset += 11_000;
    const res = await gw(`http://${HOST}/api/projects/7`, { method: 'DELETE', headers: { 'stepgate-dev-user': 'nina' } });
    expect(res.status).toBe(401);
    expect(await bodyOf(res)).toMatchObject({ rule: 'delete-project' });
    const t = await bodyOf(await as(gw, adam, 'POST', `${api}/test`, { method: 'DELETE', url: '/api/projects/7' }));
    expect(t).toMatchObject({ rule: 'delete-project', outcome: 'approve-action' });
  });

  it('a first baseline that shadows an app rule waits too (an empty baseline is in force meanwhile)', async () => {
    await env.DB.prepare('DELETE FROM org_policy_baselines WHERE org_id = ?').bind(ORG).run();
    const r = await as(gw, adam, 'PUT', BASE, { policy: { version: 1, rules: [lax] } });
    expect(r.status).toBe(202);
    expect(JSON.stringify((await bodyOf(r)).changes)).toMatch(/In app \\"rv13s\\"/);
    const now = (await bodyOf(await as(gw, adam, 'GET', BASE))) as { baseline: { policy: unknown }; proposal: { hash: string } | null };
    expect(now.baseline.policy).toEqual({ version: 1, rules: [] });
    expect(now.proposal).not.toBeNull();
  });
});
