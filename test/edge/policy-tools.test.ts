/**
 * The policy tools of the admin API (edge/endpoints/policy-tool-routes.ts) with real D1 and Durable
 * Objects: check (problems by rule and field, diff, weakening, baseline), test, replay of the last
 * hour's recorded routes, and promoting a report-only rule — who may call them, bad input answered
 * with a clear 4xx and nothing changed, and racing promotions making exactly one version.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createOrg } from '../../edge/admin/org-store';
import { grantRole } from '../../edge/admin/role-store';
import demoPolicy from '../../edge/config/policy.json';
import { parseKeyring } from '../../edge/crypto/keyring';
import { HOUR_MS } from '../../edge/policy/route-sample-store';
import { RouteRecorder } from '../../edge/policy/route-recorder';
import { type PolicyError, validatePolicy } from '../../edge/policy/validate-policy';
import { as, bodyOf, type Caller, makeToken, newGateway, person, type Send, withToken } from './admin-callers';
import { seedApp } from './seed-apps';
import { seedRole } from './seed-roles';

const ring = parseKeyring(env.STEPGATE_KEYS);
const HOST = 'tools.test';
const ORG = 'tools';
const gw: Send = newGateway();
let api: string;
let appId: string;
let olga: Caller; // owner
let ada: Caller; // app-admin of the app
let otto: Caller; // app-admin of another app
let nora: Caller; // no role

const rule = (id: string, path: string, more: Record<string, unknown> = {}) => ({
  id,
  match: { methods: ['POST', 'DELETE'], path },
  require: { factors: ['webauthn'], bind: 'session' },
  ...more,
});
const active = {
  version: 1,
  rules: [rule('admin', '/admin/**'), rule('delete-project', '/api/projects/*', { require: { factors: ['webauthn'], bind: 'action' } })],
};
const withReport = { ...active, rules: [...active.rules, rule('try-create', '/api/projects', { mode: 'report' })] };

const versionRows = async () =>
  (
    await env.DB.prepare('SELECT version, state FROM policy_versions WHERE app_id = ? ORDER BY version')
      .bind(appId)
      .all<{ version: number; state: string }>()
  ).results;
const activeDoc = async () =>
  JSON.parse(
    (await env.DB.prepare('SELECT document_json FROM app_policies WHERE app_id = ?').bind(appId).first<{ document_json: string }>())!
      .document_json,
  ) as {
    rules: { id: string; mode?: string }[];
  };

beforeAll(async () => {
  const now = Date.now();
  expect((await createOrg(env.DB, { id: ORG, name: 'Tools', now, owner: { ring, sub: `${ORG}/olga`, grantedBy: 'seed' } })).ok).toBe(true);
  appId = (
    await seedApp({ org: ORG, name: 'tools', hosts: [HOST], originUrl: inject('originUrl'), policy: withReport, createdBy: `${ORG}/olga` })
  ).id;
  const other = await seedApp({ org: ORG, name: 'other', hosts: ['tools-other.test'], createdBy: `${ORG}/olga` });
  for (const [sub, app] of [
    ['ada', appId],
    ['otto', other.id],
  ] as const) {
    expect(
      (await grantRole(env.DB, ring, { orgId: ORG, appId: app, sub: `${ORG}/${sub}`, role: 'app-admin', grantedBy: `${ORG}/olga`, now }))
        .ok,
    ).toBe(true);
  }
  api = `/.stepgate/api/admin/orgs/${ORG}/apps/${appId}/policy`;
  [olga, ada, otto, nora] = (await Promise.all(['olga', 'ada', 'otto', 'nora'].map((n) => person(gw, n, HOST)))) as [
    Caller,
    Caller,
    Caller,
    Caller,
  ];
}, 60_000);

describe('POST …/policy/check', () => {
  it('gives the problems of `policy check` by rule and field, and changes nothing', async () => {
    const bad = { version: 1, rules: [{ id: 'x', match: { path: 'admin' }, require: { factors: ['sms'], bind: 'session' } }] };
    const before = await versionRows();
    const r = await as(gw, ada, 'POST', `${api}/check`, { policy: bad });
    expect(r.status).toBe(200);
    const b = await bodyOf(r);
    let expected: { rule: string | null; field: string; message: string }[] = [];
    try {
      validatePolicy(bad);
    } catch (e) {
      expected = (e as PolicyError).problems.map((p) => ({ rule: p.rule!.replaceAll('"', ''), field: p.field, message: p.message }));
    }
    expect(expected.length).toBe(2);
    expect(b).toEqual({ valid: false, problems: expected, diff: [], change: { weakening: false, reasons: [] }, baseline: [] });
    expect(b.problems).toContainEqual(expect.objectContaining({ rule: 'x', field: 'match.path' }));
    expect(await versionRows()).toEqual(before);
  });

  it('diffs a valid draft against the active version and says whether it weakens, and why', async () => {
    const weaker = { ...withReport, rules: withReport.rules.filter((x) => x.id !== 'delete-project') };
    const b = await bodyOf(await as(gw, ada, 'POST', `${api}/check`, { policy: weaker }));
    expect(b).toMatchObject({ valid: true, problems: [], baseline: [] });
    expect(b.diff).toEqual([{ kind: 'removed', rule: 'delete-project', text: expect.stringContaining('removed') }]);
    expect(b.change).toMatchObject({ weakening: true });
    expect((b.change as { reasons: string[] }).reasons.join(' ')).toMatch(/delete-project/);
    const stronger = { ...withReport, rules: [...withReport.rules, rule('reports', '/reports/**')] };
    const s = await bodyOf(await as(gw, ada, 'POST', `${api}/check`, { policy: stronger }));
    expect(s).toMatchObject({ valid: true, change: { weakening: false, reasons: [] } });
    expect(s.diff).toEqual([{ kind: 'added', rule: 'reports', text: expect.stringContaining('/reports/**') }]);
  });

  it('is not valid when the draft would stop serving the app’s hosts', async () => {
    const b = await bodyOf(await as(gw, ada, 'POST', `${api}/check`, { policy: { ...withReport, hosts: ['elsewhere.test'] } }));
    expect(b.valid).toBe(false);
    expect((b.problems as { message: string }[])[0]!.message).toContain(HOST);
  });

  it('lists what a draft would weaken of the organisation baseline', async () => {
    const doc = { version: 1, rules: [rule('admin', '/admin/**')] };
    await env.DB.prepare('INSERT INTO org_policy_baselines (org_id, document_json, hash, updated_at) VALUES (?, ?, ?, ?)')
      .bind(ORG, JSON.stringify(doc), 'test-hash', Date.now())
      .run();
    try {
      const b = await bodyOf(await as(gw, ada, 'POST', `${api}/check`, { policy: { ...withReport, caseSensitive: true } }));
      expect(b.valid).toBe(false);
      expect((b.baseline as string[]).length).toBeGreaterThan(0);
      // The tester runs a draft as the gateway would: behind the baseline's rules.
      const t = await bodyOf(
        await as(gw, ada, 'POST', `${api}/test`, { policy: { version: 1, rules: [] }, method: 'POST', url: '/admin/x' }),
      );
      expect(t).toMatchObject({ rule: 'baseline.admin', outcome: 'step-up' });
    } finally {
      await env.DB.prepare('DELETE FROM org_policy_baselines WHERE org_id = ?').bind(ORG).run();
    }
  });
});

describe('POST …/policy/test', () => {
  it('says which rule takes METHOD URL under the active policy or a draft, and what happens', async () => {
    const t = async (body: Record<string, unknown>) => bodyOf(await as(gw, ada, 'POST', `${api}/test`, body));
    expect(await t({ method: 'DELETE', url: '/api/projects/7' })).toMatchObject({
      rule: 'delete-project',
      mode: 'enforce',
      outcome: 'approve-action',
    });
    expect(await t({ method: 'POST', url: `https://${HOST}/api/projects` })).toMatchObject({
      rule: 'try-create',
      mode: 'report',
      outcome: 'report-only',
    });
    expect(await t({ method: 'GET', url: '/api/projects' })).toMatchObject({ rule: null, outcome: 'pass' });
    expect(await t({ method: 'GET', url: 'https://someone-else.test/' })).toMatchObject({ outcome: 'refused' });
    const draft = await t({ policy: active, method: 'POST', url: '/api/projects' });
    expect(draft).toMatchObject({ rule: null, outcome: 'pass' });
    expect(draft.text).toMatch(/No rule matches POST tools\.test\/api\/projects/);
  });

  it('answers bad input with a clear 400', async () => {
    for (const body of [
      { method: 'GET' },
      { method: 'G ET', url: '/x' },
      { method: 'GET', url: 'ftp://x/y' },
      { method: 'GET', url: `/${'a'.repeat(3000)}` },
      { method: 'GET', url: '/x', extra: 1 },
      { method: 'GET', url: '/x', policy: { version: 2 } },
    ]) {
      const r = await as(gw, ada, 'POST', `${api}/test`, body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
    }
    const r = await bodyOf(
      await as(gw, ada, 'POST', `${api}/test`, { method: 'GET', url: '/x', policy: { version: 1, rules: [{ id: 'x' }] } }),
    );
    expect(r.problems).toContainEqual(expect.objectContaining({ rule: 'x' }));
  });
});

describe('POST …/policy/replay', () => {
  it('lists the last hour’s routes whose outcome the draft changes, most requests first', async () => {
    const now = Date.now();
    const rec = new RouteRecorder(0);
    for (let i = 0; i < 7; i++) rec.add(appId, 'POST', HOST, '/api/projects', now);
    for (let i = 0; i < 2; i++) rec.add(appId, 'DELETE', HOST, '/api/projects/9', now - HOUR_MS);
    rec.add(appId, 'GET', HOST, '/api/projects', now);
    rec.add(appId, 'POST', HOST, '/admin/old', now - 3 * HOUR_MS); // older than the last hour: not replayed
    await rec.flushNow(env.DB);
    const promoted = { ...active, rules: [...active.rules.filter((x) => x.id !== 'delete-project'), rule('try-create', '/api/projects')] };
    const r = await as(gw, ada, 'POST', `${api}/replay`, { policy: promoted });
    expect(r.status).toBe(200);
    expect(await bodyOf(r)).toEqual({
      hours: 1,
      routes: 3,
      changed: [
        { method: 'POST', host: HOST, path: '/api/projects', requests: 7, from: 'report-only', to: 'step-up' },
        { method: 'DELETE', host: HOST, path: '/api/projects/9', requests: 2, from: 'approve-action', to: 'pass' },
      ],
    });
    // Requests through the gateway are recorded (method, host and path; no query) and replayed at once.
    for (let i = 0; i < 3; i++) await gw(`http://${HOST}/reports/q?i=${i}`, { headers: { 'stepgate-dev-user': 'nina' } });
    const reports = { ...withReport, rules: [...withReport.rules, rule('reports', '/reports/**', { match: { path: '/reports/**' } })] };
    const seen = await bodyOf(await as(gw, ada, 'POST', `${api}/replay`, { policy: reports }));
    expect(seen.changed).toEqual([{ method: 'GET', host: HOST, path: '/reports/q', requests: 3, from: 'pass', to: 'step-up' }]);
    expect((await as(gw, ada, 'POST', `${api}/replay`, { policy: { version: 1 } })).status).toBe(400);
    expect((await as(gw, ada, 'POST', `${api}/replay`, {})).status).toBe(400);
  });
});

describe('who may use the tools', () => {
  it('those who read the policy, a token with admin:read included; nobody else, and no other app', async () => {
    const t = await makeToken(olga, ['admin:read']);
    expect(t.status).toBe(201);
    expect((await withToken(t.token, HOST, 'POST', `${api}/check`, { policy: active })).status).toBe(200);
    for (const who of [nora, otto]) {
      const r = await as(gw, who, 'POST', `${api}/test`, { method: 'POST', url: '/api/projects' });
      expect(r.status).toBe(404);
      expect(await r.text()).not.toContain('try-create');
    }
    expect((await as(gw, olga, 'POST', `/.stepgate/api/admin/orgs/${ORG}/apps/no-such/policy/check`, { policy: active })).status).toBe(404);
    // Promoting is a write: a read token is refused and nothing changes.
    const before = await versionRows();
    expect((await withToken(t.token, HOST, 'POST', `${api}/rules/try-create/promote`, {})).status).toBe(403);
    expect((await as(gw, otto, 'POST', `${api}/rules/try-create/promote`, {})).status).toBe(404);
    expect(await versionRows()).toEqual(before);
  });
});

describe('POST …/policy/rules/:rule/promote', () => {
  it('refuses an unknown rule (404), a rule that enforces (409) and a body (400), changing nothing', async () => {
    const before = await versionRows();
    expect((await as(gw, ada, 'POST', `${api}/rules/no-such/promote`, {})).status).toBe(404);
    expect((await as(gw, ada, 'POST', `${api}/rules/${'x'.repeat(70)}/promote`, {})).status).toBe(404);
    const enforcing = await as(gw, ada, 'POST', `${api}/rules/admin/promote`, {});
    expect(enforcing.status).toBe(409);
    expect((await bodyOf(enforcing)).detail).toMatch(/not report-only/);
    expect((await as(gw, ada, 'POST', `${api}/rules/try-create/promote`, { mode: 'enforce' })).status).toBe(400);
    expect(await versionRows()).toEqual(before);
  });

  it('makes the active version with the rule enforcing, once, when two promote at the same moment; audited', async () => {
    const before = await versionRows();
    const answers = await Promise.all([ada, olga].map((who) => as(gw, who, 'POST', `${api}/rules/try-create/promote`, {})));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409]);
    const ok = await bodyOf(answers.find((r) => r.status === 200)!);
    expect(ok).toMatchObject({ state: 'active', weakens: false });
    const after = await versionRows();
    expect(after).toHaveLength(before.length + 1);
    expect(after.filter((v) => v.state === 'active').map((v) => v.version)).toEqual([ok.version]);
    const doc = await activeDoc();
    expect(doc.rules.find((x) => x.id === 'try-create')).not.toHaveProperty('mode');
    expect(doc.rules.map((x) => x.id)).toEqual(withReport.rules.map((x) => x.id));
    const events = await env.DB.prepare(
      "SELECT type FROM audit_events WHERE type IN ('policy.rule_promoted', 'policy.version_created')",
    ).all<{ type: string }>();
    expect(events.results.filter((e) => e.type === 'policy.rule_promoted')).toHaveLength(1);
    expect(events.results.some((e) => e.type === 'policy.version_created')).toBe(true);
    // Now it enforces: promoting it again is refused.
    expect((await as(gw, ada, 'POST', `${api}/rules/try-create/promote`, {})).status).toBe(409);
  });
});

describe('the bundled app', () => {
  it('is checked and tested against policy.json until D1 holds a version of it', async () => {
    await seedRole('tools-bundled-owner', 'owner');
    const owner = await person('tools-bundled-owner');
    const bundled = '/.stepgate/api/admin/orgs/default/apps/bundled/policy';
    const t = await bodyOf(await as(owner, 'POST', `${bundled}/test`, { method: 'DELETE', url: '/api/projects/7' }));
    expect(t).toMatchObject({ rule: 'delete-project', outcome: 'approve-action' });
    const c = await bodyOf(await as(owner, 'POST', `${bundled}/check`, { policy: { ...demoPolicy, hosts: ['app.test'], rules: [] } }));
    expect(c).toMatchObject({ change: { weakening: true } });
    expect((c.diff as { kind: string }[]).map((d) => d.kind)).toEqual(expect.arrayContaining(['removed']));
  });
});
