/**
 * Approving a proposal or rolling back re-checks the version against the app as it is now (issue 13
 * review, finding 8), real D1 and Durable Objects: a version that no longer serves a host added to
 * the app since it was written is refused (400 naming the host) and nothing changes, so the app keeps
 * loading; an approval that still fits goes through.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createOrg } from '../../edge/admin/org-store';
import { grantRole } from '../../edge/admin/role-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { as, bodyOf, type Caller, newGateway, person, type Send } from './admin-callers';
import { seedApp } from './seed-apps';

const ring = parseKeyring(env.STEPGATE_KEYS);
const ORG = 'pvhosts';
const H1 = 'versions-h1.test';
const H2 = 'versions-h2.test';
const H3 = 'versions-h3.test';
const own = { id: 'own', match: { path: '/own/**' }, require: { factors: ['totp'], bind: 'session' } };
const g: Send = newGateway();
let appId: string;
let papi: string;
let olga: Caller;
let adam: Caller;

const activeRow = async () =>
  (await env.DB.prepare('SELECT hash, document_json FROM app_policies WHERE app_id = ?')
    .bind(appId)
    .first<{ hash: string; document_json: string }>())!;
const stateOf = async (version: unknown) =>
  (
    await env.DB.prepare('SELECT state FROM policy_versions WHERE app_id = ? AND version = ?')
      .bind(appId, version)
      .first<{ state: string }>()
  )?.state;
const setHosts = async (hosts: string[]) =>
  expect((await as(g, olga, 'PATCH', `/.stepgate/api/admin/orgs/${ORG}/apps/${appId}`, { hosts })).status).toBe(200);

beforeAll(async () => {
  const now = Date.now();
  expect((await createOrg(env.DB, { id: ORG, name: ORG, now, owner: { ring, sub: `${ORG}/olga`, grantedBy: 'seed' } })).ok).toBe(true);
  expect((await grantRole(env.DB, ring, { orgId: ORG, sub: `${ORG}/adam`, role: 'admin', grantedBy: `${ORG}/olga`, now })).ok).toBe(true);
  appId = (await seedApp({ org: ORG, name: 'hosts', hosts: [H1], originUrl: inject('originUrl'), policy: { version: 1, rules: [own] } }))
    .id;
  papi = `/.stepgate/api/admin/orgs/${ORG}/apps/${appId}/policy`;
  olga = await person(g, 'olga', H1);
  adam = await person(g, 'adam', H1);
}, 60_000);

describe("approval and rollback re-check the app's hosts", () => {
  it('approving a proposal that does not serve a host added since is 400 naming it; nothing changes and the app still loads', async () => {
    // Olga proposes naming the app's hosts (any change of "hosts" is a proposal).
    const p = await bodyOf(await as(g, olga, 'POST', `${papi}/versions`, { policy: { version: 1, hosts: [H1], rules: [own] } }));
    expect(p.state).toBe('proposed');
    // The app gets a second host (the active policy, without a hosts list, serves it).
    await setHosts([H1, H2]);
    const before = await activeRow();
    // The same document as a new version is refused, and so is approving the proposal.
    expect((await as(g, adam, 'POST', `${papi}/versions`, { policy: { version: 1, hosts: [H1], rules: [own] } })).status).toBe(400);
    const r = await as(g, adam, 'POST', `${papi}/versions/${p.version}/approve`, {});
    expect(r.status).toBe(400);
    expect(((await bodyOf(r)).problems as string[]).join(' ')).toContain(H2);
    expect(await activeRow()).toEqual(before);
    expect(await stateOf(p.version)).toBe('proposed');
    // A new isolate loads the app on both hosts (the own rule asks for a step-up rather than 503).
    const cold = newGateway();
    for (const h of [H1, H2]) expect((await cold(`http://${h}/x`, { headers: { 'stepgate-dev-user': 'nina' } })).status).not.toBe(503);
  });

  it('rolling back to a version that is no longer valid for the app is 400 listing why, and nothing changes', async () => {
    // Versions written before today's rules (inserted as they would have been stored then).
    const max = (await env.DB.prepare('SELECT MAX(version) AS v FROM policy_versions WHERE app_id = ?').bind(appId).first<{ v: number }>())!
      .v;
    const reserved = { version: 1, rules: [own, { ...own, id: 'baseline.old', match: { path: '/old/**' } }] };
    const narrow = { version: 1, hosts: [H1], rules: [own] };
    await env.DB.batch(
      [reserved, narrow].map((doc, i) =>
        env.DB.prepare(
          'INSERT INTO policy_versions (app_id, version, document_json, hash, comment, created_at, state) ' +
            "VALUES (?, ?, ?, ?, '', 0, 'superseded')",
        ).bind(appId, max + 1 + i, JSON.stringify(doc), `old${i}`),
      ),
    );
    const before = await activeRow();
    // A stronger version (so not a proposal) with a rule id the organisation baseline now reserves.
    const r = await as(g, olga, 'POST', `${papi}/versions/${max + 1}/activate`, {});
    expect(r.status).toBe(400);
    expect(((await bodyOf(r)).problems as string[]).join(' ')).toContain('baseline.');
    // A version that does not serve H2 (a weakening rollback: checked as a new proposal).
    const n = await as(g, olga, 'POST', `${papi}/versions/${max + 2}/activate`, {});
    expect(n.status).toBe(400);
    expect(((await bodyOf(n)).problems as string[]).join(' ')).toContain(H2);
    expect(await activeRow()).toEqual(before);
    expect([await stateOf(max + 1), await stateOf(max + 2)]).toEqual(['superseded', 'superseded']);
  });

  it('an approval that still fits the app goes through', async () => {
    await setHosts([H1, H2, H3]);
    const drop = await bodyOf(await as(g, olga, 'POST', `${papi}/versions`, { policy: { version: 1, rules: [] } }));
    expect(drop.state).toBe('proposed');
    expect((await as(g, adam, 'POST', `${papi}/versions/${drop.version}/approve`, {})).status).toBe(200);
    expect(await stateOf(drop.version)).toBe('active');
  });
});
