/**
 * The organisation baseline (issue 13, item 7), pure parts: how an app's policy is merged with its
 * organisation's baseline (edge/policy/baseline-merge.ts), what a baseline document may hold
 * (baseline-document.ts), and which app policies weaken it (`problemsAgainst`, policy-baseline.ts).
 */
import { describe, expect, it } from 'vitest';
import { classifyBaselineChange } from '../../edge/admin/baseline-impact';
import { problemsAgainst } from '../../edge/admin/policy-baseline';
import { checkBaseline, readBaseline } from '../../edge/policy/baseline-document';
import { type Baseline, mergeBaseline } from '../../edge/policy/baseline-merge';
import { compilePolicy } from '../../edge/policy/compile-policy';
import type { Policy } from '../../edge/policy/schema';
import { validatePolicy } from '../../edge/policy/validate-policy';
import { classifyChange } from '../../edge/policy/weakening';
import { doc, rule } from './policy-weakening-fixtures';

const baseline = checkBaseline({
  version: 1,
  rules: [rule('admin', '/admin/**', {}, { factors: ['webauthn'], bind: 'session', maxAge: '5m' })],
}).baseline as Baseline;
const app = doc([rule('delete', '/api/projects/*', { methods: ['DELETE'] })], { hosts: ['app.example.com'] });

describe('mergeBaseline', () => {
  it('puts the baseline rules first, renamed baseline.<id>, and keeps the app document otherwise', () => {
    const merged = validatePolicy(mergeBaseline(baseline, app));
    expect(merged.rules.map((r) => r.id)).toEqual(['baseline.admin', 'delete']);
    expect(merged.hosts).toEqual(['app.example.com']);
    expect(merged.rules[0]!.match).toEqual(baseline.rules[0]!.match);
    expect(mergeBaseline(null, app)).toBe(app);
  });

  it('a baseline rule applies before any app rule that matches the same request, on the app hosts only', () => {
    const lax = doc([rule('admin-lax', '/admin/**', {}, { factors: ['webauthn', 'totp', 'recovery'], bind: 'session', maxAge: '1h' })], {
      hosts: ['app.example.com'],
    });
    const p = compilePolicy(validatePolicy(mergeBaseline(baseline, lax)));
    expect(p.match('app.example.com', ['POST'], ['admin', 'users'])?.rule.id).toBe('baseline.admin');
    expect(p.servesHost('other.example.com')).toBe(false);
  });

  it('holds the app to the stricter settings: case-insensitive, no path info, the baseline body limit and invitations', () => {
    const strict = checkBaseline({ version: 1, maxInspectBytes: 4096, enrolment: 'invite', rules: [] }).baseline!;
    const loose = doc([], { caseSensitive: true, allowPathInfo: true, maxInspectBytes: 65536, enrolment: 'first-use' });
    const merged = mergeBaseline(strict, loose) as Policy;
    expect(merged).toMatchObject({ caseSensitive: false, allowPathInfo: false, maxInspectBytes: 4096, enrolment: 'invite' });
    // A stricter app keeps its own settings.
    const tight = doc([], { maxInspectBytes: 2048, enrolment: 'invite' });
    expect(mergeBaseline(strict, tight)).toMatchObject({ maxInspectBytes: 2048, enrolment: 'invite' });
    const permissive = checkBaseline({ version: 1, caseSensitive: true, rules: [] }).baseline!;
    expect(mergeBaseline(permissive, doc([], { caseSensitive: true }))).toMatchObject({ caseSensitive: true });
  });
});

describe('checkBaseline', () => {
  it('reports schema problems by rule and field, as policy check does', () => {
    const r = checkBaseline({ version: 1, rules: [{ id: 'x', match: { path: 'admin' }, require: { factors: [], bind: 'session' } }] });
    expect(r.baseline).toBeNull();
    expect(r.problems.join('\n')).toMatch(/organisation baseline: rule "x": match.path: must start with "\/"/);
  });

  it('refuses hosts, ids too long for the prefix and too many rules', () => {
    expect(checkBaseline({ version: 1, hosts: ['a.example'], rules: [] }).problems[0]).toMatch(/a baseline has no "hosts"/);
    expect(checkBaseline({ version: 1, rules: [rule('x'.repeat(56), '/a')] }).problems[0]).toMatch(/at most 55 characters/);
    const many = Array.from({ length: 101 }, (_, i) => rule(`r${i}`, `/r${i}`));
    expect(checkBaseline({ version: 1, rules: many }).problems[0]).toMatch(/at most 100 rules/);
  });

  it('reads back only valid documents', () => {
    expect(readBaseline('{')).toBeNull();
    expect(readBaseline('{"version":1,"hosts":["a.example"],"rules":[]}')).toBeNull();
    expect(readBaseline('{"version":1,"rules":[]}')).toEqual({ version: 1, rules: [] });
  });
});

