/**
 * The organisation baseline through the admin API (issue 13, item 7), real D1 and Durable Objects:
 * who reads and who changes it; a strengthening change is in force at once and the gateway enforces
 * the baseline rule on every app of the organisation after its registry refresh; an app-admin's
 * policy that would weaken it is refused with the reason; a weakening baseline change waits for a
 * different owner or admin, never its author or a token; bad input changes nothing.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createOrg } from '../../edge/admin/org-store';
import { grantRole } from '../../edge/admin/role-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { as, bodyOf, type Caller, newGateway, person, type Send } from './admin-callers';
import { seedApp } from './seed-apps';

const ring = parseKeyring(env.STEPGATE_KEYS);
const HOST = 'baseline.test';
const ORG = 'bapi';
const BASE = `/.stepgate/api/admin/orgs/${ORG}/policy-baseline`;
let offset = 0;
const gw: Send = newGateway({ now: () => Date.now() + offset });
let appId: string;
let olga: Caller; // owner
let adam: Caller; // admin
let aude: Caller; // auditor
let apam: Caller; // app-admin of the app
let hank: Caller; // helpdesk

const adminRule = { id: 'admin', match: { path: '/admin/**' }, require: { factors: ['totp'], bind: 'session', maxAge: '5m' } };
const strong = { version: 1, rules: [adminRule] };

/** A request to the app by someone without a step-up, after the registry's refresh interval. */
const afterRefresh = async (path: string): Promise<Response> => {
  offset += 11_000;
  await gw(`http://${HOST}${path}?warm=${offset}`, { headers: { 'stepgate-dev-user': 'nina' } });
  return gw(`http://${HOST}${path}?m=${offset}`, { headers: { 'stepgate-dev-user': 'nina' } });
};
const stored = async () => env.DB.prepare('SELECT hash, proposed_hash FROM org_policy_baselines WHERE org_id = ?').bind(ORG).first();
const eventCount = async (type: string) =>
  (await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_events WHERE type = ?').bind(type).first<{ n: number }>())!.n;

beforeAll(async () => {
  const now = Date.now();
  expect((await createOrg(env.DB, { id: ORG, name: 'Baseline', now, owner: { ring, sub: `${ORG}/olga`, grantedBy: 'seed' } })).ok).toBe(
    true,
  );
  appId = (
    await seedApp({
      org: ORG,
      name: 'based',
      hosts: [HOST],
      originUrl: inject('originUrl'),
      policy: { version: 1, rules: [] },
      createdBy: `${ORG}/olga`,
    })
  ).id;
  const grants: [string, 'admin' | 'auditor' | 'app-admin' | 'helpdesk', string | null][] = [
    ['adam', 'admin', null],
    ['aude', 'auditor', null],
    ['apam', 'app-admin', appId],
    ['hank', 'helpdesk', null],
  ];
  for (const [who, role, app] of grants) {
    const r = await grantRole(env.DB, ring, { orgId: ORG, appId: app, sub: `${ORG}/${who}`, role, grantedBy: `${ORG}/olga`, now });
    expect(r.ok).toBe(true);
  }
  const now2 = () => Date.now() + offset;
  const people = await Promise.all(['olga', 'adam', 'aude', 'apam', 'hank'].map((n) => person(gw, n, HOST, { now: now2 })));
  [olga, adam, aude, apam, hank] = people as [Caller, Caller, Caller, Caller, Caller];
}, 60_000);

describe('organisation baseline API', () => {
  it('owners, admins, auditors and app-admins read it; helpdesk does not', async () => {
    for (const who of [olga, adam, aude, apam]) {
      const r = await as(gw, who, 'GET', BASE);
      expect(r.status).toBe(200);
      expect(await bodyOf(r)).toEqual({ org: ORG, baseline: null, proposal: null });
    }
    expect((await as(gw, hank, 'GET', BASE)).status).toBe(403);
    // Another organisation: nothing is confirmed.
    expect((await as(gw, olga, 'GET', '/.stepgate/api/admin/orgs/default/policy-baseline')).status).toBe(404);
  });

  it('only owners and admins change it; bad input is 400 and changes nothing', async () => {
    for (const who of [aude, apam, hank]) expect((await as(gw, who, 'PUT', BASE, { policy: strong })).status).toBe(403);
    const bad = await as(gw, olga, 'PUT', BASE, { policy: { version: 1, hosts: ['x.test'], rules: [{ id: 'a' }] } });
    expect(bad.status).toBe(400);
    expect(((await bodyOf(bad)).problems as string[]).join('\n')).toMatch(/a baseline has no "hosts"|rule "a"/);
    expect((await as(gw, olga, 'PUT', BASE, { policy: strong, extra: 1 })).status).toBe(400);
    expect((await as(gw, olga, 'PUT', BASE, '{')).status).toBe(400);
    expect(await stored()).toBeNull();
  });

  it('a first baseline is in force at once, and the gateway enforces it on the organisation’s apps', async () => {
    expect((await afterRefresh('/admin/users')).status).not.toBe(401);
    const r = await as(gw, olga, 'PUT', BASE, { policy: strong });
    expect(r.status).toBe(200);
    expect(await bodyOf(r)).toMatchObject({ state: 'active', weakens: false });
    expect(await eventCount('policy.baseline_updated')).toBe(1);
    const res = await afterRefresh('/admin/users');
    expect(res.status).toBe(401);
    expect(await bodyOf(res)).toMatchObject({ code: 'ERR_STEP_UP_REQUIRED', rule: 'baseline.admin' });
    const read = await bodyOf(await as(gw, apam, 'GET', BASE));
    expect(read).toMatchObject({ baseline: { policy: strong, updated_by: 'olga' }, proposal: null });
  });

  it('an app-admin cannot weaken it through the app policy: refused with the reason, nothing changed', async () => {
    const api = `/.stepgate/api/admin/orgs/${ORG}/apps/${appId}/policy`;
    const loose = await as(gw, apam, 'PUT', api, { policy: { version: 1, caseSensitive: true, rules: [] } });
    expect(loose.status).toBe(400);
    expect(JSON.stringify(await bodyOf(loose))).toMatch(/weakens the organisation baseline: caseSensitive/);
    const taken = await as(gw, apam, 'PUT', api, { policy: { version: 1, rules: [{ ...adminRule, id: 'baseline.admin' }] } });
    expect(taken.status).toBe(400);
    expect(JSON.stringify(await bodyOf(taken))).toMatch(/reserved for the organisation baseline/);
    // Its own rules elsewhere are fine.
    const own = { id: 'delete', match: { methods: ['DELETE'], path: '/api/**' }, require: { factors: ['totp'], bind: 'action' } };
    expect((await as(gw, apam, 'PUT', api, { policy: { version: 1, rules: [own] } })).status).toBe(200);
    expect((await afterRefresh('/admin/users')).status).toBe(401);
  });

  it('a weakening change waits for a different owner or admin: not its author, not a token', async () => {
    const before = await stored();
    const p = await as(gw, olga, 'PUT', BASE, { policy: { version: 1, rules: [] } });
    expect(p.status).toBe(202);
    const proposal = await bodyOf(p);
    expect(proposal).toMatchObject({ state: 'proposed', weakens: true });
    expect((proposal.changes as { message: string }[]).map((c) => c.message).join('\n')).toMatch(/"admin" was removed/);
    expect(await stored()).toMatchObject({ hash: before!.hash, proposed_hash: proposal.hash });
    expect((await afterRefresh('/admin/users')).status).toBe(401);
    // A second proposal waits for the first.
    expect((await as(gw, adam, 'PUT', BASE, { policy: { version: 1, rules: [], caseSensitive: true } })).status).toBe(409);
    const read = await bodyOf(await as(gw, adam, 'GET', BASE));
    expect(read.proposal).toMatchObject({ hash: proposal.hash, proposed_by: 'olga', mine: false });
    // Its author cannot approve it; an auditor or app-admin cannot either; a stale hash is refused.
    const self = await as(gw, olga, 'POST', `${BASE}/approve`, { hash: proposal.hash });
    expect(self.status).toBe(403);
    for (const who of [aude, apam]) expect((await as(gw, who, 'POST', `${BASE}/approve`, {})).status).toBe(403);
    expect((await as(gw, adam, 'POST', `${BASE}/approve`, { hash: 'not-it' })).status).toBe(409);
    const token = await bodyOf(await as(gw, adam, 'POST', '/.stepgate/api/tokens', { scopes: ['admin:write'], label: 'ci' }));
    const byToken = await gw(`http://${HOST}${BASE}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token.token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(byToken.status).toBe(403);
    expect(await stored()).toMatchObject({ hash: before!.hash, proposed_hash: proposal.hash });
    expect(await eventCount('policy.baseline_approved')).toBe(0);

    const ok = await as(gw, adam, 'POST', `${BASE}/approve`, { hash: proposal.hash });
    expect(ok.status).toBe(200);
    expect(await stored()).toMatchObject({ hash: proposal.hash, proposed_hash: null });
    expect(await eventCount('policy.baseline_proposed')).toBe(1);
    expect(await eventCount('policy.baseline_approved')).toBe(1);
    expect((await afterRefresh('/admin/users')).status).not.toBe(401);
  });

  it('a waiting change can be rejected (its author withdraws it); nothing else changes', async () => {
    expect((await as(gw, adam, 'PUT', BASE, { policy: strong })).status).toBe(200);
    const before = await stored();
    const p = await bodyOf(await as(gw, adam, 'PUT', BASE, { policy: { version: 1, allowPathInfo: true, rules: [adminRule] } }));
    expect(p.state).toBe('proposed');
    expect((await as(gw, apam, 'POST', `${BASE}/reject`, {})).status).toBe(403);
    expect((await as(gw, adam, 'POST', `${BASE}/reject`, { hash: p.hash })).status).toBe(200);
    expect(await stored()).toMatchObject({ hash: before!.hash, proposed_hash: null });
    expect((await as(gw, adam, 'POST', `${BASE}/reject`, {})).status).toBe(409);
    expect(await eventCount('policy.baseline_rejected')).toBe(1);
  });
});
