/**
 * Organisation baseline changes that need a second person, through the admin API (real D1 and
 * Durable Objects): dropping the baseline's maxInspectBytes cap weakens it, a save in force withdraws
 * a waiting proposal (approving it later would silently undo that save), and app-admins cannot take a
 * `baseline.` id or loosen matching.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createOrg } from '../../edge/admin/org-store';
import { grantRole } from '../../edge/admin/role-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { as, bodyOf, type Caller, newGateway, person, type Send } from './admin-callers';
import { seedApp } from './seed-apps';

const ring = parseKeyring(env.STEPGATE_KEYS);
const HOST = 'review13-baseline.test';
const ORG = 'rv13b';
const BASE = `/.stepgate/api/admin/orgs/${ORG}/policy-baseline`;
const offset = 0;
const gw: Send = newGateway({ now: () => Date.now() + offset });
let appId: string;
let api: string;
let olga: Caller; // owner
let adam: Caller; // admin
let owen: Caller; // admin
let apam: Caller; // app-admin

/**
 * Pre-existing app rule: a weak session rule on the `.json` form of a path. The baseline's `ban`
 * (first in the merged policy) now takes `ban.json` from it; that is not weakening because this rule
 * accepted webauthn too (with totp alone, webauthn-only would be a change of factors: weakening).
 */
const banJson = {
  id: 'ban-json',
  match: { path: '/admin/users/*/ban.json' },
  require: { factors: ['webauthn', 'totp'], bind: 'session', maxAge: '1h' },
};
/** The baseline rule added later: webauthn, one approval per request, for the ban action. */
const ban = { id: 'ban', match: { path: '/admin/users/*/ban' }, require: { factors: ['webauthn'], bind: 'action' } };
const billing = { id: 'billing', match: { path: '/billing/**' }, require: { factors: ['webauthn'], bind: 'session' } };
const reports = { id: 'reports', match: { path: '/reports/**' }, require: { factors: ['webauthn'], bind: 'session' } };

const storedBaseline = async () =>
  JSON.parse(
    (await env.DB.prepare('SELECT document_json FROM org_policy_baselines WHERE org_id = ?').bind(ORG).first<{ document_json: string }>())!
      .document_json,
  ) as { rules: { id: string }[]; maxInspectBytes?: number };

beforeAll(async () => {
  const now = Date.now();
  expect((await createOrg(env.DB, { id: ORG, name: 'Rv13b', now, owner: { ring, sub: `${ORG}/olga`, grantedBy: 'seed' } })).ok).toBe(true);
  appId = (
    await seedApp({
      org: ORG,
      name: 'rv13b',
      hosts: [HOST],
      originUrl: inject('originUrl'),
      policy: { version: 1, rules: [banJson] },
      createdBy: `${ORG}/olga`,
    })
  ).id;
  api = `/.stepgate/api/admin/orgs/${ORG}/apps/${appId}/policy`;
  for (const [who, role, app] of [
    ['adam', 'admin', null],
    ['owen', 'admin', null],
    ['apam', 'app-admin', appId],
  ] as const) {
    const r = await grantRole(env.DB, ring, { orgId: ORG, appId: app, sub: `${ORG}/${who}`, role, grantedBy: `${ORG}/olga`, now });
    expect(r.ok).toBe(true);
  }
  const now2 = () => Date.now() + offset;
  [olga, adam, owen, apam] = (await Promise.all(['olga', 'adam', 'owen', 'apam'].map((n) => person(gw, n, HOST, { now: now2 })))) as [
    Caller,
    Caller,
    Caller,
    Caller,
  ];
}, 60_000);

describe('organisation baseline proposals', () => {
  it('dropping the baseline maxInspectBytes cap weakens it: a proposal, the cap stays until a second person approves', async () => {
    expect((await as(gw, olga, 'PUT', BASE, { policy: { version: 1, maxInspectBytes: 1048576, rules: [ban] } })).status).toBe(200);
    const sixteen = { policy: { version: 1, maxInspectBytes: 16 * 1024 * 1024, rules: [] } };
    // With the cap, an app asking 16 MiB is refused ...
    expect(JSON.stringify((await bodyOf(await as(gw, apam, 'POST', `${api}/check`, sixteen))).baseline)).toMatch(/maxInspectBytes/);
    // ... and dropping the cap (apps could then read up to 16 MiB) waits for a second person.
    const r = await as(gw, olga, 'PUT', BASE, { policy: { version: 1, rules: [ban] } });
    expect(r.status).toBe(202);
    const body = await bodyOf(r);
    expect(body).toMatchObject({ state: 'proposed', weakens: true });
    expect(JSON.stringify(body.changes)).toMatch(/maxInspectBytes goes from 1048576 to \(not set: no cap\)/);
    expect((await storedBaseline()).maxInspectBytes).toBe(1048576);
    expect(JSON.stringify((await bodyOf(await as(gw, apam, 'POST', `${api}/check`, sixteen))).baseline)).toMatch(/maxInspectBytes/);
    expect((await as(gw, olga, 'POST', `${BASE}/reject`, { hash: body.hash })).status).toBe(200);
  });

  it('a save in force withdraws the waiting proposal: approving it later cannot drop what was saved since', async () => {
    const cap = { maxInspectBytes: 1048576 }; // as the previous test left it
    expect((await as(gw, olga, 'PUT', BASE, { policy: { version: 1, ...cap, rules: [ban, billing] } })).status).toBe(200);
    // Olga proposes dropping "billing" (weakening: waits).
    const p = await bodyOf(await as(gw, olga, 'PUT', BASE, { policy: { version: 1, ...cap, rules: [ban] } }));
    expect(p).toMatchObject({ state: 'proposed' });
    // Adam adds "reports" (strengthening): in force at once, and the proposal made against the old baseline is gone.
    const s = await as(gw, adam, 'PUT', BASE, { policy: { version: 1, ...cap, rules: [ban, billing, reports] } });
    expect(s.status).toBe(200);
    expect((await bodyOf(await as(gw, owen, 'GET', BASE))).proposal).toBeNull();
    const updated = await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE type = 'policy.baseline_updated'").first<{
      n: number;
    }>();
    expect(updated?.n).toBeGreaterThan(0);
    // Owen approves the proposal he saw earlier (same hash): refused, nothing changes.
    const late = await as(gw, owen, 'POST', `${BASE}/approve`, { hash: p.hash });
    expect(late.status).toBe(409);
    expect((await storedBaseline()).rules.map((r) => r.id)).toEqual(['ban', 'billing', 'reports']);
  });

  it('holds: an app-admin cannot take a baseline.* id in another case, nor turn on allowPathInfo', async () => {
    const taken = await as(gw, apam, 'PUT', api, {
      policy: { version: 1, rules: [{ ...banJson, id: 'Baseline.ban', match: { path: '/elsewhere' } }] },
    });
    expect(taken.status).toBe(400);
    const pi = await as(gw, apam, 'PUT', api, { policy: { version: 1, allowPathInfo: true, rules: [] } });
    expect(pi.status).toBe(400);
  });
});
