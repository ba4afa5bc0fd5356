/**
 * The life of a policy version (issue 13, items 1, 4, 6, 7, 9) through the admin API, real D1 and
 * Durable Objects: an app's policy is version 1 from its creation; a proposal can be rejected (its
 * author may withdraw it) and a rejected one never becomes active, even racing an approval; a
 * version that does not weaken may start as a canary, which only widens and any other activation
 * ends; the organisation baseline refuses a version (and a rollback) that weakens it.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createOrg } from '../../edge/admin/org-store';
import { grantRole } from '../../edge/admin/role-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { as, bodyOf, type Caller, newGateway, person, type Send } from './admin-callers';
import { listAll } from './audit-orgs';
import { seedApp } from './seed-apps';

const ring = parseKeyring(env.STEPGATE_KEYS);
const HOST = 'lifecycle.test';
const CONSOLE = 'life-console.test';
const ORG = 'life';
const gw: Send = newGateway();
let olga: Caller; // owner
let adam: Caller; // admin
let appId: string;
let api: string;

const open = { version: 1, rules: [] as unknown[] };
const rule = (id: string, path: string) => ({
  id,
  match: { methods: ['POST'], path },
  require: { factors: ['totp'], bind: 'session', maxAge: '5m' },
});
const withRules = (...ids: string[]) => ({ version: 1, rules: ids.map((id) => rule(id, `/api/${id}`)) });

const versions = async () =>
  (await bodyOf(await as(gw, olga, 'GET', `${api}/versions?limit=50`))).versions as {
    version: number;
    state: string;
    comment: string;
    author: string | null;
    hash: string;
  }[];
const policyRow = async () =>
  (await env.DB.prepare('SELECT hash, document_json, canary_percent, canary_base_json FROM app_policies WHERE app_id = ?')
    .bind(appId)
    .first<{ hash: string; document_json: string; canary_percent: number | null; canary_base_json: string | null }>())!;
/** The details of the organisation's audit events of `type`, oldest first, as its owner lists them. */
const events = async (type: string) =>
  (await listAll(gw, olga)).filter((e) => e.event.type === type).map((e) => (e.event.details ?? {}) as Record<string, unknown>);

beforeAll(async () => {
  const now = Date.now();
  expect((await createOrg(env.DB, { id: ORG, name: 'Life', now, owner: { ring, sub: `${ORG}/olga`, grantedBy: 'seed' } })).ok).toBe(true);
  expect((await grantRole(env.DB, ring, { orgId: ORG, sub: `${ORG}/adam`, role: 'admin', grantedBy: `${ORG}/olga`, now })).ok).toBe(true);
  // The people call the admin API on another app of the organisation (the one tested is created through the API).
  await seedApp({ org: ORG, name: 'console', hosts: [CONSOLE], originUrl: inject('originUrl'), policy: open, createdBy: `${ORG}/olga` });
  olga = await person(gw, 'olga', CONSOLE);
  adam = await person(gw, 'adam', CONSOLE);
}, 60_000);

describe('version 1 at creation', () => {
  it('an app created through the API has its policy as version 1, by its creator, "created with the app"', async () => {
    const r = await as(gw, olga, 'POST', `/.stepgate/api/admin/orgs/${ORG}/apps`, {
      name: 'Lifecycle',
      hosts: [HOST],
      origin_url: inject('originUrl'),
      identity: { source: 'dev' },
      policy: open,
    });
    expect(r.status, JSON.stringify(await r.clone().json())).toBe(201);
    const b = await bodyOf(r);
    appId = (b.app as { id: string }).id;
    api = `/.stepgate/api/admin/orgs/${ORG}/apps/${appId}/policy`;
    expect(await versions()).toEqual([
      expect.objectContaining({ version: 1, state: 'active', comment: 'created with the app', author: 'olga', hash: b.policy_hash }),
    ]);
    expect((await bodyOf(await as(gw, olga, 'GET', api))).version).toBe(1);
  });
});