describe('problemsAgainst: an app policy may not weaken its organisation baseline', () => {
  it('an app that only adds its own rules is fine', () => {
    expect(problemsAgainst(baseline, app)).toEqual([]);
    expect(problemsAgainst(baseline, doc([]))).toEqual([]);
  });

  it('turning on case-sensitive matching or path info weakens the baseline rules', () => {
    expect(problemsAgainst(baseline, doc([], { caseSensitive: true })).join('\n')).toMatch(
      /It weakens the organisation baseline: caseSensitive goes from "false" to "true"/,
    );
    expect(problemsAgainst(baseline, doc([], { allowPathInfo: true })).join('\n')).toMatch(/allowPathInfo goes from "false" to "true"/);
  });

  it('settings the baseline sets bind the app; the ones it leaves open do not', () => {
    const strict = checkBaseline({ version: 1, maxInspectBytes: 4096, enrolment: 'invite', rules: [] }).baseline!;
    const problems = problemsAgainst(strict, doc([], { maxInspectBytes: 8192 }));
    expect(problems.join('\n')).toMatch(/maxInspectBytes goes from 4096 to 8192/);
    expect(problems.join('\n')).toMatch(/enrolment/);
    expect(problemsAgainst(baseline, doc([], { maxInspectBytes: 8192, enrolment: 'first-use' }))).toEqual([]);
  });

  it('an app rule may not take a baseline id (it would replace the baseline rule)', () => {
    const taker = { ...doc([]), rules: [rule('baseline.admin', '/admin/**', {}, { factors: ['totp'] })] };
    expect(problemsAgainst(baseline, taker)).toEqual([
      'Rule "baseline.admin": ids beginning "baseline." are reserved for the organisation baseline\'s rules.',
    ]);
  });
});

describe('a baseline change, classified for the baseline and for every app', () => {
  const apps = [{ label: 'app "Shop" (a1)', policy: app }];
  const lax = rule('everything', '/api/**', {}, { factors: ['webauthn', 'totp', 'recovery'], bind: 'session', maxAge: '24h' });
  const next = (extra: object, ...rules: ReturnType<typeof rule>[]) =>
    checkBaseline({ version: 1, ...extra, rules: [...baseline.rules, ...rules] }).baseline as Baseline;

  it('a rule that shadows a stricter app rule weakens that app, named, though the baseline only gains a rule', () => {
    const { change, invalid } = classifyBaselineChange(baseline, next({}, lax), apps);
    expect(invalid).toEqual([]);
    expect(change.weakens).toBe(true);
    const weak = change.changes.filter((c) => c.kind === 'weakens').map((c) => c.message);
    expect(weak.length).toBeGreaterThan(0);
    expect(weak.every((m) => m.startsWith('In app "Shop" (a1): '))).toBe(true);
    // Next to the previous baseline alone it looks like strengthening: that was the hole.
    expect(classifyChange(baseline, next({}, lax)).weakens).toBe(false);
  });

  it('a first baseline is checked the same way; one that covers nothing of the app strengthens', () => {
    expect(classifyBaselineChange(null, next({}, lax), apps).change.weakens).toBe(true);
    expect(classifyBaselineChange(null, baseline, apps).change).toMatchObject({ weakens: false, strengthens: true });
  });

  it('a baseline the app policy cannot run behind (a taken baseline id) is listed, naming the app', () => {
    const legacy = validatePolicy({ version: 1, rules: [rule('baseline.admin', '/x', {}, {})] });
    const r = classifyBaselineChange(null, baseline, [{ label: 'app "Old" (o1)', policy: legacy }]);
    expect(r.invalid).toHaveLength(1);
    expect(r.invalid[0]).toMatch(/app "Old" \(o1\).*baseline\.admin/);
  });

  it('dropping maxInspectBytes weakens a baseline (absent: no cap), not an app policy (absent: 1 MiB)', () => {
    const capped = next({ maxInspectBytes: 2 * 1048576 });
    expect(classifyBaselineChange(capped, next({}), []).change.weakens).toBe(true);
    expect(classifyBaselineChange(next({}), capped, []).change).toMatchObject({ weakens: false, strengthens: true });
    const big = doc([], { maxInspectBytes: 2 * 1048576 });
    expect(classifyChange(big, doc([])).weakens).toBe(false);
    expect(classifyChange(big, doc([]), { unsetMaxInspectBytes: Number.POSITIVE_INFINITY }).weakens).toBe(true);
  });
});
