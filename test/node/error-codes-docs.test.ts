/**
 * docs/architecture.md's "Error codes" table and shared/errors.ts cannot drift: the table lists
 * every code ErrorCode has, once, and no code ErrorCode does not have.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../shared/errors';
import { ROOT } from '../support/miniflare-gateway';

const DOC = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
const HEADING = '## Error codes';

/** The first cell of each body row of the first Markdown table after `heading`. */
function firstCells(doc: string, heading: string): string[] {
  const lines = doc.split('\n');
  const at = lines.findIndex((l) => l.trim() === heading);
  if (at < 0) throw new Error(`docs/architecture.md: no heading "${heading}"`);
  let i = at + 1;
  while (i < lines.length && !lines[i]!.startsWith('|')) {
    if (/^#{1,3} /.test(lines[i]!)) throw new Error(`docs/architecture.md: no table under "${heading}"`);
    i++;
  }
  const rows: string[] = [];
  while (i < lines.length && lines[i]!.startsWith('|')) rows.push(lines[i++]!);
  // Header and separator first.
  return rows.slice(2).map((r) => r.replace(/^\|/, '').split('|')[0]!.trim());
}

describe('docs/architecture.md, "Error codes"', () => {
  const listed = firstCells(DOC, HEADING).map((cell) => cell.replace(/^`|`$/g, ''));
  const codes: string[] = Object.values(ErrorCode);

  it('lists every code in shared/errors.ts', () => {
    expect(codes.length).toBeGreaterThan(20);
    expect(codes.filter((c) => !listed.includes(c))).toEqual([]);
  });

  it('lists no code that shared/errors.ts does not have, and none twice', () => {
    expect(listed.filter((c) => !codes.includes(c))).toEqual([]);
    expect(listed.filter((c, i) => listed.indexOf(c) !== i)).toEqual([]);
  });
});