describe('rejecting a proposal', () => {
  it('its author withdraws it, another admin rejects one; a rejected version is never approved and nothing else changed', async () => {
    await as(gw, olga, 'PUT', api, { policy: withRules('a', 'b') });
    const before = await policyRow();
    const p1 = await bodyOf(await as(gw, olga, 'PUT', api, { policy: withRules('a') }));
    const p2 = await bodyOf(await as(gw, olga, 'PUT', api, { policy: open }));
    expect([p1.state, p2.state]).toEqual(['proposed', 'proposed']);

    const own = await as(gw, olga, 'POST', `${api}/versions/${p1.version}/reject`, {});
    expect(own.status).toBe(200);
    expect(await bodyOf(own)).toMatchObject({ version: p1.version, state: 'rejected' });
    expect((await as(gw, adam, 'POST', `${api}/versions/${p2.version}/reject`, {})).status).toBe(200);

    // Rejected is final: not approved, not rejected again, not rolled back to.
    expect((await as(gw, adam, 'POST', `${api}/versions/${p1.version}/approve`, {})).status).toBe(409);
    expect((await as(gw, olga, 'POST', `${api}/versions/${p1.version}/reject`, {})).status).toBe(409);
    expect((await as(gw, olga, 'POST', `${api}/versions/${p1.version}/activate`, {})).status).toBe(409);
    // The active version cannot be rejected; a missing one is 404; a malformed number 400.
    const active = (await versions()).find((v) => v.state === 'active')!;
    expect((await as(gw, olga, 'POST', `${api}/versions/${active.version}/reject`, {})).status).toBe(409);
    expect((await as(gw, olga, 'POST', `${api}/versions/999/reject`, {})).status).toBe(404);
    expect((await as(gw, olga, 'POST', `${api}/versions/x/reject`, {})).status).toBe(400);
    expect((await as(gw, olga, 'POST', `${api}/versions/${p2.version}/reject`, { why: 1 })).status).toBe(400);
    expect(await policyRow()).toEqual(before);
    const states = new Map((await versions()).map((v) => [v.version, v.state]));
    expect([states.get(p1.version as number), states.get(p2.version as number)]).toEqual(['rejected', 'rejected']);
    expect((await events('policy.version_rejected')).map((e) => e.version)).toEqual([p1.version, p2.version]);
  });

  it('a rejection racing an approval: the proposal ends either rejected or active, never both', async () => {
    for (let i = 0; i < 3; i++) {
      const p = await bodyOf(await as(gw, olga, 'PUT', api, { policy: withRules(`only-${i}`) }));
      expect(p.state).toBe('proposed');
      const [rej, app] = await Promise.all([
        as(gw, olga, 'POST', `${api}/versions/${p.version}/reject`, {}),
        as(gw, adam, 'POST', `${api}/versions/${p.version}/approve`, {}),
      ]);
      const state = (await versions()).find((v) => v.version === p.version)!.state;
      if (rej.status === 200) {
        expect(app.status).toBe(409);
        expect(state).toBe('rejected');
      } else {
        expect([rej.status, app.status]).toEqual([409, 200]);
        expect(state).toBe('active');
        expect((await policyRow()).hash).toBe(p.hash);
      }
    }
  });

  it('someone without policy.update in the organisation cannot reject', async () => {
    const p = await bodyOf(await as(gw, olga, 'PUT', api, { policy: open }));
    const eve = await person(gw, 'eve', CONSOLE);
    expect([403, 404]).toContain((await as(gw, eve, 'POST', `${api}/versions/${p.version}/reject`, {})).status);
    expect((await versions()).find((v) => v.version === p.version)!.state).toBe('proposed');
    await as(gw, olga, 'POST', `${api}/versions/${p.version}/reject`, {});
  });
});

