/**
 * `npx stepgate policy pull|diff|push` against the real gateway bundle under Miniflare: alice
 * (BOOTSTRAP_OWNER) claims the default organisation, makes personal tokens after a step-up, creates
 * an app, and keeps its policy as a file. A push goes through the gateway's validation, weakening
 * rule (a proposal waits, the active policy is unchanged) and audit; every failure is exit 2 with
 * nothing changed. Exit codes are what scripts read: diff 0/1/2, push 0/3/2.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoOrigin, type DemoOrigin } from '../../edge/node/demo/demo-origin';
import { startGateway, type RunningGateway } from '../support/miniflare-gateway';
import { runCli } from '../support/run-cli';
import { sessionCookie, TEST_JWT_SECRET } from '../support/session';

let origin: DemoOrigin;
let gw: RunningGateway;
let base: string;
let full: string; // alice: admin:read, admin:write, audit:read
let readOnly: string; // alice: admin:read
let app: string;
const dir = mkdtempSync(join(tmpdir(), 'stepgate-policy-remote-'));
const now = () => Math.floor(Date.now() / 1000);
const file = (name: string, doc: unknown) => {
  const f = join(dir, name);
  writeFileSync(f, typeof doc === 'string' ? doc : JSON.stringify(doc, null, 2));
  return f;
};

const W = { id: 'writes', match: { methods: ['POST'], path: '/api/**' }, require: { factors: ['totp'], bind: 'session' } };
const DELETES = { id: 'deletes', match: { methods: ['DELETE'], path: '/api/**' }, require: { factors: ['totp'], bind: 'action' } };
const FIRST = { version: 1, hosts: ['billing.example'], rules: [W] };

/** `stepgate policy …` with the gateway's URL in the environment and `token` as STEPGATE_TOKEN. */
const policy = (token: string, ...argv: string[]) => runCli(['policy', ...argv], { STEPGATE_EDGE: base, STEPGATE_TOKEN: token });
const api = async (token: string, method: string, path: string, body?: unknown) => {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};
const APPS = '/.stepgate/api/admin/orgs/default/apps';
type Version = { version: number; state: string; comment: string; author: string | null; policy: { rules: { id: string }[] } };
const versions = async (appId = app) =>
  ((await api(full, 'GET', `${APPS}/${appId}/policy/versions?limit=50`)).body.versions ?? []) as Version[];
const active = async (appId = app) => (await versions(appId)).find((v) => v.state === 'active');

beforeAll(async () => {
  origin = await startDemoOrigin({ jwtSecret: TEST_JWT_SECRET });
  gw = await startGateway({ originUrl: origin.url, jwtSecret: TEST_JWT_SECRET });
  base = gw.url.origin;
  const post = (path: string, cookie: string, body: unknown = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { cookie, origin: base, 'content-type': 'application/json' },
    });
  const cookie = await sessionCookie('alice', 'alice-policy-remote');
  const start = (await (await post('/.stepgate/api/factors/totp', cookie)).json()) as { id: string; secret: string };
  const code = (epoch: number) => generate({ secret: start.secret, epoch });
  expect((await post(`/.stepgate/api/factors/totp/${start.id}/confirm`, cookie, { code: await code(now() - 30) })).status).toBe(200);
  const { challenge_id } = (await (await post('/.stepgate/api/factors/step-up', cookie)).json()) as { challenge_id: string };
  const ok = await post(`/.stepgate/api/challenges/${challenge_id}/verify`, cookie, { method: 'totp', code: await code(now()) });
  expect(ok.status).toBe(200);
  const stepped = `${cookie}; ${ok.headers.get('set-cookie')!.split(';')[0]}`;
  expect((await post('/.stepgate/api/admin/bootstrap', stepped)).status).toBe(201);
  const token = async (scopes: string[]) => {
    const r = await post('/.stepgate/api/tokens', stepped, { scopes, label: `policy ${scopes.join(' ')}` });
    expect(r.status).toBe(201);
    return ((await r.json()) as { token: string }).token;
  };
  full = await token(['admin:read', 'admin:write', 'audit:read']);
  readOnly = await token(['admin:read']);
  const made = await api(full, 'POST', APPS, { name: 'billing', hosts: ['billing.example'], identity: { source: 'dev' }, policy: FIRST });
  expect(made.status).toBe(201);
  app = (made.body.app as { id: string }).id;
}, 120_000);
afterAll(async () => {
  await gw?.dispose();
  await origin?.close();
});

