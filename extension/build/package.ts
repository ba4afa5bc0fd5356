/**
 * @module After `vite build` (both browsers): the packages. dist/extension/chrome stays the unpacked
 * development build (with the public `key`, so its id is fixed); the Chrome Web Store zip is made
 * from a copy without `key` (the store assigns the id); the Firefox package is `web-ext build`'s zip.
 * Runs in Node (`npm run build:extension`).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EXTENSION_VERSION } from '../manifest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dist = `${root}dist/extension`;
const webExt = `${root}node_modules/.bin/web-ext`;

const zip = (sourceDir: string, filename: string) =>
  execFileSync(
    webExt,
    [
      'build',
      '--source-dir',
      sourceDir,
      '--artifacts-dir',
      `${dist}/packages`,
      '--filename',
      filename,
      '--overwrite-dest',
      '--no-config-discovery',
    ],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );

mkdirSync(`${dist}/packages`, { recursive: true });
rmSync(`${dist}/chrome-store`, { recursive: true, force: true });
cpSync(`${dist}/chrome`, `${dist}/chrome-store`, { recursive: true });
const m = JSON.parse(readFileSync(`${dist}/chrome-store/manifest.json`, 'utf8')) as Record<string, unknown>;
delete m.key;
writeFileSync(`${dist}/chrome-store/manifest.json`, `${JSON.stringify(m, null, 2)}\n`);
zip(`${dist}/chrome-store`, `stepgate-chrome-${EXTENSION_VERSION}.zip`);
zip(`${dist}/firefox`, `stepgate-firefox-${EXTENSION_VERSION}.zip`);
console.log(`stepgate: packages in ${dist}/packages`);
