/**
 * `npx stepgate admin …` against the real gateway bundle under Miniflare, in front of the demo app:
 * alice (BOOTSTRAP_OWNER) claims the default organisation, makes personal tokens after a step-up,
 * and drives every subcommand with them. Answers are words; errors are one sentence (no stack
 * trace, no JSON unless --json); the gateway's refusals reach the terminal as its reasons.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoOrigin, type DemoOrigin } from '../../edge/node/demo/demo-origin';
import { startGateway, type RunningGateway } from '../support/miniflare-gateway';
import { sessionCookie, TEST_JWT_SECRET } from '../support/session';
import { runCli } from '../support/run-cli';

let origin: DemoOrigin;
let gw: RunningGateway;
let base: string;
let full: string; // alice: admin:read, admin:write, audit:read
let readOnly: string; // alice: admin:read
const dir = mkdtempSync(join(tmpdir(), 'stepgate-admin-cli-'));
const now = () => Math.floor(Date.now() / 1000);

/** `stepgate admin …` with the gateway's URL in the environment and `token` as STEPGATE_TOKEN. */
const admin = (token: string, ...argv: string[]) => runCli(['admin', ...argv], { STEPGATE_EDGE: base, STEPGATE_TOKEN: token });
const post = (path: string, cookie: string, body: unknown = {}) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { cookie, origin: base, 'content-type': 'application/json' },
  });

/** No stack trace and no JSON in what a person reads. */
const inWords = (text: string) => {
  expect(text).not.toMatch(/\n\s+at |Error:|[{}]/);
};

beforeAll(async () => {
  origin = await startDemoOrigin({ jwtSecret: TEST_JWT_SECRET });
  gw = await startGateway({ originUrl: origin.url, jwtSecret: TEST_JWT_SECRET });
  base = gw.url.origin;
  const cookie = await sessionCookie('alice', 'alice-admin-cli');
  const start = (await (await post('/.stepgate/api/factors/totp', cookie)).json()) as { id: string; secret: string };
  const code = (epoch: number) => generate({ secret: start.secret, epoch });
  expect((await post(`/.stepgate/api/factors/totp/${start.id}/confirm`, cookie, { code: await code(now() - 30) })).status).toBe(200);
  const { challenge_id } = (await (await post('/.stepgate/api/factors/step-up', cookie)).json()) as { challenge_id: string };
  const ok = await post(`/.stepgate/api/challenges/${challenge_id}/verify`, cookie, { method: 'totp', code: await code(now()) });
  expect(ok.status).toBe(200);
  const stepped = `${cookie}; ${ok.headers.get('set-cookie')!.split(';')[0]}`;
  expect((await post('/.stepgate/api/admin/bootstrap', stepped)).status).toBe(201);
  const token = async (scopes: string[]) => {
    const r = await post('/.stepgate/api/tokens', stepped, { scopes, label: `cli ${scopes.join(' ')}` });
    expect(r.status).toBe(201);
    return ((await r.json()) as { token: string }).token;
  };
  full = await token(['admin:read', 'admin:write', 'audit:read']);
  readOnly = await token(['admin:read']);
}, 120_000);
afterAll(async () => {
  await gw?.dispose();
  await origin?.close();
});

