/** The extension builds for both browsers from one source, with the manifest generated per browser. */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/miniflare-gateway';

const dist = (b: string, f = '') => join(ROOT, 'dist/extension', b, f);
const manifestOf = (b: string) => JSON.parse(readFileSync(dist(b, 'manifest.json'), 'utf8')) as Record<string, any>;

beforeAll(async () => {
  await promisify(execFile)('npm', ['run', 'build:extension'], { cwd: ROOT });
}, 120_000);

describe('npm run build:extension', () => {
  it('builds an MV3 Chrome extension with a module service worker and no host access at install', () => {
    const m = manifestOf('chrome');
    expect(m.manifest_version).toBe(3);
    expect(m.background).toEqual({ service_worker: 'background.js', type: 'module' });
    expect(m.host_permissions).toBeUndefined();
    expect(m.optional_host_permissions).toContain('https://*/*');
    for (const f of ['background.js', 'popup/index.html', 'popup.js']) expect(existsSync(dist('chrome', f)), f).toBe(true);
  });

  it('builds the Firefox variant from the same source with its one branch', () => {
    const m = manifestOf('firefox');
    expect(m.background).toEqual({ scripts: ['background.js'], type: 'module' });
    expect(m.browser_specific_settings.gecko.id).toBe('stepgate@stepgate.invalid');
    expect(readFileSync(dist('firefox', 'background.js'), 'utf8')).toBe(readFileSync(dist('chrome', 'background.js'), 'utf8'));
  });

  it('keeps the build readable for store review (not minified)', () => {
    expect(readFileSync(dist('chrome', 'background.js'), 'utf8')).toMatch(/"status\/get": async \(\) => {\n\t+const { pairedSites = \[\] }/);
  });
});
