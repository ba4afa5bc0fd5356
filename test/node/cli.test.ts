/** `npx stepgate policy ...`: what app owners run before deploying a policy. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/miniflare-gateway';
import { runCli } from '../support/run-cli';

const run = (...argv: string[]) => runCli(argv, process.env);
const DEMO = join(ROOT, 'edge/config/policy.json');
const tmp = (text: string) => {
  const f = join(mkdtempSync(join(tmpdir(), 'policy-')), 'policy.json');
  writeFileSync(f, text);
  return f;
};

describe('stepgate policy check', () => {
  it('accepts the demo policy', async () => {
    expect(await run('policy', 'check', DEMO)).toMatchObject({
      code: 0,
      out: expect.stringContaining('3 rule(s): admin-writes, delete-production-project, delete-project'),
    });
  });

  it('reports each problem with file, rule id and field, and exits 1', async () => {
    const f = tmp(
      JSON.stringify({ version: 1, rules: [{ id: 'x', match: { path: 'admin' }, require: { factors: ['sms'], bind: 'session' } }] }),
    );
    const r = await run('policy', 'check', f);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${f}: rule "x": match.path: must start with "/"`);
    expect(r.err).toContain(`${f}: rule "x": require.factors.0:`);
  });

  it('refuses glob syntax and hidden characters the matcher does not implement, naming rule and field, and exits 1', async () => {
    const rule = (id: string, path: string) => ({
      id,
      match: { methods: ['DELETE'], path },
      require: { factors: ['totp'], bind: 'action' },
    });
    const f = tmp(
      JSON.stringify({
        version: 1,
        rules: [
          rule('ok', '/a/*'),
          rule('delete-project', '/api/projects/[0-9]'),
          rule('hidden', '/admin\u200b/**'),
          rule('nul', '/x\0/y'),
        ],
      }),
    );
    const r = await run('policy', 'check', f);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `${f}: rule "delete-project": match.path: "[0-9]" is not supported — ` +
        `Stepgate patterns know only "*" (one segment) and "**" (any depth); write each path out or use "*"`,
    );
    expect(r.err).toContain(`${f}: rule "hidden": match.path: contains invisible character U+200B ZERO WIDTH SPACE`);
    expect(r.err).toContain('(got "/admin\\u{200B}/**")');
    expect(r.err).toContain(`${f}: rule "nul": match.path: contains control character U+0000 NULL`);
    expect(r.err).toContain('3 problem(s)');
  });

  it('warns when rules name hosts but the policy does not restrict hosts', async () => {
    const f = tmp(
      JSON.stringify({
        version: 1,
        rules: [{ id: 'h', match: { host: 'app.example.com', path: '/a' }, require: { factors: ['totp'], bind: 'session' } }],
      }),
    );
    expect((await run('policy', 'check', f)).out).toContain('warning: rule(s) h name a host');
  });
});

describe('stepgate policy test', () => {
  it.each([
    ['DELETE /api/projects/7', 'rule: delete-project (bind: action'],
    ['delete /API/projects//7/', 'rule: delete-project'],
    ['POST /admin/settings', 'rule: admin-writes (bind: session'],
    ['GET /api/projects', 'no rule matches: passes through'],
    ['DELETE /api/projects%2F7', 'refused: 400 ERR_AMBIGUOUS_REQUEST'],
    ['GET /api/projects/7?_method=DELETE', 'matched as DELETE'],
  ])('%s → %s', async (req, expected) => {
    const r = await run('policy', 'test', DEMO, req);
    expect(r.code).toBe(0);
    expect(r.out).toContain(expected);
  });

  it('prints usage and exits 2 on a malformed call', async () => {
    expect((await run('policy', 'test', DEMO)).code).toBe(2);
    expect((await run('nonsense')).err).toContain('Usage:');
  });
});

describe('stepgate policy schema', () => {
  it('writes the JSON Schema that is published in the repo', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'schema-')), 's.json');
    expect((await run('policy', 'schema', f)).code).toBe(0);
    expect(readFileSync(f, 'utf8')).toBe(readFileSync(join(ROOT, 'edge/policy/policy.schema.json'), 'utf8'));
  });
});

it('runs as `npx stepgate` through the package bin', async () => {
  const { stdout } = await promisify(execFile)('npx', ['stepgate', 'policy', 'test', DEMO, 'DELETE /api/projects/1'], { cwd: ROOT });
  expect(stdout).toContain('rule: delete-project');
});
