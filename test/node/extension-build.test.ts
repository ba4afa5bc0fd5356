/** The extension builds for both browsers from one source, with the manifest generated per browser, and packages that pass web-ext lint. */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/miniflare-gateway';

const run = promisify(execFile);
const dist = (b: string, f = '') => join(ROOT, 'dist/extension', b, f);
/** The fields of a built manifest.json that these tests read. */
type BuiltManifest = {
  manifest_version: number;
  background: unknown;
  host_permissions?: string[];
  optional_host_permissions: string[];
  permissions: string[];
  options_ui: unknown;
  content_security_policy: { extension_pages: string };
  key?: string;
  browser_specific_settings: { gecko: { id: string } };
};
const manifestOf = (b: string) => JSON.parse(readFileSync(dist(b, 'manifest.json'), 'utf8')) as BuiltManifest;
const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : [join(dir, e.name)]));

beforeAll(async () => {
  await run('npm', ['run', 'build:extension'], { cwd: ROOT });
}, 120_000);

describe('npm run build:extension', () => {
  it('builds an MV3 Chrome extension with a module service worker and no host access at install', () => {
    const m = manifestOf('chrome');
    expect(m.manifest_version).toBe(3);
    expect(m.background).toEqual({ service_worker: 'background.js', type: 'module' });
    expect(m.host_permissions).toBeUndefined();
    expect(m.optional_host_permissions).toContain('https://*/*');
    expect(m.permissions.sort()).toEqual(['activeTab', 'alarms', 'declarativeNetRequest', 'storage', 'webRequest']);
    for (const f of ['background.js', 'popup/index.html', 'popup.js', 'options/index.html', 'options.js', 'prompt/index.html', 'prompt.js'])
      expect(existsSync(dist('chrome', f)), f).toBe(true);
    expect(m.options_ui).toEqual({ page: 'options/index.html', open_in_tab: true });
  });

  it('keeps the pages’ CSP strict: scripts from the extension only', () => {
    for (const b of ['chrome', 'firefox'])
      expect(manifestOf(b).content_security_policy.extension_pages).toMatch(/^script-src 'self'; object-src 'none'/);
    for (const page of ['popup', 'options', 'prompt']) {
      const html = readFileSync(dist('chrome', `${page}/index.html`), 'utf8');
      expect(html, page).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    }
  });

  it('the unpacked development build carries the public key of the fixed id; the store package does not', async () => {
    expect(manifestOf('chrome').key).toMatch(/^MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvkRkFKFy4MnIdh7Y/);
    expect(manifestOf('firefox').key).toBeUndefined();
    const packages = readdirSync(dist('packages')).sort();
    expect(packages).toEqual(['stepgate-chrome-0.1.0.zip', 'stepgate-firefox-0.1.0.zip']);
    const { stdout: storeManifest } = await run('unzip', ['-p', dist('packages', 'stepgate-chrome-0.1.0.zip'), 'manifest.json']);
    expect(JSON.parse(storeManifest).key).toBeUndefined();
    const { stdout: listing } = await run('unzip', ['-l', dist('packages', 'stepgate-firefox-0.1.0.zip')]);
    for (const f of ['manifest.json', 'background.js', 'prompt/index.html', 'options.js']) expect(listing).toContain(f);
  });

  it('builds the Firefox variant from the same source with its one branch', () => {
    const m = manifestOf('firefox');
    expect(m.background).toEqual({ scripts: ['background.js'], type: 'module' });
    expect(m.browser_specific_settings.gecko.id).toBe('stepgate@stepgate.invalid');
    expect(readFileSync(dist('firefox', 'background.js'), 'utf8')).toBe(readFileSync(dist('chrome', 'background.js'), 'utf8'));
  });

  it('passes web-ext lint for Firefox, warnings included (offline)', async () => {
    const { stdout } = await run(
      join(ROOT, 'node_modules/.bin/web-ext'),
      ['lint', '--source-dir', dist('firefox'), '--no-config-discovery', '--warnings-as-errors', '--output', 'json'],
      { cwd: ROOT },
    );
    const report = JSON.parse(stdout) as { summary: { errors: number; warnings: number } };
    expect(report.summary).toMatchObject({ errors: 0, warnings: 0 });
  });

  it('keeps the build readable for store review (not minified)', () => {
    expect(readFileSync(dist('chrome', 'background.js'), 'utf8')).toMatch(
      /"sites\/unpair": async \(\{ origin }\) => {\n\t+const list = await sites\(\);/,
    );
  });

  it('never writes markup from strings: no innerHTML anywhere in the extension (source or build)', () => {
    const files = [...sourceFiles(join(ROOT, 'extension/src')), ...sourceFiles(dist('chrome')).filter((f) => f.endsWith('.js'))];
    for (const f of files)
      expect(readFileSync(f, 'utf8'), f).not.toMatch(/\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write\(/);
  });
});
