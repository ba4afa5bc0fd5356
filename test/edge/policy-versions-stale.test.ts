/**
 * Stale proposals, pruning and ended canaries of policy versions (issue 13 review, findings 2, 6, 9),
 * real D1 and Durable Objects: any activation (a new version, an approval, a rollback) withdraws every
 * other open proposal in its batch and names them in its audit event, so a proposal is never approved
 * over a version it was not compared with; proposing and rejecting prune old versions, so propose →
 * reject loops cannot grow storage; an activation that ends a running canary says so in its event.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createOrg } from '../../edge/admin/org-store';
import { KEPT_VERSIONS, MAX_OPEN_PROPOSALS, proposeVersion, rejectVersion } from '../../edge/admin/policy-versions';
import { grantRole } from '../../edge/admin/role-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { as, bodyOf, type Caller, newGateway, person, type Send } from './admin-callers';
import { listAll } from './audit-orgs';
import { seedApp } from './seed-apps';

const ring = parseKeyring(env.STEPGATE_KEYS);
const HOST = 'versions-stale.test';
const ORG = 'pvstale';
let appId: string;
let api: string;
const gw: Send = newGateway();
let olga: Caller; // owner
let adam: Caller; // admin
let owen: Caller; // admin

const ruleX = { id: 'x', match: { methods: ['DELETE'], path: '/api/projects/*' }, require: { factors: ['webauthn'], bind: 'action' } };
const ruleY = { id: 'y', match: { path: '/billing/**' }, require: { factors: ['webauthn'], bind: 'session', maxAge: '5m' } };
const extra = (id: string) => ({ id, match: { path: `/${id}/**` }, require: { factors: ['webauthn'], bind: 'session' } });

const activeDoc = async () =>
  JSON.parse(
    (await env.DB.prepare('SELECT document_json FROM app_policies WHERE app_id = ?').bind(appId).first<{ document_json: string }>())!
      .document_json,
  ) as { version: 1; rules: { id: string }[] };
const stateOf = async (version: unknown) =>
  (
    await env.DB.prepare('SELECT state FROM policy_versions WHERE app_id = ? AND version = ?')
      .bind(appId, version)
      .first<{ state: string }>()
  )?.state;
/** The details of the newest audit event of `type` for the app. */
const lastEvent = async (type: string) =>
  (await listAll(gw, olga))
    .filter((e) => e.event.type === type && (e.event.details as Record<string, unknown> | undefined)?.app_id === appId)
    .map((e) => e.event.details as Record<string, unknown>)
    .at(-1);
const propose = async (who: Caller, rules: unknown[], comment = '') =>
  bodyOf(await as(gw, who, 'POST', `${api}/versions`, { policy: { version: 1, rules }, comment }));

beforeAll(async () => {
  const now = Date.now();
  expect((await createOrg(env.DB, { id: ORG, name: 'Stale', now, owner: { ring, sub: `${ORG}/olga`, grantedBy: 'seed' } })).ok).toBe(true);
  for (const who of ['adam', 'owen'])
    expect((await grantRole(env.DB, ring, { orgId: ORG, sub: `${ORG}/${who}`, role: 'admin', grantedBy: `${ORG}/olga`, now })).ok).toBe(
      true,
    );
  appId = (
    await seedApp({
      org: ORG,
      name: 'stale',
      hosts: [HOST],
      originUrl: inject('originUrl'),
      policy: { version: 1, rules: [ruleX] },
      createdBy: `${ORG}/olga`,
    })
  ).id;
  api = `/.stepgate/api/admin/orgs/${ORG}/apps/${appId}/policy`;
  olga = await person(gw, 'olga', HOST);
  adam = await person(gw, 'adam', HOST);
  owen = await person(gw, 'owen', HOST);
}, 60_000);

