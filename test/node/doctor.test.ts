/**
 * `stepgate doctor`: the shipped wrangler.toml is a development configuration, and doctor lists
 * each of its development settings with a fix (exit 1); a copy fixed up for production passes
 * (exit 0). Each check is then broken one at a time on the fixed-up copy.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/miniflare-gateway';
import { runCli } from '../support/run-cli';

const run = (...argv: string[]) => runCli(argv);
const SHIPPED = join(ROOT, 'wrangler.toml');
const shipped = readFileSync(SHIPPED, 'utf8');

/** Replace one `NAME = …` line of the [vars] (or anywhere), asserting it is there. */
const set = (toml: string, name: string, line: string) => {
  const re = new RegExp(`^${name} = .*$`, 'm');
  expect(toml).toMatch(re);
  return toml.replace(re, line);
};

/** The shipped configuration, made ready for production the way README's deploy steps say. */
function production(): string {
  let t = shipped;
  t = set(t, 'ENVIRONMENT', 'ENVIRONMENT = "production"');
  t = set(t, 'ORIGIN_URL', 'ORIGIN_URL = ""');
  t = set(t, 'BOOTSTRAP_OWNER', 'BOOTSTRAP_OWNER = "ops-lead@example.com"');
  t = set(t, 'WEBAUTHN_ORIGINS', 'WEBAUTHN_ORIGINS = "chrome-extension://abcdefghijklmnopabcdefghijklmnop"');
  t = set(t, 'database_id', 'database_id = "5f0c2a3e-1b7d-4c8e-9a6f-2d4b8e1c7a90"');
  // Top-level keys go before the first table.
  return t.replace(/^compatibility_date = .*$/m, '$&\nroutes = [{ pattern = "app.example.com/*", zone_name = "example.com" }]');
}

/** A project directory with this wrangler.toml, the policy and the migrations, as in a checkout. */
function project(toml: string, policy?: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'stepgate-doctor-'));
  writeFileSync(join(dir, 'wrangler.toml'), toml);
  mkdirSync(join(dir, 'edge/config'), { recursive: true });
  if (policy === undefined) cpSync(join(ROOT, 'edge/config/policy.json'), join(dir, 'edge/config/policy.json'));
  else writeFileSync(join(dir, 'edge/config/policy.json'), JSON.stringify(policy));
  cpSync(join(ROOT, 'edge/migrations'), join(dir, 'edge/migrations'), { recursive: true });
  return join(dir, 'wrangler.toml');
}

const problems = (out: string) => [...out.matchAll(/^problem: ([^:]+):/gm)].map((m) => m[1]);

