/**
 * Policy versions (issue 13, items 1, 6, 9) through the admin API, real D1 and Durable Objects: a
 * strengthening version applies at once and the gateway enforces it after its registry refresh; a
 * weakening one waits for a second admin and its author cannot approve it; rollback restores an
 * earlier version (a weakening rollback waits); racing activations leave exactly one active version.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createOrg } from '../../edge/admin/org-store';
import { grantRole } from '../../edge/admin/role-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { as, bodyOf, type Caller, newGateway, person, type Send } from './admin-callers';
import { seedApp } from './seed-apps';

const ring = parseKeyring(env.STEPGATE_KEYS);
const HOST = 'versions.test';
const ORG = 'vers';
let appId: string;
let api: string;
let offset = 0;
const gw: Send = newGateway({ now: () => Date.now() + offset });
let olga: Caller; // owner
let adam: Caller; // admin

const open = { version: 1, rules: [] as unknown[] };
const reportsRule = {
  id: 'projects',
  match: { methods: ['GET'], path: '/api/projects' },
  require: { factors: ['totp'], bind: 'session', maxAge: '5m' },
};
const guarded = { version: 1, rules: [reportsRule] };

/** The versions as the API lists them. */
const versions = async () =>
  (await bodyOf(await as(gw, olga, 'GET', `${api}/versions`))).versions as {
    version: number;
    state: string;
    hash: string;
    author: string | null;
    approved_by: string | null;
  }[];
const activeRows = async () =>
  (
    await env.DB.prepare("SELECT version, hash FROM policy_versions WHERE app_id = ? AND state = 'active'")
      .bind(appId)
      .all<{ version: number; hash: string }>()
  ).results;
const storedHash = async () =>
  (await env.DB.prepare('SELECT hash FROM app_policies WHERE app_id = ?').bind(appId).first<{ hash: string }>())!.hash;
/** A request to the app by someone without a step-up, after the registry's refresh interval. */
const afterRefresh = async (path: string): Promise<Response> => {
  offset += 11_000;
  // Answered from the stale copy, which is refreshed after the answer.
  await gw(`http://${HOST}${path}?warm=${offset}`, { headers: { 'stepgate-dev-user': 'nina' } });
  return gw(`http://${HOST}${path}?m=${offset}`, { headers: { 'stepgate-dev-user': 'nina' } });
};

beforeAll(async () => {
  const now = Date.now();
  expect((await createOrg(env.DB, { id: ORG, name: 'Versions', now, owner: { ring, sub: `${ORG}/olga`, grantedBy: 'seed' } })).ok).toBe(
    true,
  );
  expect((await grantRole(env.DB, ring, { orgId: ORG, sub: `${ORG}/adam`, role: 'admin', grantedBy: `${ORG}/olga`, now })).ok).toBe(true);
  appId = (
    await seedApp({ org: ORG, name: 'versions', hosts: [HOST], originUrl: inject('originUrl'), policy: open, createdBy: `${ORG}/olga` })
  ).id;
  api = `/.stepgate/api/admin/orgs/${ORG}/apps/${appId}/policy`;
  const now2 = () => Date.now() + offset;
  olga = await person(gw, 'olga', HOST, { now: now2 });
  adam = await person(gw, 'adam', HOST, { now: now2 });
}, 60_000);

