/**
 * @module Builds the package's library entry (run by `npm run build:lib`, and by `npm pack` through
 * `prepack`): edge/library/index.ts bundled by esbuild to dist/lib/index.js (ESM, for a Worker;
 * the packages in `dependencies` and `cloudflare:*` stay imports, anything else the Worker needs is
 * inlined), and its declarations emitted by tsc to dist/lib/types/. Refuses to build a bundle that
 * reaches Node-only code (edge/node/cli, edge/node/dev, edge/node/demo, `node:*`), since it runs in a Worker.
 * Needs edge/pages/generated/ (`npm run build:pages`).
 *
 * The tarball (`files` in package.json) holds dist/lib, the D1 migrations (edge/migrations), and
 * the TypeScript sources that the `stepgate` command runs from through tsx: edge/ and shared/
 * without the demo app, `npm start` (edge/node/dev/ but dev-vars.ts), the build configs and the
 * pages. test/library checks that the installed command runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../..', import.meta.url));
const out = `${root}dist/lib`;
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { dependencies?: Record<string, string> };

if (!existsSync(`${root}edge/pages/generated/client-assets.ts`)) {
  console.error('build:lib: edge/pages/generated/client-assets.ts is missing; run `npm run build:pages` first');
  process.exit(1);
}
rmSync(out, { recursive: true, force: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: ['edge/library/index.ts'],
  outfile: 'dist/lib/index.js',
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  // As wrangler resolves packages for a Worker.
  conditions: ['workerd', 'worker', 'browser'],
  mainFields: ['module', 'main'],
  external: [...Object.keys(pkg.dependencies ?? {}), 'cloudflare:*'],
  metafile: true,
  logLevel: 'warning',
});

const nodeOnly = /^(edge\/(node|browser)\/|node:)/;
const reached = Object.entries(result.metafile.inputs).flatMap(([file, input]) => [file, ...input.imports.map((i) => i.path)]);
const bad = [...new Set(reached.filter((p) => nodeOnly.test(p)))];
if (bad.length) {
  console.error(`build:lib: the Worker bundle reaches Node-only code: ${bad.join(', ')}`);
  process.exit(1);
}

const tsc = spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}edge/library/tsconfig.types.json`], {
  stdio: 'inherit',
});
if (tsc.status !== 0) {
  console.error('build:lib: declaration emit failed');
  process.exit(1);
}
const bytes = result.metafile.outputs['dist/lib/index.js']?.bytes ?? 0;
console.log(`build:lib: dist/lib/index.js (${(bytes / 1024).toFixed(0)} KiB) and dist/lib/types/`);