describe('stepgate policy pull', () => {
  it('prints the active policy as JSON on stdout and the version on stderr, so `> file` keeps only the policy', async () => {
    const r = await policy(readOnly, 'pull', '--app', app);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual(FIRST);
    expect(r.err).toMatch(new RegExp(`^pulled version 1 of app ${app} \\(\\S+, saved \\d{4}-\\d\\d-\\d\\d `));
  });

  it('-o writes it, pretty, and names the version; diff of the pulled file says no change (exit 0)', async () => {
    const out = join(dir, 'pulled.json');
    const r = await policy(readOnly, 'pull', '--app', app, '-o', out);
    expect(r).toMatchObject({ code: 0, out: expect.stringMatching(new RegExp(`^wrote version \\d+ of app ${app} .* to ${out}$`)) });
    expect(readFileSync(out, 'utf8')).toMatch(/^\{\n {2}"version": 1,/);
    expect(await policy(readOnly, 'diff', out, '--app', app)).toMatchObject({ code: 0, out: expect.stringMatching(/^no change: /) });
  });
});

describe('stepgate policy diff and push', () => {
  it('a strengthening change: diff lists it (exit 1), push makes it active at once (exit 0) with its comment', async () => {
    const f = file('stronger.json', { ...FIRST, rules: [W, DELETES] });
    const d = await policy(readOnly, 'diff', f, '--app', app);
    expect(d.code).toBe(1);
    expect(d.out).toContain('+ rule "deletes" added: DELETE /api/**');
    expect(d.out).toContain('strengthens protection: pushed, it is active at once');
    const before = (await active())!.version;
    const p = await policy(full, 'push', f, '--app', app, '-m', 'protect deletes');
    expect(p).toMatchObject({ code: 0, out: `active as version ${before + 1}`, err: '' });
    const now = (await active())!;
    expect(now).toMatchObject({ version: before + 1, comment: 'protect deletes', author: 'alice' });
    expect(JSON.parse((await policy(readOnly, 'pull', '--app', app)).out)).toMatchObject({ rules: [{ id: 'writes' }, { id: 'deletes' }] });
    expect(await policy(readOnly, 'diff', f, '--app', app)).toMatchObject({ code: 0 });
    // The same audit event as a console edit.
    const events = await api(full, 'GET', '/.stepgate/api/admin/audit/events?type=policy.version_created&limit=5');
    expect(JSON.stringify(events.body)).toContain(`"version":${before + 1}`);
  });

  it('a weakening change: diff gives the reasons, push only proposes it (exit 3) and the active policy stays', async () => {
    const f = file('weaker.json', { ...FIRST, rules: [W] });
    const d = await policy(readOnly, 'diff', f, '--app', app);
    expect(d.code).toBe(1);
    expect(d.out).toContain('- rule "deletes" removed: DELETE /api/**');
    expect(d.out).toMatch(/weakens protection: pushed, it waits for a second owner or admin to approve it, because\n {2}- .*deletes/);
    const was = (await active())!;
    const p = await policy(full, 'push', f, '--app', app, '-m', 'drop deletes');
    expect(p.code).toBe(3);
    expect(p.out).toMatch(/^proposed as version (\d+): a second owner or admin must approve it \(weakens: .*deletes.*\)\n/);
    expect(p.out).toContain(`approve or reject it at ${base}/.stepgate/admin/orgs/default/apps/${app}/policy`);
    expect((await active())!.version).toBe(was.version);
    expect(JSON.parse((await policy(readOnly, 'pull', '--app', app)).out)).toMatchObject({ rules: [{ id: 'writes' }, { id: 'deletes' }] });
    const n = Number(/^proposed as version (\d+)/.exec(p.out)![1]);
    expect((await versions()).find((v) => v.version === n)).toMatchObject({ state: 'proposed', comment: 'drop deletes', author: 'alice' });
  });

  it('an invalid file is refused here, by rule and field, and nothing is sent (exit 2)', async () => {
    const f = file('bad.json', { version: 1, rules: [{ id: 'x', match: { path: 'no-slash' }, require: { factors: ['sms'] } }] });
    const count = (await versions()).length;
    const p = await policy(full, 'push', f, '--app', app);
    expect(p.code).toBe(2);
    expect(p.out).toBe('');
    expect(p.err).toContain(`${f}: rule "x": match.path: must start with "/"`);
    expect(p.err).toContain(`${f}: rule "x": require.factors.0:`);
    expect(p.err).toContain(`${f}: rule "x": require.bind:`);
    expect(p.err).toMatch(/\n3 problem\(s\); nothing was pushed\.$/);
    expect((await versions()).length).toBe(count);
    const garbled = file('garbled.json', '{"version": 1,');
    expect(await policy(full, 'diff', garbled, '--app', app)).toMatchObject({ code: 2, err: expect.stringContaining('not valid JSON') });
    expect(await policy(full, 'push', join(dir, 'missing.json'), '--app', app)).toMatchObject({
      code: 2,
      err: expect.stringContaining('cannot read'),
    });
    expect((await versions()).length).toBe(count);
  });

  it('what only the gateway can check comes back as its list of problems (exit 2), nothing changed', async () => {
    // Valid alone, but its hosts no longer serve the app's host.
    const f = file('elsewhere.json', { ...FIRST, hosts: ['other.example'], rules: [W, DELETES] });
    const was = (await active())!.version;
    const p = await policy(full, 'push', f, '--app', app);
    expect(p.code).toBe(2);
    expect(p.err).toBe('stepgate policy push: the gateway refused the policy:\n  policy: its "hosts" do not include billing.example');
    expect((await active())!.version).toBe(was);
  });

  it('refusals are one sentence and exit 2: a read-only token, another organisation, an unknown app, no gateway', async () => {
    const f = file('stronger-2.json', { ...FIRST, rules: [W, DELETES] });
    const was = (await active())!.version;
    const ro = await policy(readOnly, 'push', f, '--app', app);
    expect(ro).toMatchObject({
      code: 2,
      err: expect.stringMatching(/^stepgate policy push: refused: this token does not have the admin:write scope/),
      out: '',
    });
    const other = await policy(full, 'pull', '--app', app, '--org', 'acme');
    expect(other).toMatchObject({ code: 2, err: expect.stringMatching(/^stepgate policy pull: not done: .*its own organisation/) });
    const none = await policy(full, 'diff', f, '--app', 'no-such-app');
    expect(none).toMatchObject({ code: 2, err: expect.stringMatching(/^stepgate policy diff: not done: /) });
    const bad = await policy(`${full.slice(0, -2)}xx`, 'push', f, '--app', app);
    expect(bad).toMatchObject({ code: 2, err: expect.stringContaining('the token is not valid') });
    const away = await runCli(['policy', 'pull', '--app', app, '--edge', 'http://127.0.0.1:9', '--token', full]);
    expect(away).toMatchObject({ code: 2, err: expect.stringMatching(/^stepgate policy pull: cannot reach http:\/\/127\.0\.0\.1:9: /) });
    for (const r of [ro, other, none, bad, away]) expect(r.err).not.toMatch(/\n\s+at |[{}]|sgt\./);
    expect((await active())!.version).toBe(was);
  });

  it('wrong calls are usage errors (exit 2) and send nothing: no --app, no token, a canary out of 1-99, a long comment', async () => {
    const f = file('stronger-3.json', {
      ...FIRST,
      rules: [W, DELETES, { ...DELETES, id: 'puts', match: { methods: ['PUT'], path: '/x' } }],
    });
    const count = (await versions()).length;
    expect(await policy(full, 'push', f)).toMatchObject({ code: 2, err: expect.stringContaining('--app ID is required') });
    expect(await runCli(['policy', 'pull', '--app', app], { STEPGATE_EDGE: base })).toMatchObject({
      code: 2,
      err: expect.stringContaining('a personal API token is required'),
    });
    for (const pct of ['0', '100', '5.5', 'ten', '-1', '050'])
      expect(await policy(full, 'push', f, '--app', app, `--canary=${pct}`)).toMatchObject({
        code: 2,
        err: expect.stringContaining('--canary: a whole percentage from 1 to 99'),
      });
    expect(await policy(full, 'push', f, '--app', app, '-m', 'x'.repeat(501))).toMatchObject({ code: 2 });
    expect((await versions()).length).toBe(count);
  });

  it('--canary sends canary_percent: a strengthening version starts for that share of people; a weakening one is refused', async () => {
    const f = file('canary.json', {
      ...FIRST,
      rules: [W, DELETES, { ...DELETES, id: 'patches', match: { methods: ['PATCH'], path: '/api/**' } }],
    });
    const was = (await active())!.version;
    const p = await policy(full, 'push', f, '--app', app, '--canary', '25', '-m', 'patches, carefully');
    const n = Number(/^active as version (\d+) /.exec(p.out)?.[1]);
    expect(p).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^active as version \d+ for 25% of people \(a canary: widen it or roll back at http/),
    });
    expect(n).toBeGreaterThan(was);
    expect((await api(readOnly, 'GET', `${APPS}/${app}/policy`)).body.canary).toMatchObject({ percent: 25, base_version: was });
    const weaker = file('canary-weaker.json', { ...FIRST, rules: [W] });
    const w = await policy(full, 'push', weaker, '--app', app, '--canary', '10');
    expect(w).toMatchObject({ code: 2, err: expect.stringContaining('a weakening version cannot start as a canary') });
    expect((await active())!.version).toBe(n);
  });

  it('the same file pushed twice at once (two CI jobs): each is active or refused in words, never two active versions', async () => {
    // The active policy and one more rule: a strengthening change, whatever the tests before left active.
    const now = JSON.parse((await policy(readOnly, 'pull', '--app', app)).out) as { rules: unknown[] };
    const f = file('race.json', { ...now, rules: [...now.rules, { ...DELETES, id: 'race', match: { path: '/race' } }] });
    const runs = await Promise.all([1, 2, 3].map(() => policy(full, 'push', f, '--app', app, '-m', 'race')));
    const won = runs.filter((r) => r.code === 0).map((r) => Number(/^active as version (\d+)$/.exec(r.out)![1]));
    expect(won.length).toBeGreaterThan(0);
    for (const { code, err } of runs.filter((r) => r.code !== 0)) {
      expect(code).toBe(2);
      expect(err).toMatch(/^stepgate policy push: not done: the active version changed meanwhile/);
    }
    const all = await versions();
    expect(all.filter((v) => v.state === 'active')).toHaveLength(1);
    const last = (await active())!;
    expect(last.version).toBe(Math.max(...won));
    expect(last.policy.rules.map((r) => r.id)).toContain('race');
  });
});

