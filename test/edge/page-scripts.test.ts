/**
 * The scripts of Stepgate's pages come from the gateway's Workers static assets (wrangler.toml's
 * `[assets]`, dist/page-scripts/), not from its script: every one the build makes is served at
 * /.stepgate/assets/ exactly as built, nothing else is asked of the binding, and the assets never
 * answer on an app's own paths (the Worker runs first).
 */
import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { Env } from '../../edge/env';
import { pageScriptsFromAssets } from '../../edge/pages/page-scripts';
import { CLIENT_ASSETS } from '../../edge/pages/generated/client-assets';

const worker = (exports as unknown as { default: Fetcher }).default;
const gw = (path: string) => worker.fetch(new Request(`http://app.test${path}`));

describe('the page scripts, served from the static assets', () => {
  it('serves every script the build made, byte for byte, as JavaScript with the security headers', async () => {
    const files = Object.keys(CLIENT_ASSETS);
    expect(files).toContain('step-up.js');
    for (const file of files) {
      const res = await gw(`/.stepgate/assets/${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await res.text(), file).toBe(CLIENT_ASSETS[file]);
    }
  });

  it.each(['nope.js', 'STEP-UP.JS', 'step-up', '..%2Fwrangler.toml', '%2E%2E%2Fpackage.json', 'index.html', 'step-up.js.map'])(
    'refuses %s (404, or 400 for a path the canonicalizer refuses)',
    async (file) => {
      const res = await gw(`/.stepgate/assets/${file}`);
      expect([400, 404]).toContain(res.status);
      expect(await res.text()).not.toContain('import ');
    },
  );

  it('never serves an asset on an app path: /step-up.js goes to the app', async () => {
    const res = await gw('/step-up.js');
    expect(await res.text()).not.toBe(CLIENT_ASSETS['step-up.js']);
  });

  it('has the binding in the gateway the tests run (wrangler.toml)', () => {
    expect((env as unknown as Env).ASSETS).toBeDefined();
  });
});

describe('pageScriptsFromAssets', () => {
  const counting = () => {
    const asked: string[] = [];
    const binding = {
      fetch: async (req: Request) => {
        const name = new URL(req.url).pathname.slice(1);
        asked.push(name);
        return name === 'a.js' ? new Response('export {};') : new Response('not found', { status: 404 });
      },
    } as unknown as Fetcher;
    return { asked, binding };
  };

  it('asks the binding once per script found, and again for one that was missing', async () => {
    const { asked, binding } = counting();
    const scripts = pageScriptsFromAssets(['a.js', 'b.js']);
    expect(await scripts('a.js', { ASSETS: binding })).toBe('export {};');
    expect(await scripts('a.js', { ASSETS: binding })).toBe('export {};');
    expect(await scripts('b.js', { ASSETS: binding })).toBeNull();
    expect(await scripts('b.js', { ASSETS: binding })).toBeNull();
    expect(asked).toEqual(['a.js', 'b.js', 'b.js']);
  });

  it('never asks the binding for a name the build did not make, whatever the assets would answer', async () => {
    const { asked, binding } = counting();
    const scripts = pageScriptsFromAssets(['b.js']);
    for (const name of ['a.js', '../a.js', 'a.js/', 'A.js', 'a.mjs', '', '.js', 'a.js?x', 'a%2F.js', 'index.html', '_headers'])
      expect(await scripts(name, { ASSETS: binding })).toBeNull();
    expect(asked).toEqual([]);
  });

  it('without a binding, every script is missing', async () => {
    expect(await pageScriptsFromAssets(['a.js'])('a.js', {})).toBeNull();
  });

  it('by default knows exactly the scripts the build made', async () => {
    const { asked, binding } = counting();
    const scripts = pageScriptsFromAssets();
    for (const file of Object.keys(CLIENT_ASSETS)) await scripts(file, { ASSETS: binding });
    await scripts('nope.js', { ASSETS: binding });
    expect(asked.sort()).toEqual(Object.keys(CLIENT_ASSETS).sort());
  });
});
