/**
 * docs/security.md names the tests that show each invariant and each ASVS requirement is met.
 * These checks keep those names true: every test file it cites exists, and every quoted test
 * name (`file › "name"`) is in that file, so a renamed or deleted test cannot leave a claim behind.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/miniflare-gateway';

const doc = readFileSync(join(ROOT, 'docs/security.md'), 'utf8');

describe('docs/security.md', () => {
  it('cites only test files that exist', () => {
    const files = [...new Set([...doc.matchAll(/`(test\/[\w/.-]+\.test\.ts)`/g)].map((m) => m[1]!))];
    expect(files.length).toBeGreaterThan(20);
    expect(files.filter((f) => !existsSync(join(ROOT, f)))).toEqual([]);
  });

  it('quotes only test names that are in the file it names', () => {
    const missing: string[] = [];
    let checked = 0;
    // `test/x.test.ts` › "name" (a name may be cut short with "…" or carry %s placeholders).
    for (const m of doc.matchAll(/`(test\/[\w/.-]+\.test\.ts)` › ((?:describe )?"[^"]+"(?:; "[^"]+")*)/g)) {
      const source = readFileSync(join(ROOT, m[1]!), 'utf8').replace(/\\'/g, "'");
      for (const q of m[2]!.matchAll(/"([^"]+)"/g)) {
        // The longest literal piece of the name (before "…", between placeholders) must be in the file.
        const pieces = q[1]!
          .split(/…|%[sidj]|`/)
          .map((p) => p.trim())
          .filter((p) => p.length >= 6);
        const piece = pieces.sort((a, b) => b.length - a.length)[0];
        if (!piece) continue;
        checked++;
        if (!source.includes(piece)) missing.push(`${m[1]} › "${q[1]}"`);
      }
    }
    expect(checked).toBeGreaterThan(50);
    expect(missing).toEqual([]);
  });
});