describe('stepgate admin', () => {
  it('--help explains itself: every subcommand, and what a token is needed for', async () => {
    const r = await runCli(['admin', '--help']);
    expect(r).toMatchObject({ code: 0, err: '' });
    for (const c of [
      'whoami',
      'apps list',
      'apps create',
      'apps delete',
      'policy get',
      'policy put',
      'roles list',
      'people show',
      'dashboard',
    ])
      expect(r.out).toContain(`admin ${c}`);
    const one = await runCli(['admin', 'apps', 'create', '--help']);
    expect(one.out).toContain('admin:write to change');
    expect(one.out).toContain('STEPGATE_TOKEN');
  });

  it('whoami, roles list and people show describe the token’s owner and organisation', async () => {
    const who = await admin(full, 'whoami');
    expect(who).toMatchObject({ code: 0, out: expect.stringMatching(/^alice in organisation default, with token "cli admin:read/) });
    expect(who.out).toContain('scopes:  audit:read, admin:read, admin:write');
    const roles = await admin(readOnly, 'roles', 'list');
    expect(roles).toMatchObject({ code: 0, out: expect.stringMatching(/^alice {2}owner {2}\(granted .* by configuration; grant /) });
    const alice = await admin(readOnly, 'people', 'show', 'alice');
    expect(alice.code).toBe(0);
    expect(alice.out).toContain('factors:  totp');
    expect(alice.out).toContain('roles:    owner');
    inWords(alice.out);
  });

  it('apps: create, list, show, update, the policy out and back in, delete', async () => {
    const policyFile = join(dir, 'policy.json');
    const policy = {
      version: 1,
      rules: [{ id: 'w', match: { methods: ['POST'], path: '/api/**' }, require: { factors: ['totp'], bind: 'session' } }],
    };
    writeFileSync(policyFile, JSON.stringify(policy));
    // The default organisation always has the bundled app (policy.json is its first version).
    expect(await admin(readOnly, 'apps', 'list')).toMatchObject({ code: 0, out: 'bundled  The bundled app  (the deployment’s hosts)' });
    const made = await admin(
      full,
      'apps',
      'create',
      '--name',
      'billing',
      '--hosts',
      'billing.example',
      '--identity',
      '{"source":"dev"}',
      '--policy',
      policyFile,
    );
    expect(made).toMatchObject({ code: 0, out: expect.stringMatching(/^created app (\S+) \(billing\) on billing\.example; policy /) });
    const id = /^created app (\S+)/.exec(made.out)![1]!;
    expect(await admin(readOnly, 'apps', 'list')).toMatchObject({
      code: 0,
      out: `bundled  The bundled app  (the deployment’s hosts)\n${id}  billing  (billing.example)`,
    });
    const shown = await admin(readOnly, 'apps', 'show', id);
    expect(shown.out).toContain('hosts:    billing.example');
    expect(shown.out).toContain('origin:   (the Cloudflare-proxied origin)');
    const updated = await admin(full, 'apps', 'update', id, '--name', 'billing-2', '--hosts', 'billing.example,pay.example');
    expect(updated).toMatchObject({ code: 0, out: expect.stringContaining(`updated app ${id}`) });
    expect(updated.out).toContain('hosts:    billing.example, pay.example');

    const out = join(dir, 'got.json');
    expect(await admin(readOnly, 'policy', 'get', id, '--out', out)).toMatchObject({ code: 0, out: expect.stringContaining(`to ${out}`) });
    const got = JSON.parse(readFileSync(out, 'utf8')) as { rules: { id: string }[] };
    expect(got.rules.map((r) => r.id)).toEqual(['w']);
    // Adding a rule strengthens protection: saved at once.
    const stronger = {
      ...got,
      rules: [
        ...got.rules,
        { id: 'deletes', match: { methods: ['DELETE'], path: '/api/**' }, require: { factors: ['totp'], bind: 'action' } },
      ],
    };
    writeFileSync(out, JSON.stringify(stronger));
    expect(await admin(full, 'policy', 'put', id, '--file', out)).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^saved the policy of app /),
    });
    expect(JSON.parse((await admin(readOnly, 'policy', 'get', id)).out)).toMatchObject({ rules: [{ id: 'w' }, { id: 'deletes' }] });
    // Removing one weakens it: a proposal, in words, and the active policy is unchanged.
    writeFileSync(out, JSON.stringify(got));
    const proposed = await admin(full, 'policy', 'put', id, '--file', out);
    expect(proposed).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^proposed version \d+ of app .* waits for a second owner or admin/),
    });
    inWords(proposed.out);
    expect(JSON.parse((await admin(readOnly, 'policy', 'get', id)).out)).toMatchObject({ rules: [{ id: 'w' }, { id: 'deletes' }] });

    expect(await admin(full, 'apps', 'delete', id)).toMatchObject({ code: 2, err: expect.stringContaining('cannot be undone: add --yes') });
    expect(await admin(full, 'apps', 'delete', id, '--yes')).toMatchObject({ code: 0, out: `deleted app ${id}` });
    // The default organisation always has the bundled app (policy.json is its first version).
    expect(await admin(readOnly, 'apps', 'list')).toMatchObject({ code: 0, out: 'bundled  The bundled app  (the deployment’s hosts)' });
  });

  it('dashboard: days and the most denied, in words (audit:read)', async () => {
    const r = await admin(full, 'dashboard', '--to', new Date().toISOString().slice(0, 10));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^from \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d \(UTC\)/);
    expect(r.out).toContain('step-ups');
    expect(r.out).toContain('most denied routes:');
    const refused = await admin(readOnly, 'dashboard');
    expect(refused).toMatchObject({ code: 1, err: 'stepgate admin dashboard: refused: this token does not have the audit:read scope' });
  });

  it('errors are one sentence in words; --json gives the API’s answer instead', async () => {
    const policyFile = join(dir, 'policy.json');
    const args = ['apps', 'create', '--name', 'x', '--hosts', 'x.example', '--identity', '{"source":"dev"}', '--policy', policyFile];
    const scope = await admin(readOnly, ...args);
    expect(scope.code).toBe(1);
    expect(scope.err).toMatch(/^stepgate admin apps create: refused: this token does not have the admin:write scope/);
    inWords(scope.err);
    const json = await admin(readOnly, ...args, '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out)).toMatchObject({ code: 'ERR_FORBIDDEN', status: 403 });

    const bad = await admin(`${full.slice(0, -2)}xx`, 'apps', 'list');
    expect(bad).toMatchObject({ code: 1, err: expect.stringContaining('the token is not valid: it may have expired or been revoked') });
    inWords(bad.err);
    const other = await admin(full, 'apps', 'list', '--org', 'acme');
    expect(other.err).toBe(
      'stepgate admin apps list: not done: No such organisation, or you hold no role in it. ' +
        "(a token works only in its own organisation: 'stepgate admin whoami' names it)",
    );
    writeFileSync(join(dir, 'bad-policy.json'), JSON.stringify({ version: 1, rules: [{ id: 'x', match: { path: 'no-slash' } }] }));
    const invalid = await admin(
      full,
      'apps',
      'create',
      '--name',
      'y',
      '--hosts',
      'y.example',
      '--identity',
      '{"source":"dev"}',
      '--policy',
      join(dir, 'bad-policy.json'),
    );
    expect(invalid).toMatchObject({ code: 1, err: expect.stringMatching(/^stepgate admin apps create: not done: policy/) });
    const garbled = await admin(
      full,
      'apps',
      'create',
      '--name',
      'y',
      '--hosts',
      'y.example',
      '--identity',
      '{"source":',
      '--policy',
      policyFile,
    );
    expect(garbled).toMatchObject({ code: 1, err: expect.stringMatching(/^stepgate admin apps create: --identity: not valid JSON/) });
    const away = await runCli(['admin', 'apps', 'list', '--edge', 'http://127.0.0.1:9', '--token', full]);
    expect(away).toMatchObject({
      code: 1,
      err: expect.stringMatching(/^stepgate admin apps list: cannot reach http:\/\/127\.0\.0\.1:9: /),
    });
    // What a person must do in a browser is not a CLI command, and the gateway refuses it to a token anyway.
    expect((await runCli(['admin', 'roles', 'grant'])).code).toBe(2);
    expect(await runCli(['admin', 'apps', 'list'], { STEPGATE_EDGE: base })).toMatchObject({
      code: 2,
      err: expect.stringContaining('a personal API token is required'),
    });
  });
});
