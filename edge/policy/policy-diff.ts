/**
 * @module diffPolicies: the structural difference between two validated policy documents, field by
 * field (rules paired by id), for the console's diff view and the weakening classifier (weakening.ts).
 * Fields the schema does not know yet (such as a new `mode`) are compared too, so nothing changes unseen.
 */
import { approvalWords, readApproval, UNREADABLE } from './approval-change';
import type { Policy, Rule } from './schema';

export type DiffOp = 'added' | 'removed' | 'changed' | 'moved';

export interface PolicyDiffEntry {
  op: DiffOp;
  /** The rule's id; null for a document-level field. */
  rule: string | null;
  /** `hosts`, `match.methods`, `require.maxAge`…; `(rule)` for a whole rule added or removed; `position` for a move. */
  field: string;
  /** The old value (a whole rule, a 1-based position); undefined when absent. */
  before?: unknown;
  after?: unknown;
}

/** Fields whose value is a set: order and repetition do not change their meaning. */
const SET_FIELDS = new Set(['hosts', 'match.methods', 'match.path', 'match.host', 'require.factors']);

const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  ) ?? 'undefined';

/** Whether two values of `field` mean the same (sets compared as sets; `"/a"` equals `["/a"]`). */
export function sameValue(field: string, a: unknown, b: unknown): boolean {
  if (SET_FIELDS.has(field) && a !== undefined && b !== undefined) {
    const norm = (v: unknown) => [...new Set(Array.isArray(v) ? v : [v])].map(canonical).sort().join(',');
    return norm(a) === norm(b);
  }
  return canonical(a) === canonical(b);
}

const keysOf = (...objs: unknown[]): string[] => [
  ...new Set(objs.flatMap((o) => (o && typeof o === 'object' ? Object.keys(o as object) : []))),
];
const fieldOf = (o: unknown, k: string): unknown => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined);

/** Changed fields of one object (document, rule, `match` or `require`), each named `prefix` + key. */
function fieldChanges(rule: string | null, prefix: string, before: unknown, after: unknown, skip: readonly string[]): PolicyDiffEntry[] {
  return keysOf(before, after)
    .filter((k) => !skip.includes(k))
    .filter((k) => !sameValue(prefix + k, fieldOf(before, k), fieldOf(after, k)))
    .map((k) => ({ op: 'changed', rule, field: prefix + k, before: fieldOf(before, k), after: fieldOf(after, k) }));
}

function ruleChanges(b: Rule, a: Rule): PolicyDiffEntry[] {
  const sub = (k: 'match' | 'require') => fieldChanges(a.id, `${k}.`, b[k], a[k], []);
  return [...fieldChanges(a.id, '', b, a, ['id', 'match', 'require']), ...sub('match'), ...sub('require')];
}

/**
 * Rules kept in both versions whose order changed: the fewest that must move (those outside a
 * longest run already in order), since the first matching rule in file order applies.
 */
function movedRules(before: Policy, after: Policy): Set<string> {
  const beforeIndex = new Map(before.rules.map((r, i) => [r.id, i]));
  const kept = after.rules.filter((r) => beforeIndex.has(r.id)).map((r) => ({ id: r.id, at: beforeIndex.get(r.id)! }));
  const best = kept.map(() => 1);
  const prev = kept.map(() => -1);
  kept.forEach((k, i) => {
    for (let j = 0; j < i; j++)
      if (kept[j]!.at < k.at && best[j]! + 1 > best[i]!) {
        best[i] = best[j]! + 1;
        prev[i] = j;
      }
  });
  const inOrder = new Set<string>();
  for (let i = best.indexOf(Math.max(0, ...best)); i >= 0; i = prev[i]!) inOrder.add(kept[i]!.id);
  return new Set(kept.filter((k) => !inOrder.has(k.id)).map((k) => k.id));
}

/** Every difference: document fields, removed rules (old order), then added, moved and changed rules (new order). */
export function diffPolicies(before: Policy, after: Policy): PolicyDiffEntry[] {
  const out = fieldChanges(null, '', before, after, ['rules']);
  const afterIds = new Set(after.rules.map((r) => r.id));
  const beforeById = new Map(before.rules.map((r, i) => [r.id, { rule: r, index: i }]));
  for (const r of before.rules) if (!afterIds.has(r.id)) out.push({ op: 'removed', rule: r.id, field: '(rule)', before: r });
  const moved = movedRules(before, after);
  after.rules.forEach((r, i) => {
    const old = beforeById.get(r.id);
    if (!old) {
      out.push({ op: 'added', rule: r.id, field: '(rule)', after: r });
      return;
    }
    if (moved.has(r.id)) out.push({ op: 'moved', rule: r.id, field: 'position', before: old.index + 1, after: i + 1 });
    out.push(...ruleChanges(old.rule, r));
  });
  return out;
}

const show = (v: unknown): string => (v === undefined ? '(not set)' : JSON.stringify(v));

/** A `require.approval` in words ("approval by 1 of admins (waits up to 1h; …)"); JSON when this version cannot read it. */
const showApproval = (v: unknown): string => {
  const a = readApproval(v);
  return a === null ? '(none)' : a === UNREADABLE ? show(v) : approvalWords(a);
};

/** What a rule covers, in a line: `DELETE /api/projects/*`, `any method /admin/** on app.example.com`. */
export function ruleSummary(r: Rule): string {
  const paths = Array.isArray(r.match.path) ? r.match.path.join(', ') : r.match.path;
  const hosts = r.match.host === undefined ? '' : ` on ${Array.isArray(r.match.host) ? r.match.host.join(', ') : r.match.host}`;
  return `${r.match.methods ? r.match.methods.join(', ') : 'any method'} ${paths}${hosts}`;
}

/** One diff entry as a line the console shows. */
export function describeDiffEntry(e: PolicyDiffEntry): string {
  const who = e.rule === null ? '' : `rule "${e.rule}"`;
  switch (e.op) {
    case 'added':
      return `${who} added: ${ruleSummary(e.after as Rule)}`;
    case 'removed':
      return `${who} removed: ${ruleSummary(e.before as Rule)}`;
    case 'moved':
      return `${who} moved from position ${show(e.before)} to ${show(e.after)}`;
    default:
      if (e.field === 'require.approval') return `${who}: approval: ${showApproval(e.before)} → ${showApproval(e.after)}`;
      return `${who ? `${who}: ` : ''}${e.field}: ${show(e.before)} → ${show(e.after)}`;
  }
}
