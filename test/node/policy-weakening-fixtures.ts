/**
 * @module Shared fixtures of the weakening classifier's tests: small rules and policies, edits,
 * generators, and what the gateway holds a request to.
 */
import fc from 'fast-check';
import demoPolicy from '../../edge/config/policy.json';
import { compilePolicy } from '../../edge/policy/compile-policy';
import { foldCase } from '../../edge/policy/fold';
import type { Policy, Rule } from '../../edge/policy/schema';
import { validatePolicy } from '../../edge/policy/validate-policy';
import { classifyChange } from '../../edge/policy/weakening';

export const demo = validatePolicy(demoPolicy);
export const rule = (
  id: string,
  path: string | string[],
  extra: Partial<Rule['match']> = {},
  require: Partial<Rule['require']> = {},
): Rule => ({
  id,
  match: { path, ...extra },
  require: { factors: ['webauthn'], bind: 'action', ...require },
});
export const doc = (rules: Rule[], extra: Partial<Policy> = {}): Policy => validatePolicy({ version: 1, ...extra, rules });
/** A copy of `p` with `edit` applied, not re-validated (so a test can add a field the schema does not know). */
export const edited = (p: Policy, edit: (q: Policy & Record<string, unknown>) => void): Policy => {
  const q = structuredClone(p) as Policy & Record<string, unknown>;
  edit(q);
  return q;
};
export const verdict = (before: Policy, after: Policy) => {
  const c = classifyChange(before, after);
  return c.weakens ? 'weakens' : c.strengthens ? 'strengthens' : 'neither';
};

export const base = doc([
  rule('delete-project', '/api/projects/*', { methods: ['DELETE'], host: 'app.example.com' }, { maxAge: '5m' }),
  rule('admin-writes', '/admin/**', { methods: ['POST', 'DELETE'] }, { factors: ['webauthn', 'totp'], bind: 'session' }),
]);
export type Edit = (q: Policy & Record<string, unknown>) => void;
export const r0: (q: Policy) => Rule & Record<string, unknown> = (q) => q.rules[0]!;
export const r1: (q: Policy) => Rule & Record<string, unknown> = (q) => q.rules[1]!;

/** A few `require.approval`s that differ in each part: groups, counts, expiry, requesterStepUp. */
export const APPROVALS: NonNullable<Rule['require']['approval']>[] = [
  { approvers: [{ from: { role: 'admin' }, count: 1 }] },
  { approvers: [{ from: { role: 'admin' }, count: 2 }], expires: '30m' },
  {
    approvers: [
      { from: { role: 'admin' }, count: 1 },
      { from: { people: ['bob', 'carol'] }, count: 1 },
    ],
    requesterStepUp: false,
  },
  { approvers: [{ from: { claimGroup: 'finance' }, count: 1 }], expires: '1d' },
];
/** An approval at least as strict as each of APPROVALS: all their groups, the highest counts, the shortest wait. */
export const STRICTEST_APPROVAL: NonNullable<Rule['require']['approval']> = {
  approvers: [
    { from: { role: 'admin' }, count: 2 },
    { from: { people: ['carol', 'bob'] }, count: 2 },
    { from: { claimGroup: 'finance' }, count: 1 },
  ],
  expires: '30m',
};

export const SEGMENTS = ['a', 'b', 'ban', 'A', '*', '**', 'a*', '*.json'];
export const small = fc.array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 3 }).map((s) => `/${s.join('/')}`);
export const smallRule = (id: string) =>
  fc.record({
    id: fc.constant(id),
    match: fc.record(
      {
        methods: fc.subarray(['GET', 'HEAD', 'POST', 'DELETE'], { minLength: 1 }),
        path: fc.oneof(small, fc.array(small, { minLength: 1, maxLength: 2 })),
        host: fc.constantFrom('app.example.com', '*.example.com', 'b.example.com'),
      },
      { requiredKeys: ['path'] },
    ),
    require: fc.record(
      {
        factors: fc.subarray(['webauthn', 'totp', 'recovery'] as const, { minLength: 1 }),
        bind: fc.constantFrom('session' as const, 'action' as const),
        maxAge: fc.constantFrom('1m', '5m', '1h'),
        approval: fc.constantFrom(...APPROVALS),
      },
      { requiredKeys: ['factors', 'bind'] },
    ),
    mode: fc.constantFrom(undefined, undefined, 'report'),
  });
export const withoutUndefined = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
export const smallPolicy = fc
  .tuple(fc.array(fc.constantFrom('p', 'q', 'r', 's', 't'), { maxLength: 4 }), fc.boolean())
  .chain(([ids, cs]) =>
    fc.tuple(...[...new Set(ids)].map(smallRule)).map((rules) => withoutUndefined({ version: 1, caseSensitive: cs, rules }) as Policy),
  );
/** One edit of the kinds a console makes: a rule's match, requirement, mode or place replaced, a rule added or dropped. */
export const mutation: fc.Arbitrary<(p: Policy) => void> = fc.oneof(
  fc.constant((p: Policy) => {
    p.rules.pop();
  }),
  fc.tuple(fc.nat(), fc.nat(4), smallRule('z')).map(([i, what, z]) => (p: Policy) => {
    if (!p.rules.length) return;
    const r = p.rules[i % p.rules.length]!;
    const fresh = withoutUndefined(z) as Rule;
    if (what === 0) r.match = fresh.match;
    else if (what === 1) r.require = fresh.require;
    else if (what === 2) r.match.path = fresh.match.path;
    else if (what === 3) r.mode = r.mode === 'report' ? undefined : 'report';
    else p.rules.splice((i >> 2) % p.rules.length, 0, ...p.rules.splice(i % p.rules.length, 1));
    if (r.mode === undefined) delete r.mode;
  }),
  fc.tuple(fc.nat(), smallRule('new')).map(([i, r]) => (p: Policy) => {
    if (!p.rules.some((x) => x.id === 'new')) p.rules.splice(i % (p.rules.length + 1), 0, withoutUndefined(r) as Rule);
  }),
  fc.constant((p: Policy) => {
    p.caseSensitive = !p.caseSensitive;
  }),
);
export const pair = fc
  .tuple(smallPolicy, fc.array(mutation, { minLength: 1, maxLength: 3 }))
  .map(([p, ms]) => [p, ms.reduce((q, m) => edited(q, m), p)] as const);

export const REQUEST_SEGMENTS = ['a', 'b', 'ban', 'ban.json', 'A', 'x.json', 'c'];
export const request = fc.record({
  host: fc.constantFrom('app.example.com', 'b.example.com', 'c.example.com', 'other.net'),
  methods: fc.tuple(fc.constantFrom(undefined, 'GET', 'DELETE', '*'), fc.constantFrom('GET', 'HEAD', 'POST', 'DELETE')),
  segments: fc.array(fc.constantFrom(...REQUEST_SEGMENTS), { maxLength: 4 }),
});
/** What the gateway holds a request to: null when no enforcing rule applies (a report rule applying protects nothing). */
export const heldTo = (p: Policy, r: { host: string; methods: [string | undefined, string]; segments: string[] }) => {
  const segs = p.caseSensitive ? r.segments : r.segments.map(foldCase);
  const m = compilePolicy(p).match(
    r.host,
    r.methods.filter((x): x is string => x !== undefined),
    segs,
  );
  if (!m || m.rule.source.mode === 'report') return null;
  return m.rule.source;
};
