/**
 * The page scripts served through the ASSETS binding, as an attacker would ask for them. Path and
 * name tricks never reach another file of the assets directory nor serve a script on an app's
 * path; every answer carries the security headers; the binding is asked only for build names.
 */
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { pageScriptsFromAssets } from '../../edge/pages/page-scripts';
import { CLIENT_ASSETS } from '../../edge/pages/generated/client-assets';

const worker = (exports as unknown as { default: Fetcher }).default;
const gw = (path: string, init: RequestInit = {}) => worker.fetch(new Request(`http://app.test${path}`, init));
const SCRIPTS = new Set(Object.values(CLIENT_ASSETS));

describe('page scripts through ASSETS, asked for with tricks', () => {
  it.each([
    '/step-up.js',
    '/assets/step-up.js',
    '/page-scripts/step-up.js',
    '/dist/page-scripts/step-up.js',
    '/.stepgate/step-up.js',
    '/.stepgate/assets/step-up.js/',
    '/.stepgate/assets/x/step-up.js',
    '/.stepgate/assets/step-up.js%00',
    '/.stepgate/assets/step-up.js%2F',
    '/.stepgate/assets/step-up.js;x',
    '/.stepgate/assets/%252e%252e%252fstep-up.js',
    '/.stepgate/assets/step-up.JS',
    '/.stepgate/assets/.step-up.js',
    '/.stepgate/assets/_headers',
    '/.stepgate/assets/_redirects',
    '/.stepgate/assets/.assetsignore',
    '/.stepgate/assets/index.html',
    '/.stepgate/assets/',
  ])('%s: no page script (the app, a 404 or a 400)', async (path) => {
    const res = await gw(path);
    const text = await res.text();
    expect(SCRIPTS.has(text), `${path} → ${res.status}`).toBe(false);
    if (path.startsWith('/.stepgate/')) expect([400, 404, 405]).toContain(res.status);
  });

  it('a script asked through dot segments, an empty segment, %2e or the prefix in capitals is served with its headers', async () => {
    for (const path of [
      '/.stepgate/assets//step-up.js',
      '/.stepgate/assets/step-up%2ejs',
      '/x/../.stepgate/assets/step-up.js',
      '/.stepgate/./assets/step-up.js',
      '/.STEPGATE/assets/step-up.js',
      '/.stepgate/assets/step-up.js?v=1',
    ]) {
      const res = await gw(path);
      const text = await res.text();
      if (res.status !== 200) {
        expect([400, 404]).toContain(res.status);
        continue;
      }
      expect(text, path).toBe(CLIENT_ASSETS['step-up.js']);
      expect(res.headers.get('content-security-policy'), path).toBeTruthy();
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    }
  });

  it('HEAD and conditional requests get the gateway’s headers, not the assets service’s', async () => {
    const head = await gw('/.stepgate/assets/step-up.js', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('x-content-type-options')).toBe('nosniff');
    expect(head.headers.get('content-security-policy')).toBeTruthy();
    const cond = await gw('/.stepgate/assets/step-up.js', { headers: { 'if-none-match': '*', range: 'bytes=0-3' } });
    expect(cond.status).toBe(200);
    expect(await cond.text()).toBe(CLIENT_ASSETS['step-up.js']);
    expect(cond.headers.get('etag')).toBeNull();
  });

  it('a binding that answers 200 for anything (a single-page-application fallback) is only asked for the build’s names', async () => {
    const asked: string[] = [];
    const binding = {
      fetch: async (req: Request) => {
        asked.push(new URL(req.url).pathname);
        return new Response('<html>fallback</html>');
      },
    } as unknown as Fetcher;
    const scripts = pageScriptsFromAssets();
    for (const name of ['..', '../wrangler.toml', 'a/b.js', '%2e%2e%2fx.js', 'a.js\n', 'a.js\u0000', ' a.js', 'a.js ', 'ａ.js'])
      expect(await scripts(name, { ASSETS: binding })).toBeNull();
    // A build-shaped name the build did not make is not asked either: only the build's own names are.
    expect(await scripts('nope.js', { ASSETS: binding })).toBeNull();
    expect(asked).toEqual([]);
  });

  it('the cache keeps only names the binding found (no growth on missing names)', async () => {
    let calls = 0;
    const binding = {
      fetch: async () => {
        calls++;
        return new Response('missing', { status: 404 });
      },
    } as unknown as Fetcher;
    const names = Array.from({ length: 1000 }, (_, i) => `n${i}.js`);
    const scripts = pageScriptsFromAssets(names);
    for (const name of names) expect(await scripts(name, { ASSETS: binding })).toBeNull();
    // Every miss asks the binding again (not cached): bounded memory, one binding call per request.
    expect(calls).toBe(1000);
    expect(await scripts('other.js', { ASSETS: binding })).toBeNull();
    expect(calls).toBe(1000);
  });
});