describe('policy versions', () => {
  it('a strengthening version applies at once, and the gateway enforces it after the registry refresh', async () => {
    expect((await afterRefresh('/api/projects')).status).toBe(200);
    const r = await as(gw, olga, 'POST', `${api}/versions`, { policy: guarded, comment: 'protect projects' });
    expect(r.status).toBe(200);
    const b = await bodyOf(r);
    expect(b).toMatchObject({ version: 2, state: 'active', weakens: false });
    expect(await storedHash()).toBe(b.hash);
    const res = await afterRefresh('/api/projects');
    expect(res.status).toBe(401);
    expect(await bodyOf(res)).toMatchObject({ code: 'ERR_STEP_UP_REQUIRED', rule: 'projects' });
    // Version 1 is the policy saved before versions; version 2 replaced it.
    expect((await versions()).map((v) => [v.version, v.state])).toEqual([
      [2, 'active'],
      [1, 'superseded'],
    ]);
  });

  it('bad input changes nothing: an invalid policy, a malformed version number, approving what is not a proposal', async () => {
    const before = await versions();
    const bad = await as(gw, olga, 'POST', `${api}/versions`, { policy: { version: 2 } });
    expect(bad.status).toBe(400);
    expect((await as(gw, olga, 'POST', `${api}/versions`, { policy: guarded, comment: 'x'.repeat(501) })).status).toBe(400);
    expect((await as(gw, olga, 'POST', `${api}/versions/abc/approve`, {})).status).toBe(400);
    expect((await as(gw, adam, 'POST', `${api}/versions/2/approve`, {})).status).toBe(409);
    expect((await as(gw, olga, 'POST', `${api}/versions/99/activate`, {})).status).toBe(404);
    expect(await versions()).toEqual(before);
  });

  it('a weakening change (also through PUT) waits for a second admin; its author cannot approve it', async () => {
    const hash = await storedHash();
    const put = await as(gw, olga, 'PUT', api, { policy: open });
    expect(put.status).toBe(202);
    const p = await bodyOf(put);
    expect(p).toMatchObject({ version: 3, state: 'proposed', weakens: true });
    expect(JSON.stringify(p.changes)).toMatch(/projects/);
    expect(await storedHash()).toBe(hash); // nothing changed
    expect((await afterRefresh('/api/projects')).status).toBe(401);

    const self = await as(gw, olga, 'POST', `${api}/versions/3/approve`, {});
    expect(self.status).toBe(403);
    expect((await bodyOf(self)).detail).toMatch(/someone other than its author/);
    expect(await storedHash()).toBe(hash);

    const ok = await as(gw, adam, 'POST', `${api}/versions/3/approve`, {});
    expect(ok.status).toBe(200);
    expect(await bodyOf(ok)).toMatchObject({ version: 3, state: 'active' });
    expect((await afterRefresh('/api/projects')).status).toBe(200);
    const v3 = (await versions()).find((v) => v.version === 3)!;
    expect(v3).toMatchObject({ state: 'active', author: 'olga', approved_by: 'adam' });

    const events = await env.DB.prepare(
      "SELECT type FROM audit_events WHERE type LIKE 'policy.version_%' OR type = 'policy.rolled_back'",
    ).all<{
      type: string;
    }>();
    expect(new Set(events.results.map((e) => e.type))).toEqual(
      new Set(['policy.version_created', 'policy.version_proposed', 'policy.version_approved']),
    );
  });

  it('rollback restores an earlier version; a rollback that weakens is a proposal', async () => {
    const back = await as(gw, olga, 'POST', `${api}/versions/2/activate`, {});
    expect(back.status).toBe(200);
    expect(await bodyOf(back)).toMatchObject({ version: 2, state: 'active' });
    const v2 = (await versions()).find((v) => v.version === 2)!;
    expect(await storedHash()).toBe(v2.hash);
    expect((await afterRefresh('/api/projects')).status).toBe(401);

    // Back to version 3 (no rules) would weaken: a new proposal with its document, nothing changes.
    const weak = await as(gw, olga, 'POST', `${api}/versions/3/activate`, {});
    expect(weak.status).toBe(202);
    expect(await bodyOf(weak)).toMatchObject({ version: 4, state: 'proposed' });
    expect(await activeRows()).toEqual([{ version: 2, hash: v2.hash }]);
  });

  it('racing activations leave exactly one active version, the one app_policies holds', async () => {
    const policies = [1, 2, 3, 4, 5, 6].map((i) => ({
      version: 1,
      rules: [
        reportsRule,
        { id: `more-${i}`, match: { methods: ['POST'], path: `/api/more-${i}` }, require: { factors: ['totp'], bind: 'action' } },
      ],
    }));
    const answers = await Promise.all([
      ...policies.map((policy) => as(gw, olga, 'POST', `${api}/versions`, { policy })),
      as(gw, adam, 'POST', `${api}/versions/1/activate`, {}),
      as(gw, adam, 'POST', `${api}/versions/4/approve`, {}),
    ]);
    for (const a of answers) expect([200, 202, 409]).toContain(a.status);
    const active = await activeRows();
    expect(active).toHaveLength(1);
    expect(await storedHash()).toBe(active[0]!.hash);
  });

  it('deleting the app deletes its versions (nothing left behind to grow)', async () => {
    const del = await as(gw, olga, 'DELETE', `/.stepgate/api/admin/orgs/${ORG}/apps/${appId}`, {});
    expect(del.status).toBe(200);
    const left = await env.DB.prepare('SELECT COUNT(*) AS n FROM policy_versions WHERE app_id = ?').bind(appId).first<{ n: number }>();
    expect(left!.n).toBe(0);
  });
});