describe('an activation withdraws the open proposals', () => {
  it('a proposal made before a later strengthening is withdrawn by it, never approved over it', async () => {
    const p = await propose(olga, [], 'drop x');
    expect(p.state).toBe('proposed');
    // Adam adds rule y (strengthening: active at once): Olga's proposal was compared with the version before.
    const s = await as(gw, adam, 'POST', `${api}/versions`, { policy: { version: 1, rules: [ruleX, ruleY] }, comment: 'protect billing' });
    expect(s.status).toBe(200);
    expect(await stateOf(p.version)).toBe('rejected');
    expect((await lastEvent('policy.version_created'))?.withdrawn).toEqual([String(p.version)]);
    // The approve body must be {} (no hash, no base version); approving the withdrawn proposal is 409.
    expect((await as(gw, owen, 'POST', `${api}/versions/${p.version}/approve`, { hash: p.hash })).status).toBe(400);
    expect((await as(gw, owen, 'POST', `${api}/versions/${p.version}/approve`, {})).status).toBe(409);
    expect((await activeDoc()).rules.map((r) => r.id)).toEqual(['x', 'y']);
  });

  it('an approval withdraws the other proposals, a rollback every proposal; each event names them', async () => {
    const p1 = await propose(olga, [ruleX]); // drops y
    const p2 = await propose(olga, [ruleY]); // drops x
    expect([p1.state, p2.state]).toEqual(['proposed', 'proposed']);
    expect((await as(gw, adam, 'POST', `${api}/versions/${p1.version}/approve`, {})).status).toBe(200);
    expect(await stateOf(p2.version)).toBe('rejected');
    expect((await lastEvent('policy.version_approved'))?.withdrawn).toEqual([String(p2.version)]);
    expect((await as(gw, owen, 'POST', `${api}/versions/${p2.version}/approve`, {})).status).toBe(409);

    // Rolling back to [x, y] strengthens [x]: active at once, and the waiting proposal goes.
    const both = (await bodyOf(await as(gw, olga, 'GET', `${api}/versions?limit=50`))).versions as {
      version: number;
      policy: { rules: { id: string }[] };
    }[];
    const xy = both.find((v) => v.policy.rules.map((r) => r.id).join() === 'x,y')!;
    const p3 = await propose(olga, []);
    expect(p3.state).toBe('proposed');
    expect((await as(gw, adam, 'POST', `${api}/versions/${xy.version}/activate`, {})).status).toBe(200);
    expect(await stateOf(p3.version)).toBe('rejected');
    expect((await lastEvent('policy.rolled_back'))?.withdrawn).toEqual([String(p3.version)]);
    // An activation with nothing to withdraw records no `withdrawn`.
    expect(await propose(adam, [ruleX, ruleY, extra('z')])).toMatchObject({ state: 'active' });
    expect((await lastEvent('policy.version_created'))?.withdrawn).toBeUndefined();
  });

  it('an approval racing a strengthening: the newer rule is never silently dropped', async () => {
    for (let i = 0; i < 4; i++) {
      const cur = (await activeDoc()).rules;
      const p = await propose(olga, cur.slice(1)); // drops the first rule
      expect(p.state).toBe('proposed');
      const added = extra(`race${i}`);
      const [approve, add] = await Promise.all([
        as(gw, adam, 'POST', `${api}/versions/${p.version}/approve`, {}),
        as(gw, owen, 'POST', `${api}/versions`, { policy: { version: 1, rules: [...cur, added] } }),
      ]);
      expect([200, 409]).toContain(approve.status);
      expect([200, 409]).toContain(add.status);
      // Whenever the new rule was accepted, it is in force: the approval did not overwrite it.
      const ids = (await activeDoc()).rules.map((r) => r.id);
      if (add.status === 200) expect(ids).toContain(added.id);
      // An approval that won leaves the proposal active only if the new rule came after it (compared with it), or lost.
      if (approve.status === 200 && add.status === 409) expect(ids).not.toContain(cur[0]!.id);
      if (approve.status === 409) expect(await stateOf(p.version)).toBe('rejected');
    }
  });
});