describe('the bundled app', () => {
  it('pull gives the deployment’s policy.json as its first version', async () => {
    const r = await policy(readOnly, 'pull', '--app', 'bundled');
    expect(r.code).toBe(0);
    const bundled = JSON.parse(readFileSync(new URL('../../edge/config/policy.json', import.meta.url), 'utf8')) as { rules: unknown[] };
    expect((JSON.parse(r.out) as { rules: unknown[] }).rules).toEqual(bundled.rules);
    expect(r.err).toMatch(/^pulled version 1 of app bundled /);
  });

  it('its pulled file, with a report-only rule added, pushes as version 2 (policy.json stays version 1)', async () => {
    const out = join(dir, 'bundled.json');
    expect((await policy(readOnly, 'pull', '--app', 'bundled', '-o', out)).code).toBe(0);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as { rules: unknown[] };
    // The demo's first step: a report-only rule for creating projects.
    const tryCreate = {
      id: 'try-create',
      mode: 'report',
      match: { methods: ['POST'], path: '/api/projects' },
      require: { factors: ['totp'], bind: 'action' },
    };
    writeFileSync(out, JSON.stringify({ ...doc, rules: [...doc.rules, tryCreate] }));
    const d = await policy(readOnly, 'diff', out, '--app', 'bundled');
    expect(d).toMatchObject({ code: 1, out: expect.stringContaining('+ rule "try-create" added: POST /api/projects') });
    const p = await policy(full, 'push', out, '--app', 'bundled', '-m', 'try a rule for new projects');
    expect(p).toMatchObject({ code: 0, out: 'active as version 2' });
    expect(await policy(readOnly, 'diff', out, '--app', 'bundled')).toMatchObject({
      code: 0,
      out: `no change: ${out} is version 2 of app bundled`,
    });
    expect((await versions('bundled')).map((v) => [v.version, v.state])).toEqual([
      [2, 'active'],
      [1, 'superseded'],
    ]);
  });
});