describe('canary', () => {
  it('bad canary input is 400 and changes nothing: out of range, not whole, on a weakening version', async () => {
    const before = await policyRow();
    const count = (await versions()).length;
    for (const canary_percent of [0, 100, 1.5, '10'])
      expect((await as(gw, olga, 'PUT', api, { policy: withRules('x', 'y', 'z'), canary_percent })).status).toBe(400);
    const weak = await as(gw, olga, 'POST', `${api}/versions`, { policy: open, canary_percent: 10 });
    expect(weak.status).toBe(400);
    expect((await bodyOf(weak)).detail).toMatch(/a weakening version cannot start as a canary/);
    expect(await policyRow()).toEqual(before);
    expect(await versions()).toHaveLength(count);
  });

  it('a strengthening version starts as a canary: GET shows it with the base version; it widens, never narrows, 100 ends it', async () => {
    const base = await policyRow();
    const baseVersion = (await versions()).find((v) => v.state === 'active')!.version;
    const doc = JSON.parse(base.document_json) as { rules: unknown[] };
    const next = { ...doc, rules: [...doc.rules, rule('canaried', '/api/canaried')] };
    const r = await as(gw, olga, 'PUT', api, { policy: next, canary_percent: 10, comment: 'try it on a few' });
    expect(r.status).toBe(200);
    const b = await bodyOf(r);
    expect(b).toMatchObject({ state: 'active', canary: { percent: 10, base_version: baseVersion } });
    const row = await policyRow();
    expect(row).toMatchObject({ canary_percent: 10, canary_base_json: base.document_json, hash: b.hash });
    expect((await bodyOf(await as(gw, olga, 'GET', api))).canary).toEqual({ percent: 10, base_version: baseVersion });
    expect((await events('policy.canary_started')).at(-1)).toMatchObject({ version: b.version, from: baseVersion, percent: 10 });

    const canary = `${api}/canary`;
    for (const percent of [10, 5]) {
      const n = await as(gw, olga, 'POST', canary, { percent });
      expect(n.status).toBe(409);
      expect((await bodyOf(n)).detail).toMatch(/roll back instead/);
    }
    for (const percent of [0, 101, 2.5]) expect((await as(gw, olga, 'POST', canary, { percent })).status).toBe(400);
    expect((await policyRow()).canary_percent).toBe(10);

    // Racing widenings: each one that succeeded is at most the final share (never narrowed by a later write).
    const answers = await Promise.all([40, 60, 30].map((percent) => as(gw, adam, 'POST', canary, { percent })));
    const done = [40, 60, 30].filter((_, i) => answers[i]!.status === 200);
    for (const a of answers) expect([200, 409]).toContain(a.status);
    expect(done.length).toBeGreaterThan(0);
    const now = (await policyRow()).canary_percent!;
    for (const p of done) expect(now).toBeGreaterThanOrEqual(p);
    expect((await policyRow()).canary_base_json).toBe(base.document_json);

    const all = await as(gw, olga, 'POST', canary, { percent: 100 });
    expect(all.status).toBe(200);
    expect(await bodyOf(all)).toMatchObject({ completed: true, canary: null, version: b.version });
    expect(await policyRow()).toMatchObject({ canary_percent: null, canary_base_json: null, hash: b.hash });
    expect((await bodyOf(await as(gw, olga, 'GET', api))).canary).toBeNull();
    expect((await as(gw, olga, 'POST', canary, { percent: 50 })).status).toBe(409); // none running
    expect(await events('policy.canary_completed')).toHaveLength(1);
    expect((await events('policy.canary_widened')).length).toBe(done.length);
  });

  it('any other activation ends a running canary: a new version, a rollback', async () => {
    const doc = JSON.parse((await policyRow()).document_json) as { rules: unknown[] };
    const more = { ...doc, rules: [...doc.rules, rule('more', '/api/more')] };
    expect((await as(gw, olga, 'POST', `${api}/versions`, { policy: more, canary_percent: 20 })).status).toBe(200);
    expect((await policyRow()).canary_percent).toBe(20);
    const evenMore = { ...more, rules: [...more.rules, rule('even-more', '/api/even-more')] };
    expect((await as(gw, olga, 'POST', `${api}/versions`, { policy: evenMore })).status).toBe(200);
    expect(await policyRow()).toMatchObject({ canary_percent: null, canary_base_json: null });

    // Rollback: to a stronger earlier version (it does not weaken the canary's, so it applies at once).
    const strong = await bodyOf(
      await as(gw, olga, 'POST', `${api}/versions`, { policy: { ...evenMore, rules: [...evenMore.rules, rule('y', '/api/y')] } }),
    );
    const weak = await bodyOf(await as(gw, olga, 'POST', `${api}/versions`, { policy: evenMore }));
    expect(weak.state).toBe('proposed');
    expect((await as(gw, adam, 'POST', `${api}/versions/${weak.version}/approve`, {})).status).toBe(200);
    const [first, ...rest] = evenMore.rules as Record<string, unknown>[];
    const reworded = { ...evenMore, rules: [{ ...first, description: 'Reworded only.' }, ...rest] };
    const c = await as(gw, olga, 'POST', `${api}/versions`, { policy: reworded, canary_percent: 7 });
    expect(c.status).toBe(200);
    expect((await policyRow()).canary_percent).toBe(7);
    const back = await as(gw, olga, 'POST', `${api}/versions/${strong.version}/activate`, {});
    expect(back.status).toBe(200);
    expect(await policyRow()).toMatchObject({ canary_percent: null, canary_base_json: null, hash: strong.hash });
  });
});