describe('pruning', () => {
  it('propose → reject loops keep at most KEPT_VERSIONS rejected or superseded versions', async () => {
    const base = await proposeVersion(env.DB, ring, {
      orgId: ORG,
      appId,
      policy: { version: 1, rules: [ruleX, ruleY] },
      comment: 'x and y',
      by: `${ORG}/adam`,
      now: Date.now(),
    });
    expect(base.ok).toBe(true);
    const pad = 'p'.repeat(400);
    const big = {
      version: 1,
      rules: Array.from({ length: 20 }, (_, i) => ({ ...ruleY, id: `pad${i}`, description: pad, match: { path: `/pad/${i}/**` } })),
    };
    const n = KEPT_VERSIONS + MAX_OPEN_PROPOSALS + 20;
    for (let i = 0; i < n; i++) {
      const r = await proposeVersion(env.DB, ring, { orgId: ORG, appId, policy: big, comment: '', by: `${ORG}/olga`, now: Date.now() });
      expect(r.ok && r.state).toBe('proposed');
      if (!r.ok) return;
      expect((await rejectVersion(env.DB, { orgId: ORG, appId, version: r.version })).ok).toBe(true);
    }
    const old = await env.DB.prepare("SELECT COUNT(*) AS n FROM policy_versions WHERE app_id = ? AND state IN ('rejected', 'superseded')")
      .bind(appId)
      .first<{ n: number }>();
    expect(old!.n).toBeLessThanOrEqual(KEPT_VERSIONS);
    expect(old!.n).toBeGreaterThan(KEPT_VERSIONS - 5); // the newest are kept
  }, 120_000);

  it('a proposal alone prunes too (no activation, no rejection)', async () => {
    const max = (await env.DB.prepare('SELECT MAX(version) AS v FROM policy_versions WHERE app_id = ?').bind(appId).first<{ v: number }>())!
      .v;
    const doc = JSON.stringify({ version: 1, rules: [] });
    await env.DB.batch(
      Array.from({ length: 30 }, (_, i) =>
        env.DB.prepare(
          'INSERT INTO policy_versions (app_id, version, document_json, hash, comment, created_at, state) ' +
            "VALUES (?, ?, ?, 'h', '', 0, 'rejected')",
        ).bind(appId, max + 1 + i, doc),
      ),
    );
    const r = await proposeVersion(env.DB, ring, {
      orgId: ORG,
      appId,
      policy: { version: 1, rules: [] },
      comment: '',
      by: `${ORG}/olga`,
      now: Date.now(),
    });
    expect(r.ok && r.state).toBe('proposed');
    const old = await env.DB.prepare("SELECT COUNT(*) AS n FROM policy_versions WHERE app_id = ? AND state IN ('rejected', 'superseded')")
      .bind(appId)
      .first<{ n: number }>();
    expect(old!.n).toBeLessThanOrEqual(KEPT_VERSIONS);
  });
});

describe('an activation that ends a canary', () => {
  it('records canary_ended with the share in its own event (a new version, an approval, a rollback)', async () => {
    const start = async (id: string) => {
      const cur = (await activeDoc()).rules;
      const c = await as(gw, olga, 'PUT', api, { policy: { version: 1, rules: [...cur, extra(id)] }, canary_percent: 10 });
      expect(c.status).toBe(200);
      return cur;
    };
    // A new version.
    const cur = await start('c1');
    expect(await propose(olga, [...cur, extra('c1'), extra('c2')])).toMatchObject({ state: 'active' });
    expect((await bodyOf(await as(gw, olga, 'GET', api))).canary).toBeNull();
    expect(await lastEvent('policy.version_created')).toMatchObject({ canary_ended: true, canary_ended_percent: 10 });

    // An approval: the proposal is made while the canary runs.
    const before = await start('c3');
    const p = await propose(olga, before);
    expect(p.state).toBe('proposed');
    expect((await as(gw, adam, 'POST', `${api}/versions/${p.version}/approve`, {})).status).toBe(200);
    expect(await lastEvent('policy.version_approved')).toMatchObject({ canary_ended: true, canary_ended_percent: 10 });

    // A rollback to a stronger version (a superset of the canary's), approved back down first.
    const a = (await activeDoc()).rules;
    const strong = await propose(olga, [...a, extra('c4'), extra('c6')]);
    expect(strong.state).toBe('active');
    const down = await propose(olga, a);
    expect((await as(gw, adam, 'POST', `${api}/versions/${down.version}/approve`, {})).status).toBe(200);
    await start('c4');
    expect((await as(gw, olga, 'POST', `${api}/versions/${strong.version}/activate`, {})).status).toBe(200);
    expect(await lastEvent('policy.rolled_back')).toMatchObject({ canary_ended: true, canary_ended_percent: 10 });

    // Without a running canary, no canary_ended.
    expect(await propose(olga, [...(await activeDoc()).rules, extra('c5')])).toMatchObject({ state: 'active' });
    expect((await lastEvent('policy.version_created'))?.canary_ended).toBeUndefined();
  });
});
