/** @module The unpacked Chrome build of the extension for a browser test, and where its pages are. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './miniflare-gateway';

/** The development build's fixed id (its manifest carries the public `key`). */
export const EXTENSION_ID = 'leldacdejfbkleoogdbophfdkoapmfbd';
export const extUrl = (path: string): string => `chrome-extension://${EXTENSION_ID}/${path}`;

/**
 * The unpacked Chrome build, built for the test into its own directory (the node build test
 * rebuilds dist/extension at the same time), with the demo host (http://localhost) granted up front:
 * automation cannot answer the browser's permission dialog.
 */
export async function buildTestExtension(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'stepgate-ext-'));
  await promisify(execFile)(
    join(ROOT, 'node_modules/.bin/vite'),
    ['build', '-c', 'extension/build/vite.config.ts', '--mode', 'chrome', '--outDir', dir],
    { cwd: ROOT },
  );
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  m.host_permissions = ['http://localhost/*'];
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m, null, 2));
  return dir;
}