describe('stepgate doctor', () => {
  it('on the shipped wrangler.toml: lists every development setting with its fix, and exits 1', async () => {
    const r = await run('doctor', '--config', SHIPPED);
    expect(r.code).toBe(1);
    expect(problems(r.out)).toEqual([
      'ENVIRONMENT',
      'ORIGIN_URL',
      'WEBAUTHN_ORIGINS',
      'BOOTSTRAP_OWNER',
      'routes',
      'd1_databases.database_id',
    ]);
    expect(r.out).toContain('problem: ENVIRONMENT: is "development", not "production"');
    expect(r.out).toContain('problem: ORIGIN_URL: "http://127.0.0.1:8788" uses http:');
    expect(r.out).toContain('problem: WEBAUTHN_ORIGINS: chrome-extension://leldacdejfbkleoogdbophfdkoapmfbd is the development build');
    expect(r.out).toContain('problem: BOOTSTRAP_OWNER: "alice" is a name from the demo');
    expect(r.out).toContain('problem: d1_databases.database_id: is the placeholder 00000000-0000-4000-8000-000000000000');
    // Every problem has its fix on the next line.
    expect(r.out.match(/^problem: /gm)!.length).toBe(r.out.match(/^ {4}fix: /gm)!.length);
    // It cannot see secrets: it lists the commands that set them.
    expect(r.out).toContain('npx wrangler secret put STEPGATE_KEYS');
    expect(r.out).toContain('npx wrangler secret put IDENTITY_JWT_SECRET');
    expect(r.out).toMatch(/6 problem\(s\): not ready for production\.$/);
  });

  it('on a copy fixed up for production: ready, exit 0', async () => {
    const r = await run('doctor', '--config', project(production()));
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(problems(r.out)).toEqual([]);
    expect(r.out).toContain('ready for production. Next: npx wrangler d1 migrations apply DB --remote, then npx wrangler deploy');
    expect(r.out).toContain('npx wrangler secret put STEPGATE_KEYS');
  });

  it('--json: the same report, for scripts', async () => {
    const r = await run('doctor', '--config', SHIPPED, '--json');
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out) as {
      ready: boolean;
      problems: { setting: string; problem: string; fix: string }[];
      secrets: string[];
    };
    expect(report.ready).toBe(false);
    expect(report.problems.map((p) => p.setting)).toContain('BOOTSTRAP_OWNER');
    expect(report.problems.every((p) => p.fix.length > 0)).toBe(true);
    expect(JSON.parse((await run('doctor', '--config', project(production()), '--json')).out)).toMatchObject({ ready: true, problems: [] });
  });

  it.each<[string, (t: string) => string, string, RegExp]>([
    ['the dev identity source', (t) => set(t, 'IDENTITY', 'IDENTITY = { source = "dev" }'), 'IDENTITY', /the "dev" identity source/],
    [
      'an invalid IDENTITY',
      (t) => set(t, 'IDENTITY', 'IDENTITY = { source = "jwt", cookie = "s" }'),
      'IDENTITY',
      /set "issuer" and "audience"/,
    ],
    [
      'a private https ORIGIN_URL',
      (t) => set(t, 'ORIGIN_URL', 'ORIGIN_URL = "https://192.168.0.10"'),
      'ORIGIN_URL',
      /names 192\.168\.0\.10, a loopback or private host/,
    ],
    ['a secret in [vars]', (t) => t.replace('[vars]', '[vars]\nSTEPGATE_KEYS = "{}"'), 'STEPGATE_KEYS', /is a secret but is in \[vars\]/],
    ['no cron trigger', (t) => t.replace(/^crons = .*$/m, 'crons = []'), 'triggers', /no cron trigger/],
    ['no migrations_dir', (t) => t.replace(/^migrations_dir = .*$/m, ''), 'd1_databases.migrations_dir', /is not set/],
    [
      'a Durable Object binding missing',
      (t) => t.replace(/\[\[durable_objects\.bindings\]\]\nname = "AUDIT_SEQUENCER"\nclass_name = "AuditSequencer"\n/, ''),
      'durable_objects.bindings',
      /no binding AUDIT_SEQUENCER/,
    ],
    [
      'a Durable Object class never created',
      (t) => t.replace(/\[\[migrations\]\]\ntag = "v2"\nnew_sqlite_classes = \["AuditSequencer"\]\n/, ''),
      'migrations',
      /no migration creates the Durable Object class AuditSequencer/,
    ],
    [
      'a Durable Object class without SQLite',
      (t) => t.replace('new_sqlite_classes = ["AuditSequencer"]', 'new_classes = ["AuditSequencer"]'),
      'migrations',
      /AuditSequencer is created with new_classes/,
    ],
    [
      'a demo bootstrap owner',
      (t) => set(t, 'BOOTSTRAP_OWNER', 'BOOTSTRAP_OWNER = "bob"'),
      'BOOTSTRAP_OWNER',
      /"bob" is a name from the demo/,
    ],
  ])('%s', async (_name, change, setting, problem) => {
    const r = await run('doctor', '--config', project(change(production())));
    expect(r.code).toBe(1);
    expect(problems(r.out)).toEqual([setting]);
    expect(r.out).toMatch(problem);
  });

  it('rules that name hosts need the policy’s "hosts", and routes need to be among them', async () => {
    const rule = { id: 'r', match: { host: 'app.example.com', path: '/admin/**' }, require: { factors: ['totp'], bind: 'session' } };
    const noHosts = await run('doctor', '--config', project(production(), { version: 1, rules: [rule] }));
    expect(noHosts.code).toBe(1);
    expect(noHosts.out).toContain('problem: policy hosts: rule(s) r name a host but the policy has no "hosts"');
    const otherHost = await run(
      'doctor',
      '--config',
      project(production(), {
        version: 1,
        hosts: ['other.example.com'],
        rules: [{ ...rule, match: { ...rule.match, host: 'other.example.com' } }],
      }),
    );
    expect(otherHost.out).toContain(
      'problem: policy hosts: the route app.example.com/* is for app.example.com, which the policy\'s "hosts" does not list',
    );
    expect((await run('doctor', '--config', project(production(), { version: 1, hosts: ['app.example.com'], rules: [rule] }))).code).toBe(
      0,
    );
  });

  it('--env NAME checks that environment, and says so when there is none', async () => {
    const withEnv =
      `${production()}\n[env.staging]\nroutes = [{ pattern = "staging.example.com/*", zone_name = "example.com" }]\n` +
      `[env.staging.vars]\nENVIRONMENT = "production"\nORIGIN_URL = "http://staging.internal"\nBOOTSTRAP_OWNER = "ops-lead@example.com"\n`;
    const config = project(withEnv);
    const staging = await run('doctor', '--config', config, '--env', 'staging');
    expect(staging.code).toBe(1);
    expect(problems(staging.out)).toContain('ORIGIN_URL');
    expect(staging.out).toContain('npx wrangler secret put STEPGATE_KEYS --env staging');
    const missing = await run('doctor', '--config', config, '--env', 'production');
    expect(missing.out).toContain('problem: --env: ');
    expect(missing.out).toContain('has no [env.production] section');
  });

  it('a configuration that is not there: exit 1', async () => {
    expect(await run('doctor', '--config', join(ROOT, 'no-such-wrangler.toml'))).toMatchObject({
      code: 1,
      err: expect.stringContaining('no such file'),
    });
  });
});

