/**
 * docs/audit.md and the event catalogue (edge/audit/events.ts) cannot drift: the catalogue table
 * has one row per event type and names no type the code does not have, and the OCSF columns say
 * what the export really produces.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUDIT_EVENTS, AUDIT_TYPES, type AuditType } from '../../edge/audit/events';
import { toOcsf } from '../../edge/audit/export-formats';
import { ROOT } from '../support/miniflare-gateway';

const DOC = readFileSync(join(ROOT, 'docs/audit.md'), 'utf8');
const CATALOGUE = '### Event catalogue';
const OCSF_TABLE = '### OCSF mapping';
/** A backticked name that looks like an event type (`factor.failed`). */
const EVENT_LIKE = /^[a-z_]+\.[a-z_]+$/;

/** The body rows (cells, trimmed) of the first Markdown table after `heading`. */
function tableAfter(doc: string, heading: string): string[][] {
  const lines = doc.split('\n');
  const at = lines.findIndex((l) => l.trim() === heading);
  if (at < 0) throw new Error(`docs/audit.md: no heading "${heading}"`);
  let i = at + 1;
  while (i < lines.length && !lines[i]!.startsWith('|')) {
    if (/^#{1,3} /.test(lines[i]!)) throw new Error(`docs/audit.md: no table under "${heading}"`);
    i++;
  }
  const rows: string[] = [];
  while (i < lines.length && lines[i]!.startsWith('|')) rows.push(lines[i++]!);
  // Header and separator first; a cell never contains an unescaped "|" in these tables.
  return rows.slice(2).map((r) =>
    r
      .replace(/^\||\|$/g, '')
      .split(/(?<!\\)\|/)
      .map((c) => c.trim()),
  );
}

const backticked = (text: string): string[] => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
const typeOfRow = (cells: string[]): string => /^`([^`]+)`$/.exec(cells[0] ?? '')?.[1] ?? `(not a backticked type: ${cells[0]})`;

/** What is wrong with an event table: missing, duplicated or unknown event types. */
function tableProblems(doc: string, heading: string): string[] {
  const rows = tableAfter(doc, heading);
  const problems: string[] = [];
  const seen = new Map<string, number>();
  for (const cells of rows) {
    const t = typeOfRow(cells);
    seen.set(t, (seen.get(t) ?? 0) + 1);
    // Any event-like name anywhere in the row (a type cited in another row's text, too).
    for (const name of backticked(cells.join(' | '))) {
      if (EVENT_LIKE.test(name) && !Object.hasOwn(AUDIT_EVENTS, name))
        problems.push(`${heading}: \`${name}\` is not an event type in AUDIT_EVENTS`);
    }
    if (!Object.hasOwn(AUDIT_EVENTS, t) && !EVENT_LIKE.test(t)) problems.push(`${heading}: row "${t}" is not an event type`);
  }
  for (const t of AUDIT_TYPES) if (!seen.has(t)) problems.push(`${heading}: no row for \`${t}\``);
  for (const [t, n] of seen) if (n > 1) problems.push(`${heading}: ${n} rows for \`${t}\``);
  return [...new Set(problems)];
}

/** What the OCSF export produces for an event of type `t`. */
function exported(t: AuditType): { class_uid: number; activity_id: number; type_uid: number } {
  const o = toOcsf({
    event: {
      v: 1,
      id: '00000000-0000-4000-8000-000000000000',
      tenant: 'default',
      seq: 1,
      time: '2026-01-01T00:00:00.000Z',
      type: t,
      outcome: 'success',
      actor: 'u',
      app: null,
      salt: 's',
    },
    prev_hash: 'genesis',
    hash: 'h',
  });
  return { class_uid: o.class_uid as number, activity_id: o.activity_id as number, type_uid: o.type_uid as number };
}

describe('docs/audit.md', () => {
  it('names every event type in AUDIT_EVENTS, as code', () => {
    const missing = AUDIT_TYPES.filter((t) => !DOC.includes(`\`${t}\``));
    expect(missing).toEqual([]);
  });

  it('has exactly one catalogue row per event type, and names no event type the code does not have', () => {
    expect(tableAfter(DOC, CATALOGUE)).toHaveLength(AUDIT_TYPES.length);
    expect(tableProblems(DOC, CATALOGUE)).toEqual([]);
  });

  it('the drift check catches an unknown, a missing and a duplicated type (it is not vacuous)', () => {
    const rows = tableAfter(DOC, CATALOGUE);
    const first = `| \`${typeOfRow(rows[0]!)}\` |`;
    const bogus = DOC.replace(first, `| \`factor.bogus\` | failure | see \`grant.revoked\` | | | 3002 / 1 |\n${first}`);
    expect(tableProblems(bogus, CATALOGUE)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('`factor.bogus` is not an event type'),
        expect.stringContaining('`grant.revoked` is not an event type'),
      ]),
    );
    const dropped = DOC.split('\n')
      .filter((l) => !l.startsWith('| `keys.rotated` |'))
      .join('\n');
    expect(tableProblems(dropped, CATALOGUE)).toEqual(expect.arrayContaining([expect.stringContaining('no row for `keys.rotated`')]));
    const doubled = DOC.replace(first, `${first} again | | | | |\n${first}`);
    expect(tableProblems(doubled, CATALOGUE).some((p) => p.includes('2 rows for'))).toBe(true);
    // Dotted names outside the event tables (file names, JSON paths) are not event types.
    expect(DOC).toContain('`request.path`');
  });

  it('gives each type the OCSF class and activity the export produces', () => {
    for (const cells of tableAfter(DOC, CATALOGUE)) {
      const t = typeOfRow(cells) as AuditType;
      const m = /^(\d{4}) \/ (\d+)$/.exec(cells.at(-1)!);
      expect(m, `${t}: OCSF column "${cells.at(-1)}"`).not.toBeNull();
      const e = exported(t);
      expect({ type: t, class_uid: Number(m![1]), activity_id: Number(m![2]) }).toEqual({
        type: t,
        class_uid: e.class_uid,
        activity_id: e.activity_id,
      });
      expect(e.class_uid).toBe(AUDIT_EVENTS[t].ocsf);
    }
  });

  it('has an OCSF mapping table that matches the export, one row per type', () => {
    expect(tableProblems(DOC, OCSF_TABLE)).toEqual([]);
    for (const cells of tableAfter(DOC, OCSF_TABLE)) {
      const t = typeOfRow(cells) as AuditType;
      const [, cls, act, uid] = cells;
      const e = exported(t);
      expect({ type: t, class_uid: Number.parseInt(cls!, 10), activity_id: Number.parseInt(act!, 10), type_uid: Number(uid) }).toEqual({
        type: t,
        ...e,
      });
    }
  });
});
