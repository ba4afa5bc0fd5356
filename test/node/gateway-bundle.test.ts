/**
 * The deployed gateway's script, bundled as wrangler deploys it (edge/index.ts, minified, aliased):
 * the scripts of Stepgate's pages are not in it (they are the Worker's static assets, wrangler.toml's
 * `[assets]`), while the library's bundle entry still embeds them (library mode has no assets).
 */
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';
import { expect, it } from 'vitest';
import { CLIENT_ASSETS } from '../../edge/pages/generated/client-assets';
import { bundleWorker, ROOT } from '../support/miniflare-gateway';

/** A line every page script carries (Vite's module comment), and that no Worker code has. */
const PAGE_SCRIPT_MARK = '// edge/browser/step-up.ts';

it('leaves the page scripts out of the gateway script, which still has its own code', async () => {
  expect(CLIENT_ASSETS['step-up.js']).toContain(PAGE_SCRIPT_MARK);
  const script = readFileSync(await bundleWorker('edge/index.ts'), 'utf8');
  expect(script).toContain('ERR_AUDIT_UNAVAILABLE');
  expect(script).not.toContain(PAGE_SCRIPT_MARK);
  expect(script).not.toContain('// edge/browser/');
}, 120_000);

it('keeps them in the library entry, which serves them from the package', async () => {
  const r = await build({
    absWorkingDir: ROOT,
    entryPoints: ['edge/library/index.ts'],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    external: ['cloudflare:*', 'node:*'],
    logLevel: 'error',
  });
  expect(r.outputFiles[0]!.text).toContain(PAGE_SCRIPT_MARK);
}, 120_000);
