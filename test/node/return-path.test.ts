/**
 * The way back Stepgate puts in a link or a redirect (shared/return-path.ts `returnPath`), and the
 * demo app's `localPath` built on it: a path on this site only. Every form a browser — or an app
 * that decodes the path once, or resolves `.` and `..` — could read as another host is refused.
 */
import { describe, expect, it } from 'vitest';
import { localPath } from '../../edge/node/demo/demo-answers';
import { returnPath, returnPathOfUrl } from '../../shared/return-path';

const ORIGIN = 'http://app.test';

/** Paths a browser resolves (or an app resolves after decoding once) to `//evil.example…`: another host. */
const DOT_SEGMENTS = [
  '/..//evil.example/x',
  '/.//evil.example',
  '/%2e%2e//evil.example',
  '/%2E%2E//evil.example',
  '/.%2e//evil.example',
  '/%2e//evil.example',
  '/a/../..//evil.example',
  '/%2e%2e%2f%2fevil.example',
  '/%252e%252e//evil.example',
  '/..',
  '/a/.',
  '/a/./b',
  '/a/../b',
];

const OTHER_HOSTS = [
  'https://evil.example/',
  '//evil.example',
  '///evil.example',
  '//user:pass@evil.example/',
  '/\\evil.example',
  '/a\\b',
  '/%5Cevil.example',
  '/%5cevil.example',
  '/%2F%2Fevil.example',
  '/%2f/evil.example',
  '%2F%2Fevil.example',
  'javascript:alert(1)',
  'admin',
  '',
];

/** Browsers strip tabs and line breaks from a URL: `/\t/evil.example` is `//evil.example`. */
const WHITESPACE_AND_CONTROLS = [
  '/\t/evil.example',
  '/%09/evil.example',
  '/\n/evil.example',
  '/%0A/evil.example',
  '/\r/evil.example',
  '/%0d%0aSet-Cookie:x',
  '/ad min',
  '/%20/evil.example',
  '/a\u0000b',
  '/a\u007fb',
  '/a\u0085b',
  '/a\u2028b',
  '/%E2%80%A8/evil.example',
  '/%E0%A4%A',
];

describe('returnPath', () => {
  it('keeps a path on this site as it is', () => {
    for (const good of [
      '/',
      '/admin',
      '/admin?tab=2#x',
      '/admin/settings?return=%2Fprojects',
      '/projects/42/edit',
      '/a.b/c..d/.well-known',
      '/files/report..pdf',
      '/search?q=../../x',
      '/@evil.example',
      '/projekte/überblick',
      '/%C3%BCberblick',
      '/日本語/ページ',
      `/${'a'.repeat(2047)}`,
    ])
      expect(returnPath(good), good).toBe(good);
  });

  it('refuses dot segments, also percent-encoded (the path resolves to //evil.example)', () => {
    for (const bad of DOT_SEGMENTS) expect(returnPath(bad), bad).toBeNull();
  });

  it('refuses another host, userinfo, backslashes and their encodings', () => {
    for (const bad of OTHER_HOSTS) expect(returnPath(bad), bad).toBeNull();
  });

  it('refuses tabs, line breaks, spaces and other control characters, raw or encoded', () => {
    for (const bad of WHITESPACE_AND_CONTROLS) expect(returnPath(bad), JSON.stringify(bad)).toBeNull();
  });

  it('refuses what is not a string, and a path longer than 2048 characters (dropped, never cut)', () => {
    expect(returnPath(null)).toBeNull();
    expect(returnPath(undefined)).toBeNull();
    expect(returnPath(`/${'a'.repeat(2048)}`)).toBeNull();
  });

  it('every path it keeps stays on the same origin when a browser resolves it, raw or decoded once', () => {
    const kept = [...DOT_SEGMENTS, ...OTHER_HOSTS, ...WHITESPACE_AND_CONTROLS, '/a', '/%C3%BC'].filter((p) => returnPath(p) !== null);
    for (const p of kept) {
      for (const form of [p, decodeURIComponent(p)]) {
        const u = new URL(form, ORIGIN);
        expect(u.origin, p).toBe(ORIGIN);
        expect(u.pathname.startsWith('//'), p).toBe(false);
      }
    }
  });
});

describe('returnPathOfUrl (a Referer)', () => {
  it('reads a same-origin URL as its path and query, checked like any way back', () => {
    expect(returnPathOfUrl(`${ORIGIN}/admin?x=1`, ORIGIN)).toBe('/admin?x=1');
    expect(returnPathOfUrl('http://user:pass@app.test/admin', ORIGIN)).toBe('/admin');
    // The URL parser resolves the dot segments itself; what is left must still be a plain path.
    expect(returnPathOfUrl(`${ORIGIN}/..//evil.example/x`, ORIGIN)).toBeNull();
    expect(returnPathOfUrl(`${ORIGIN}//evil.example/x`, ORIGIN)).toBeNull();
    expect(returnPathOfUrl(`${ORIGIN}/%2e%2e//evil.example`, ORIGIN)).toBeNull();
  });

  it('refuses another origin and what is not a URL', () => {
    expect(returnPathOfUrl('http://app.test:8080/admin', ORIGIN)).toBeNull();
    expect(returnPathOfUrl('https://app.test/admin', ORIGIN)).toBeNull();
    expect(returnPathOfUrl('http://evil.example/admin', ORIGIN)).toBeNull();
    expect(returnPathOfUrl('not a url', ORIGIN)).toBeNull();
    expect(returnPathOfUrl(null, ORIGIN)).toBeNull();
  });
});

describe('the demo app’s localPath (its login’s return_to)', () => {
  it('keeps a path of the app, else the home page: never a Location a browser reads as another host', () => {
    expect(localPath('/admin?tab=mail')).toBe('/admin?tab=mail');
    for (const bad of ['/\t/evil.example', '/%09/evil.example', '/..//evil.example', '//evil.example', '/\\evil.example', null])
      expect(localPath(bad), String(bad)).toBe('/');
  });
});
