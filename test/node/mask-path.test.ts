/**
 * Masking secret-looking path segments before routes are stored (edge/policy/mask-path.ts): what
 * people put in paths as tokens becomes `*`, what they use as ids and slugs stays readable.
 */
import { describe, expect, it } from 'vitest';
import { MASK_MIN_CHARS, maskPath } from '../../edge/policy/mask-path';

describe('maskPath', () => {
  it.each([
    ['/reset/Zq8-victim-reset-token-4711', '/reset/*'],
    ['/magic/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl', '/magic/*'],
    ['/invite/550e8400-e29b-41d4-a716-446655440000/accept', '/invite/*/accept'],
    ['/files/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', '/files/*'],
    ['/t/kqzjxwvbnmplrtyhgfdsaqwe', '/t/*'],
    ['/cards/4111111111111111', '/cards/*'],
    ['/a/AbCdEfGhIjKlMnOp/b/QrStUvWxYzAbCdEf', '/a/*/b/*'],
    ['/k/dGVzdC1vbmx5LWtleXJpbmc%3D', '/k/*'],
    ['GET /reset/Zq8fXq0pL2mN7vB4cR9s', 'GET /reset/*'],
  ])('masks %s', (path, masked) => {
    expect(maskPath(path)).toBe(masked);
  });

  it.each([
    '/',
    '/api/projects/7',
    '/blog/2024/03/getting-started-with-stepgate',
    '/api/projects/7/members/1234567',
    '/docs/authentication_overview',
    '/internationalization',
    'DELETE /api/projects/42',
  ])('keeps %s', (path) => {
    // The same string (not a copy): nothing was masked and nothing was allocated.
    expect(maskPath(path)).toBe(path);
  });

  it('keeps a segment one character short of the threshold, masks it at the threshold', () => {
    const short = 'aB3'.repeat(5).slice(0, MASK_MIN_CHARS - 1);
    expect(maskPath(`/x/${short}`)).toBe(`/x/${short}`);
    expect(maskPath(`/x/${short}Z`)).toBe('/x/*');
  });

  it('keeps the slashes: empty segments, a trailing slash and the query-less shape', () => {
    expect(maskPath('//Zq8fXq0pL2mN7vB4cR9s//')).toBe('//*//');
    expect(maskPath('Zq8fXq0pL2mN7vB4cR9s')).toBe('*');
  });

  it('never leaves a random token readable (1,000 random base64url tokens of 16–43 characters)', () => {
    const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    let leaked = 0;
    for (let i = 0; i < 1_000; i++) {
      const bytes = crypto.getRandomValues(new Uint8Array(16 + (i % 28)));
      const token = Array.from(bytes, (b) => abc[b & 63]).join('');
      if (maskPath(`/reset/${token}`) !== '/reset/*') leaked++;
    }
    expect(leaked).toBe(0);
  });
});
