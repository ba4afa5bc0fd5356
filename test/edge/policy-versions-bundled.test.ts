/**
 * The bundled app's policy as versioned data (issue 13, item 1: "the bundled file becomes the initial
 * version of the demo app"), through the admin API on real D1 and Durable Objects: listed with the
 * default organisation's apps, its policy.json shown as version 1 until the first change writes it as
 * such; its hosts, identity and origin stay the deployment's (409), new versions keep serving its
 * hosts, racing first writes seed version 1 once, and the gateway enforces a new version within the
 * registry's refresh.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import demoPolicy from '../../edge/config/policy.json';
import { as, bodyOf, type Caller, newGateway, person, type Send } from './admin-callers';
import { seedRole } from './seed-roles';

const API = '/.stepgate/api/admin/orgs/default/apps';
const POLICY = `${API}/bundled/policy`;
/** What the test gateway bundles: the demo policy.json, serving app.test only. */
const bundled = { ...demoPolicy, hosts: ['app.test'] };
let offset = 0;
const now = () => Date.now() + offset;
const gw: Send = newGateway({ now });
let owen: Caller; // owner of the default organisation
let ada: Caller; // admin

type Version = { version: number; state: string; comment: string; author: string | null; hash: string; policy: unknown };
const versions = async () => (await bodyOf(await as(gw, owen, 'GET', `${POLICY}/versions?limit=50`))).versions as Version[];
const rows = async () => ({
  versions: (await env.DB.prepare("SELECT COUNT(*) AS n FROM policy_versions WHERE app_id = 'bundled'").first<{ n: number }>())!.n,
  policy: await env.DB.prepare("SELECT hash FROM app_policies WHERE app_id = 'bundled'").first<{ hash: string }>(),
});
/** policy.json with one more rule: a change that does not weaken it. */
const plus = (id: string, path: string, methods = ['POST']) => ({
  ...bundled,
  rules: [...bundled.rules, { id, match: { methods, path }, require: { factors: ['totp'], bind: 'session', maxAge: '5m' } }],
});

beforeAll(async () => {
  await seedRole('bo-owen', 'owner');
  await seedRole('bo-ada', 'admin');
  owen = await person(gw, 'bo-owen', 'app.test', { now });
  ada = await person(gw, 'bo-ada', 'app.test', { now });
}, 60_000);

describe('the bundled app before any change', () => {
  it('is listed and read like an app, its policy.json as version 1 — and reading writes nothing', async () => {
    const list = (await bodyOf(await as(gw, owen, 'GET', API))).apps as Record<string, unknown>[];
    expect(list.filter((a) => a.id === 'bundled')).toEqual([
      expect.objectContaining({ bundled: true, org: 'default', hosts: ['app.test'] }),
    ]);
    expect((await bodyOf(await as(gw, owen, 'GET', `${API}/bundled`))).app).toMatchObject({ id: 'bundled', bundled: true });
    const p = await bodyOf(await as(gw, owen, 'GET', POLICY));
    expect(p).toMatchObject({ app_id: 'bundled', version: 1, policy: bundled, canary: null, updated_by: null });
    expect(await versions()).toEqual([
      expect.objectContaining({ version: 1, state: 'active', comment: 'the bundled policy.json', author: null, hash: p.hash }),
    ]);
    expect(await rows()).toEqual({ versions: 0, policy: null });
  });

  it('refuses changing its hosts, identity or origin and deleting it (409): they are the deployment’s', async () => {
    for (const body of [{ hosts: ['elsewhere.test'] }, { origin_url: 'https://x.example' }, { identity: { source: 'dev' } }]) {
      const r = await as(gw, owen, 'PATCH', `${API}/bundled`, body);
      expect(r.status).toBe(409);
      expect((await bodyOf(r)).detail).toMatch(/The bundled app is defined by the deployment \(policy\.json, IDENTITY, ORIGIN_URL\)/);
    }
    expect((await as(gw, owen, 'DELETE', `${API}/bundled`, {})).status).toBe(409);
    expect(await env.DB.prepare("SELECT name FROM apps WHERE id = 'bundled'").first()).toEqual({ name: 'The bundled app' });
  });

  it('a new version must keep serving its hosts (policy.json’s): 400, nothing written', async () => {
    const r = await as(gw, owen, 'PUT', POLICY, { policy: { ...plus('x', '/x'), hosts: ['other.test'] } });
    expect(r.status).toBe(400);
    expect((await bodyOf(r)).detail).toMatch(/app\.test/);
    expect(await rows()).toEqual({ versions: 0, policy: null });
  });
});

describe('the first change', () => {
  it('racing first writes seed policy.json as version 1 exactly once; one version is active, the one the gateway reads', async () => {
    const answers = await Promise.all([1, 2, 3].map((i) => as(gw, owen, 'PUT', POLICY, { policy: plus(`first-${i}`, `/api/first-${i}`) })));
    // One that read another's new version as active drops that one's rule: a proposal (202), as it should be.
    for (const a of answers) expect([200, 202, 409]).toContain(a.status);
    expect(answers.some((a) => a.status === 200)).toBe(true);
    const all = await versions();
    const first = all.filter((v) => v.version === 1);
    expect(first).toEqual([
      expect.objectContaining({ comment: 'the bundled policy.json', author: null, state: 'superseded', policy: bundled }),
    ]);
    const active = all.filter((v) => v.state === 'active');
    expect(active).toHaveLength(1);
    expect((await rows()).policy).toEqual({ hash: active[0]!.hash });
    expect(active[0]!.author).toBe('bo-owen');
  });

  it('the gateway enforces a new version of the bundled app within the registry refresh; a rollback to policy.json undoes it', async () => {
    // Owen signed in, without a step-up for this rule.
    const unstepped = () => gw(`http://app.test/api/projects?t=${offset}`, { headers: owen.plain });
    expect((await unstepped()).status).toBe(200);
    const active = (await versions()).find((v) => v.state === 'active')!.policy as { rules: unknown[] };
    const readProjects = {
      id: 'read-projects',
      match: { methods: ['GET'], path: '/api/projects' },
      require: { factors: ['totp'], bind: 'session', maxAge: '5m' },
    };
    const r = await as(gw, owen, 'PUT', POLICY, { policy: { ...active, rules: [...active.rules, readProjects] } });
    expect(r.status).toBe(200);
    offset += 11_000;
    await unstepped(); // may answer from the old copy while it refreshes
    offset += 1;
    const res = await unstepped();
    expect(res.status).toBe(401);
    expect(await bodyOf(res)).toMatchObject({ code: 'ERR_STEP_UP_REQUIRED', rule: 'read-projects' });

    // Back to policy.json (version 1) removes rules: a proposal a second person approves.
    const back = await as(gw, owen, 'POST', `${POLICY}/versions/1/activate`, {});
    expect(back.status).toBe(202);
    const approved = await as(gw, ada, 'POST', `${POLICY}/versions/${(await bodyOf(back)).version}/approve`, {});
    expect(approved.status).toBe(200);
    expect((await bodyOf(await as(gw, owen, 'GET', POLICY))).policy).toEqual(bundled);
    offset += 11_000;
    await unstepped();
    offset += 1;
    expect((await unstepped()).status).toBe(200);
  });
});
