/**
 * The `stepgate` CLI speaks Node's conventions: `--help`/`-h` for every command and group (standard
 * output, exit 0), a wrong call gets one line of reason and that command's usage (standard error,
 * exit 2), `--version`. The command list comes from the CLI's own table, so a new command cannot
 * skip these checks.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { COMMANDS, GROUPS } from '../../edge/node/cli/main';
import { ROOT } from '../support/miniflare-gateway';
import { STEPGATE_VERSION } from '../../edge/config/version';
import { runCli } from '../support/run-cli';

const run = (...argv: string[]) => runCli(argv);
const DEMO = join(ROOT, 'edge/config/policy.json');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('help', () => {
  it('the table has the commands the docs name', () => {
    expect(COMMANDS.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        'policy check',
        'policy test',
        'policy schema',
        'audit export',
        'audit verify',
        'keys generate',
        'keys rotate',
        'keys retire',
        'keys status',
        'keys dev-vars',
        'doctor',
      ]),
    );
    expect(GROUPS).toEqual(['policy', 'audit', 'keys', 'admin']);
  });

  it.each(
    COMMANDS.flatMap((c) => [
      [c.name, '--help'],
      [c.name, '-h'],
    ]),
  )('stepgate %s %s: its usage and every option on stdout, exit 0', async (name, flag) => {
    const cmd = COMMANDS.find((c) => c.name === name)!;
    // Help wins over anything else on the line, even a missing required option or an unknown one.
    for (const argv of [
      [...name.split(' '), flag],
      [...name.split(' '), '--no-such-option', flag],
    ]) {
      const r = await run(...argv);
      expect(r).toMatchObject({ code: 0, err: '' });
      expect(r.out.startsWith(`Usage: stepgate ${name}`)).toBe(true);
      expect(r.out).toContain(cmd.summary);
      for (const option of [...Object.keys(cmd.options), 'help']) expect(r.out).toContain(`--${option}`);
    }
  });

  it.each(GROUPS)('stepgate %s --help lists the group’s commands, exit 0', async (group) => {
    for (const flag of ['--help', '-h']) {
      const r = await run(group, flag);
      expect(r).toMatchObject({ code: 0, err: '' });
      expect(r.out.startsWith(`Usage: stepgate ${group} COMMAND`)).toBe(true);
      for (const c of COMMANDS.filter((c) => c.name.startsWith(`${group} `))) expect(r.out).toContain(c.name);
    }
  });

  it('stepgate --help, -h and help list every command, exit 0; `help CMD` is `CMD --help`', async () => {
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const r = await run(...argv);
      expect(r).toMatchObject({ code: 0, err: '' });
      for (const c of COMMANDS) expect(r.out).toContain(c.name);
    }
    expect(await run('help', 'keys', 'rotate')).toEqual(await run('keys', 'rotate', '--help'));
  });

  it('stepgate --version and -v print the package version', async () => {
    expect(await run('--version')).toEqual({ code: 0, out: VERSION, err: '' });
    // The gateway reports the same version (discovery document, OpenAPI, OCSF exports).
    expect(STEPGATE_VERSION).toBe(VERSION);
    expect(await run('-v')).toEqual({ code: 0, out: VERSION, err: '' });
  });
});

describe('usage errors: one line of reason, then the command’s usage, on stderr, exit 2', () => {
  it.each(COMMANDS.map((c) => [c.name]))('stepgate %s --no-such-option', async (name) => {
    const r = await run(...name.split(' '), '--no-such-option');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    const [reason, usage] = r.err.split('\n');
    expect(reason).toBe(`stepgate ${name}: unknown option --no-such-option`);
    expect(usage!.startsWith(`Usage: stepgate ${name}`)).toBe(true);
    expect(r.err).toContain(`Run \`stepgate ${name} --help\``);
  });

  it.each([
    [['keys', 'rotate'], 'stepgate keys rotate: --file KEYS is required (the current STEPGATE_KEYS JSON)'],
    [['keys', 'retire', '--file', 'k.json'], 'stepgate keys retire: --file KEYS and --kid ID are required'],
    [['keys', 'rotate', '--file'], 'stepgate keys rotate: --file needs a value'],
    [
      ['keys', 'rotate', '--file', '--force'],
      'stepgate keys rotate: --file needs a value (for a value that starts with "-", write --file=VALUE)',
    ],
    [['keys', 'generate', '--force=yes'], 'stepgate keys generate: --force takes no value'],
    [['keys', 'generate', 'extra'], 'stepgate keys generate: unexpected argument "extra"'],
    [['keys', 'generate', '--force'], 'stepgate keys generate: --force goes with --out FILE'],
    [
      ['keys', 'generate', '--kid', 'no spaces'],
      'stepgate keys generate: --kid: "no spaces" is not a key id: 1-32 letters, digits, "_" or "-" (new ids look like k20261201-6e6f)',
    ],
    [['keys', 'status'], 'stepgate keys status: --edge URL is required'],
    [['keys', 'dev-vars'], 'stepgate keys dev-vars: --file KEYS (install a keyring) or --export (take it out) is required'],
    [
      ['keys', 'dev-vars', '--file', 'k.json', '--export'],
      'stepgate keys dev-vars: give --file (install a keyring) or --export (take it out), not both',
    ],
    [
      ['audit', 'export', '--edge', 'http://127.0.0.1:1'],
      'stepgate audit export: a personal API token is required: ' +
        '--token or STEPGATE_TOKEN (create one at /.stepgate/api/tokens after a step-up)',
    ],
    [
      ['audit', 'export', '--edge', 'http://127.0.0.1:1', '--token', 't', '--format', 'xml'],
      'stepgate audit export: --format: one of ndjson, csv, ocsf',
    ],
    [['audit', 'verify', '--jwks', 'j.json'], 'stepgate audit verify: --jwks goes with --file (offline verification)'],
    [['policy', 'check'], 'stepgate policy check: a policy FILE is required'],
    [['policy', 'test', DEMO], 'stepgate policy test: a request "METHOD URL" is required'],
    [['policy', 'test', DEMO, 'nonsense'], 'stepgate policy test: request: expected "METHOD /path" or "METHOD https://host/path"'],
    [['doctor', 'extra'], 'stepgate doctor: unexpected argument "extra"'],
  ])('%j', async (argv, reason) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    const [first, usage] = r.err.split('\n');
    expect(first).toBe(reason);
    expect(usage!.startsWith(`Usage: stepgate ${argv[0] === 'doctor' ? 'doctor' : `${argv[0]} ${argv[1]}`}`)).toBe(true);
  });

  it('no command, an unknown group command or an unknown command: the list to choose from', async () => {
    expect(await run()).toMatchObject({
      code: 2,
      out: '',
      err: expect.stringMatching(/^stepgate: a command is required\nUsage: stepgate COMMAND/),
    });
    expect(await run('keys')).toMatchObject({
      code: 2,
      out: '',
      err: expect.stringMatching(/^stepgate keys: a command is required\nUsage: stepgate keys COMMAND/),
    });
    expect(await run('keys', 'frobnicate')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/^stepgate keys: unknown command "frobnicate"\nUsage: stepgate keys COMMAND/),
    });
    expect(await run('nonsense')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/^stepgate: unknown command "nonsense"\nUsage: stepgate COMMAND/),
    });
  });

  it('refusals and invalid input exit 1, without the usage', async () => {
    const r = await run('keys', 'rotate', '--file', join(ROOT, 'no-such-keys.json'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^stepgate keys rotate: .*no-such-keys\.json: cannot read/);
    expect(r.err).not.toContain('Usage:');
  });
});

describe('consistent flags', () => {
  it('policy check and test take the file as --file too, and answer --json', async () => {
    expect(await run('policy', 'check', '--file', DEMO)).toMatchObject({ code: 0, out: expect.stringContaining('3 rule(s)') });
    const check = await run('policy', 'check', DEMO, '--json');
    expect(JSON.parse(check.out)).toEqual({
      file: DEMO,
      ok: true,
      rules: ['admin-writes', 'delete-production-project', 'delete-project'],
      warnings: [],
    });
    const bad = join(mkdtempSync(join(tmpdir(), 'policy-')), 'p.json');
    writeFileSync(
      bad,
      JSON.stringify({ version: 1, rules: [{ id: 'x', match: { path: 'admin' }, require: { factors: ['totp'], bind: 'session' } }] }),
    );
    const invalid = await run('policy', 'check', bad, '--json');
    expect(invalid.code).toBe(1);
    expect(JSON.parse(invalid.out)).toEqual({
      file: bad,
      ok: false,
      problems: [expect.stringContaining('rule "x": match.path: must start with "/"')],
    });
    expect(await run('policy', 'test', '--file', DEMO, 'DELETE /api/projects/7')).toMatchObject({
      code: 0,
      out: expect.stringContaining('rule: delete-project'),
    });
    const test = await run('policy', 'test', DEMO, 'GET /api/projects/7?_method=DELETE', '--json');
    expect(JSON.parse(test.out)).toMatchObject({
      canonical: expect.stringContaining('/api/projects/7'),
      rule: { id: 'delete-project', bind: 'action', matchedAs: 'DELETE' },
    });
    const refused = await run('policy', 'test', DEMO, 'DELETE /api/projects%2F7', '--json');
    expect(JSON.parse(refused.out)).toMatchObject({ refused: { status: 400, code: 'ERR_AMBIGUOUS_REQUEST' } });
  });

  it('options take --name value and --name=value', async () => {
    expect((await run('policy', 'check', `--file=${DEMO}`)).code).toBe(0);
  });
});

describe('as a process (the package bin)', () => {
  const exec = promisify(execFile);
  it('help on stdout with exit 0; a usage error on stderr with exit 2', async () => {
    const help = await exec('npx', ['stepgate', 'keys', 'rotate', '--help'], { cwd: ROOT });
    expect(help.stdout).toContain('Usage: stepgate keys rotate --file KEYS');
    expect(help.stderr).toBe('');
    const bad = await exec('npx', ['stepgate', 'keys', 'rotate'], { cwd: ROOT }).catch(
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(bad).toMatchObject({
      code: 2,
      stdout: '',
      stderr: expect.stringMatching(/^stepgate keys rotate: --file KEYS is required[^\n]*\nUsage: stepgate keys rotate/),
    });
    expect((await exec('npx', ['stepgate', '--version'], { cwd: ROOT })).stdout.trim()).toBe(VERSION);
  });
});
