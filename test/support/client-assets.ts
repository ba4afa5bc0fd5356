/**
 * @module The browser scripts of Stepgate's pages, built (never committed) for runs outside wrangler:
 * esbuild bundles in the node tests and the bench, and the Workers Vitest pool. Two outputs of one
 * build: the generated module edge/pages/generated/client-assets.ts (library mode, tests that read
 * them) and dist/page-scripts/, the gateway's static assets (wrangler.toml's `[assets]`). wrangler
 * makes both itself (wrangler.toml's `[build]`). Built when missing or older than its sources, into a private
 * output directory, so parallel test files may call this at once: the module is renamed into place.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUTPUT = join(ROOT, 'edge/pages/generated/client-assets.ts');
/** The gateway's static assets directory (wrangler.toml's `[assets]`), written by the same build. */
const ASSETS_DIR = join(ROOT, 'dist/page-scripts');
/** The build of the page scripts (it runs in Node). */
const CONFIG = 'edge/node/build/pages.vite.config.ts';
const SOURCES = ['edge/browser', 'shared', CONFIG];

const newest = (path: string): number => {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((f) => newest(join(path, f))));
};

let building: Promise<void> | null = null;

/** Make sure the generated module exists and is not older than its sources. */
export function ensureClientAssets(): Promise<void> {
  building ??= (async () => {
    const fresh = existsSync(OUTPUT) && statSync(OUTPUT).mtimeMs >= Math.max(...SOURCES.map((s) => newest(join(ROOT, s))));
    if (fresh && existsSync(join(ROOT, 'edge/pages/generated/page-script-names.ts')) && existsSync(join(ASSETS_DIR, 'step-up.js'))) return;
    const { build } = await import('vite');
    const outDir = mkdtempSync(join(tmpdir(), 'stepgate-pages-'));
    try {
      await build({ configFile: join(ROOT, CONFIG), logLevel: 'error', build: { outDir, emptyOutDir: true } });
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  })();
  return building;
}
