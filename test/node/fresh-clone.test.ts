/**
 * The documented entry points work straight after `npm install`, before any build step. The tree
 * is copied the way a clone would have it (tracked files, plus new ones not yet committed, and
 * nothing git ignores: no edge/pages/generated, no dist/, no .wrangler/), with this node_modules
 * linked in. There, `wrangler deploy --dry-run` (and so `wrangler dev`, which runs the same
 * `[build]`) and the esbuild bundle the node tests and the bench use must both succeed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT } from '../support/miniflare-gateway';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'stepgate-fresh-'));
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f && existsSync(join(ROOT, f))); // a tracked file deleted in the working tree is not copied
  execFileSync('tar', ['-cf', join(dir, 'tree.tar'), '--null', '-T', '-'], { cwd: ROOT, input: files.join('\0') });
  execFileSync('tar', ['-xf', 'tree.tar'], { cwd: dir });
  rmSync(join(dir, 'tree.tar'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  expect(existsSync(join(dir, 'edge/pages/generated'))).toBe(false);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// No telemetry, update check or Request.cf download: the test needs no network.
const env = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_HIDE_BANNER: 'true',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  NO_COLOR: '1',
};

it('wrangler deploy --dry-run builds the page scripts itself', () => {
  const r = spawnSync(join(dir, 'node_modules/.bin/wrangler'), ['deploy', '--dry-run', '--outdir', join(dir, 'out')], {
    cwd: dir,
    env,
    encoding: 'utf8',
  });
  expect(r.status, r.stdout + r.stderr).toBe(0);
  expect(r.stdout).toContain('[custom build] Running: npm run --silent build:pages');
  // The built scripts of Stepgate's pages are the Worker's static assets, read after the build.
  expect(r.stdout).toMatch(/Read \d+ files from the assets directory/);
  expect(readFileSync(join(dir, 'dist/page-scripts/step-up.js'), 'utf8')).toContain('// edge/browser/step-up.ts');
}, 120_000);

it('the test and bench bundler (test/support/miniflare-gateway.ts) builds them too', () => {
  rmSync(join(dir, 'edge/pages/generated'), { recursive: true, force: true });
  rmSync(join(dir, 'dist'), { recursive: true, force: true });
  writeFileSync(
    join(dir, 'bundle.mts'),
    "import { bundleWorker } from './test/support/miniflare-gateway.ts';\nconsole.log(await bundleWorker('edge/index.ts'));\n",
  );
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bundle.mts'], { cwd: dir, env, encoding: 'utf8' });
  expect(r.status, r.stdout + r.stderr).toBe(0);
  expect(readFileSync(r.stdout.trim(), 'utf8')).toContain('ERR_AUDIT_UNAVAILABLE');
  // Both outputs of the page build: the static assets the gateway serves, the module library mode embeds.
  expect(readFileSync(join(dir, 'dist/page-scripts/step-up.js'), 'utf8')).toContain('// edge/browser/step-up.ts');
  expect(readFileSync(join(dir, 'edge/pages/generated/client-assets.ts'), 'utf8')).toMatch(/"step-up\.js":/);
}, 120_000);