describe('organisation baseline', () => {
  it('a version, an approval or a rollback that would weaken the baseline is 400 listing why, and nothing changes', async () => {
    // Before the baseline: a case-sensitive version (weakening: approved by a second person), then a stricter one.
    const lax = { version: 1, caseSensitive: true, rules: [rule('lax', '/api/lax')] };
    const laxVersion = await bodyOf(await as(gw, olga, 'POST', `${api}/versions`, { policy: lax }));
    if (laxVersion.state === 'proposed')
      expect((await as(gw, adam, 'POST', `${api}/versions/${laxVersion.version}/approve`, {})).status).toBe(200);
    const strict = { version: 1, rules: [rule('lax', '/api/lax'), rule('strict', '/api/strict')] };
    expect(await bodyOf(await as(gw, olga, 'POST', `${api}/versions`, { policy: strict }))).toMatchObject({ state: 'active' });
    const waiting = await bodyOf(await as(gw, olga, 'POST', `${api}/versions`, { policy: { ...strict, caseSensitive: true } }));
    expect(waiting.state).toBe('proposed');

    await env.DB.prepare('INSERT INTO org_policy_baselines (org_id, document_json, hash, updated_at) VALUES (?, ?, ?, 0)')
      .bind(ORG, JSON.stringify({ version: 1, rules: [rule('admin', '/admin/**')] }), 'h')
      .run();
    const before = await policyRow();
    const count = (await versions()).length;
    const r = await as(gw, olga, 'POST', `${api}/versions`, { policy: { ...strict, caseSensitive: true } });
    expect(r.status).toBe(400);
    expect(((await bodyOf(r)).problems as string[]).join(' ')).toMatch(/baseline/);
    const reserved = await as(gw, olga, 'PUT', api, { policy: { ...strict, rules: [...strict.rules, rule('baseline.mine', '/x')] } });
    expect(reserved.status).toBe(400);
    expect((await as(gw, adam, 'POST', `${api}/versions/${waiting.version}/approve`, {})).status).toBe(400);
    expect((await as(gw, olga, 'POST', `${api}/versions/${laxVersion.version}/activate`, {})).status).toBe(400);
    expect(await policyRow()).toEqual(before);
    expect(await versions()).toHaveLength(count);
    await env.DB.prepare('DELETE FROM org_policy_baselines WHERE org_id = ?').bind(ORG).run();
  });
});