describe('the page scripts’ static assets ([assets])', () => {
  const ASSETS_BLOCK = /^\[assets\]\ndirectory = .*\nbinding = "ASSETS"\nrun_worker_first = true\n/m;
  const doctor = async (toml: string) => {
    const r = await run('doctor', '--config', project(toml));
    return { code: r.code, out: `${r.out}\n${r.err}` };
  };

  it('the production copy with the shipped [assets] is ready', async () => {
    expect(shipped).toMatch(ASSETS_BLOCK);
    expect(await doctor(production())).toMatchObject({ code: 0 });
  });

  it.each<[string, (t: string) => string, string]>([
    ['without [assets] (no page script can load: no step-up can be answered)', (t) => t.replace(ASSETS_BLOCK, ''), 'no [assets]'],
    [
      'with run_worker_first = false (assets would answer on every app path before the gateway)',
      (t) => t.replace('run_worker_first = true', 'run_worker_first = false'),
      'assets.run_worker_first',
    ],
    [
      'with another binding name (the gateway reads env.ASSETS)',
      (t) => t.replace('binding = "ASSETS"', 'binding = "STATIC"'),
      'assets.binding',
    ],
    [
      'with not_found_handling answering unknown names with a file',
      (t) => t.replace('run_worker_first = true', 'run_worker_first = true\nnot_found_handling = "single-page-application"'),
      'assets.not_found_handling',
    ],
  ])('%s, it is not "ready"', async (_name, change, named) => {
    const r = await doctor(change(production()));
    expect(r.code).toBe(1);
    expect(r.out).toContain(named);
  });
});
