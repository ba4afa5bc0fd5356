/**
 * `stepgate keys` offline: a keyring file is never overwritten without --force, new key ids have a
 * fixed shape that keeps them plainly distinct (old ids keep working), and `keys dev-vars` moves a
 * keyring into and out of .dev.vars — read back by wrangler's own .dev.vars reader.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unstable_getVarsForDev } from 'wrangler';
import { NEW_KEY_ID, newKeyId } from '../../edge/crypto/key-id';
import { parseKeyring } from '../../edge/crypto/keyring';
import { parseDevVars } from '../../edge/node/dev/dev-vars';
import { runCli } from '../support/run-cli';

const run = (...argv: string[]) => runCli(argv);
const temp = () => mkdtempSync(join(tmpdir(), 'stepgate-keys-'));
const KEY = 'dGVzdC1vbmx5LWtleXJpbmctbWFzdGVyLWtleS0wMDE=';
const doc = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as { primary: string; keys: Record<string, string> };
const mode = (file: string) => statSync(file).mode & 0o777;

describe('--out never replaces a file without --force', () => {
  it.each([
    ['generate', [] as string[]],
    ['rotate', ['--file', 'IN']],
    ['retire', ['--file', 'IN', '--kid', 'old1']],
  ])('keys %s', async (cmd, args) => {
    const dir = temp();
    const input = join(dir, 'in.json');
    writeFileSync(input, JSON.stringify({ primary: 'new1', keys: { old1: KEY, new1: KEY } }));
    const target = join(dir, 'keys.json');
    writeFileSync(target, 'the only copy of a keyring\n', { mode: 0o644 });
    const argv = ['keys', cmd, ...args.map((a) => (a === 'IN' ? input : a)), '--out', target];
    const refused = await run(...argv);
    expect(refused).toMatchObject({ code: 1, out: '' });
    expect(refused.err).toBe(
      `stepgate keys ${cmd}: ${target} exists; not overwriting it (a keyring ` +
        `overwritten is data lost). Choose another --out, or pass --force to replace it.`,
    );
    expect(readFileSync(target, 'utf8')).toBe('the only copy of a keyring\n');
    // With --force it is replaced, and the keyring file is private (0600) again.
    const forced = await run(...argv, '--force');
    expect(forced.code).toBe(0);
    expect(forced.out).toMatch(new RegExp(`^wrote ${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(primary `));
    expect(() => parseKeyring(readFileSync(target, 'utf8'))).not.toThrow();
    expect(mode(target)).toBe(0o600);
  });

  it('a new file is written with mode 0600', async () => {
    const f = join(temp(), 'keys.json');
    expect((await run('keys', 'generate', '--out', f)).code).toBe(0);
    expect(mode(f)).toBe(0o600);
  });
});

describe('key ids', () => {
  it('new ids are k<date>-<4 hex>: a fixed length, so none is another plus a few characters', async () => {
    const f1 = join(temp(), 'k1.json');
    expect((await run('keys', 'generate', '--out', f1)).code).toBe(0);
    const first = doc(f1).primary;
    expect(first).toMatch(NEW_KEY_ID);
    expect(first.slice(1, 9)).toBe(new Date().toISOString().slice(0, 10).replaceAll('-', ''));
    const f2 = f1.replace('k1.json', 'k2.json');
    expect((await run('keys', 'rotate', '--file', f1, '--out', f2)).code).toBe(0);
    const second = doc(f2).primary;
    expect(second).toMatch(NEW_KEY_ID);
    expect(second).not.toBe(first);
    expect(second.length).toBe(first.length);
    expect(second.startsWith(first) || first.startsWith(second)).toBe(false);
    // Across days, too: the suffix is always there.
    const ids = [
      newKeyId(new Date('2026-12-01T00:00:00Z')),
      newKeyId(new Date('2026-12-01T23:59:59Z')),
      newKeyId(new Date('2026-12-16T00:00:00Z')),
    ];
    for (const a of ids) for (const b of ids) if (a !== b) expect(a.startsWith(b)).toBe(false);
    expect(ids[0]).toMatch(/^k20261201-[0-9a-f]{4}$/);
  });

  it('old ids keep working: a keyring of k20261201 and k202612016e6 rotates and retires', async () => {
    const dir = temp();
    const old = join(dir, 'old.json');
    writeFileSync(old, JSON.stringify({ primary: 'k202612016e6', keys: { k20261201: KEY, k202612016e6: KEY } }));
    const rotated = join(dir, 'rotated.json');
    expect((await run('keys', 'rotate', '--file', old, '--out', rotated)).code).toBe(0);
    expect(Object.keys(doc(rotated).keys)).toEqual(['k20261201', 'k202612016e6', doc(rotated).primary]);
    const retired = join(dir, 'retired.json');
    expect((await run('keys', 'retire', '--file', rotated, '--kid', 'k20261201', '--out', retired)).code).toBe(0);
    expect(Object.keys(doc(retired).keys)).toEqual(['k202612016e6', doc(rotated).primary]);
  });

  it('--kid: any id the keyring accepts, but never one it has (in any letter case)', async () => {
    const dir = temp();
    const f = join(dir, 'k.json');
    expect((await run('keys', 'generate', '--kid', 'k1', '--out', f)).code).toBe(0);
    expect(doc(f).primary).toBe('k1');
    expect(await run('keys', 'rotate', '--file', f, '--kid', 'k1')).toMatchObject({
      code: 1,
      err: 'stepgate keys rotate: key id k1 is already in the keyring',
    });
    expect(await run('keys', 'rotate', '--file', f, '--kid', 'K1')).toMatchObject({
      code: 1,
      err: 'stepgate keys rotate: key id K1 is already in the keyring (as k1)',
    });
    expect((await run('keys', 'rotate', '--file', f, '--kid', 'x'.repeat(33))).code).toBe(2);
    expect((await run('keys', 'rotate', '--file', f, '--kid', 'k2')).code).toBe(0);
  });

  it('retire refuses the primary key and unknown ids with exit 1 (a refusal, not a usage error)', async () => {
    const f = join(temp(), 'k.json');
    writeFileSync(f, JSON.stringify({ primary: 'k2', keys: { k1: KEY, k2: KEY } }));
    expect(await run('keys', 'retire', '--file', f, '--kid', 'k2')).toMatchObject({
      code: 1,
      err: 'stepgate keys retire: k2 is the primary key; rotate to a new one first',
    });
    expect(await run('keys', 'retire', '--file', f, '--kid', 'k9')).toMatchObject({
      code: 1,
      err: 'stepgate keys retire: key id k9 is not in the keyring',
    });
  });
});

describe('keys dev-vars', () => {
  /** A project directory as `npm start` leaves it: wrangler.toml and .dev.vars. */
  const project = (devVars: string | null) => {
    const dir = temp();
    writeFileSync(join(dir, 'wrangler.toml'), 'name = "t"\nmain = "index.ts"\ncompatibility_date = "2026-04-20"\n');
    if (devVars !== null) writeFileSync(join(dir, '.dev.vars'), devVars, { mode: 0o600 });
    return dir;
  };
  /** What `wrangler dev` would read from the project's .dev.vars. */
  const wranglerSees = (dir: string) =>
    Object.fromEntries(
      Object.entries(unstable_getVarsForDev(join(dir, 'wrangler.toml'), undefined, {}, undefined, true)).map(([k, v]) => [
        k,
        (v as { value: unknown }).value,
      ]),
    );

  it('round trip: installs a keyring (keeping every other line, saving the old keyring) and exports it again', async () => {
    const oldRing = JSON.stringify({ primary: 'k20261101', keys: { k20261101: KEY } });
    const dir = project(
      `# Local development secrets, generated by \`npm start\`. Never commit this ` +
        `file.\nIDENTITY_JWT_SECRET='dev-secret'\nSTEPGATE_KEYS='${oldRing}'\nOTHER=1\n`,
    );
    const devVars = join(dir, '.dev.vars');
    const keys = join(dir, 'keys.json');
    expect((await run('keys', 'generate', '--out', keys)).code).toBe(0);
    const installed = await run('keys', 'dev-vars', '--file', keys, '--dev-vars', devVars);
    expect(installed.code).toBe(0);
    const backups = readdirSync(dir).filter((f) => f.startsWith('.dev.vars.') && f.endsWith('.keys.json'));
    expect(backups).toHaveLength(1);
    const backup = join(dir, backups[0]!);
    expect(installed.out).toContain(`the keyring it replaced is saved in ${backup}`);
    expect(readFileSync(backup, 'utf8')).toBe(`${oldRing}\n`);
    expect(mode(backup)).toBe(0o600);
    expect(installed.err).toContain('note: key id(s) k20261101 of the replaced keyring are not in this one');

    const text = readFileSync(devVars, 'utf8');
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^# Local development secrets/);
    expect(lines[1]).toBe("IDENTITY_JWT_SECRET='dev-secret'");
    expect(lines[2]).toBe(`STEPGATE_KEYS='${JSON.stringify(doc(keys))}'`);
    expect(lines[3]).toBe('OTHER=1');
    expect(mode(devVars)).toBe(0o600);
    // npm start's reader and wrangler's own see the same keyring.
    expect(JSON.parse(parseDevVars(text).STEPGATE_KEYS!)).toEqual(doc(keys));
    expect(JSON.parse(wranglerSees(dir).STEPGATE_KEYS as string)).toEqual(doc(keys));
    expect(wranglerSees(dir).IDENTITY_JWT_SECRET).toBe('dev-secret');

    // Out again: to stdout, and to a file that is never overwritten without --force.
    const printed = await run('keys', 'dev-vars', '--export', '--dev-vars', devVars);
    expect(printed).toMatchObject({ code: 0, out: JSON.stringify(doc(keys)) });
    const exported = join(dir, 'exported.json');
    expect((await run('keys', 'dev-vars', '--export', '--out', exported, '--dev-vars', devVars)).code).toBe(0);
    expect(doc(exported)).toEqual(doc(keys));
    expect(mode(exported)).toBe(0o600);
    expect((await run('keys', 'dev-vars', '--export', '--out', exported, '--dev-vars', devVars)).code).toBe(1);
    expect((await run('keys', 'dev-vars', '--export', '--out', exported, '--force', '--dev-vars', devVars)).code).toBe(0);

    // The saved keyring goes back in the same way.
    expect((await run('keys', 'dev-vars', '--file', backup, '--dev-vars', devVars)).code).toBe(0);
    expect(JSON.parse(wranglerSees(dir).STEPGATE_KEYS as string)).toEqual(JSON.parse(oldRing));
    // Installing the keyring already there changes nothing and saves nothing.
    const before = readdirSync(dir).length;
    expect(await run('keys', 'dev-vars', '--file', backup, '--dev-vars', devVars)).toMatchObject({
      code: 0,
      out: expect.stringContaining('already has this keyring'),
    });
    expect(readdirSync(dir).length).toBe(before);
  });

  it('uses ./.dev.vars by default, creates it if missing, and adds the line when there is none', async () => {
    const dir = project(null);
    const keys = join(dir, 'keys.json');
    expect((await run('keys', 'generate', '--out', keys)).code).toBe(0);
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect((await run('keys', 'dev-vars', '--file', 'keys.json')).code).toBe(0);
    } finally {
      process.chdir(cwd);
    }
    expect(JSON.parse(wranglerSees(dir).STEPGATE_KEYS as string)).toEqual(doc(keys));
    const other = project("IDENTITY_JWT_SECRET='s'");
    expect((await run('keys', 'dev-vars', '--file', keys, '--dev-vars', join(other, '.dev.vars'))).code).toBe(0);
    expect(wranglerSees(other)).toEqual({ IDENTITY_JWT_SECRET: 's', STEPGATE_KEYS: JSON.stringify(doc(keys)) });
  });

  it('refuses an invalid keyring, and exporting when there is none, with exit 1 and .dev.vars untouched', async () => {
    const dir = project("IDENTITY_JWT_SECRET='s'\n");
    const devVars = join(dir, '.dev.vars');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ primary: 'k1', keys: { k1: 'c2hvcnQ=' } }));
    expect(await run('keys', 'dev-vars', '--file', bad, '--dev-vars', devVars)).toMatchObject({
      code: 1,
      err: 'stepgate keys dev-vars: STEPGATE_KEYS: key "k1" has 5 bytes, expected at least 32',
    });
    expect(readFileSync(devVars, 'utf8')).toBe("IDENTITY_JWT_SECRET='s'\n");
    expect(await run('keys', 'dev-vars', '--export', '--dev-vars', devVars)).toMatchObject({
      code: 1,
      err: expect.stringContaining('has no STEPGATE_KEYS'),
    });
    expect(await run('keys', 'dev-vars', '--export', '--dev-vars', join(dir, 'missing'))).toMatchObject({
      code: 1,
      err: expect.stringContaining('does not exist'),
    });
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });
});
