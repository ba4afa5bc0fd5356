/**
 * The first matching rule applies, so a policy change can weaken a rule without touching it: these
 * try the ways a less strict rule comes to apply first (edge/policy/rule-shadowing.ts), checked
 * against the gateway's matcher, and the console's diff (edge/policy/policy-diff.ts).
 */
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../edge/policy/compile-policy';
import { describeDiffEntry, diffPolicies } from '../../edge/policy/policy-diff';
import type { Rule } from '../../edge/policy/schema';
import { classifyChange } from '../../edge/policy/weakening';
import { demo as demoDocument, doc, edited, r0, rule, verdict } from './policy-weakening-fixtures';

describe('classifyChange: a less strict rule applying first', () => {
  const strong = rule('strong', '/admin/users/*', { methods: ['DELETE'] });
  const weak = rule('weak', '/admin/**', { methods: ['GET'] }, { factors: ['totp'], bind: 'session' });

  it('moving a weaker overlapping rule ahead weakens, naming both rules', () => {
    const c = classifyChange(doc([strong, weak]), doc([weak, strong]));
    expect(c.weakens).toBe(true);
    expect(c.changes).toContainEqual(
      expect.objectContaining({
        kind: 'weakens',
        rule: 'weak',
        field: 'position',
        message: expect.stringContaining('instead of rule "strong"'),
      }),
    );
    expect(
      verdict(
        doc([strong, rule('other', '/billing/**', {}, { bind: 'session' })]),
        doc([rule('other', '/billing/**', {}, { bind: 'session' }), strong]),
      ),
    ).toBe('neither');
  });

  it('adding a weaker rule for another method on an overlapping path weakens: a POST can claim GET', () => {
    const before = doc([strong]);
    const after = doc([strong, weak]);
    expect(classifyChange(before, after).changes).toContainEqual(
      expect.objectContaining({ kind: 'weakens', rule: 'weak', field: 'match' }),
    );
    // The hole it guards against, in the gateway's own matcher: DELETE claiming GET now meets "weak".
    const segs = ['admin', 'users', '7'];
    expect(compilePolicy(before).match('h', ['GET', 'DELETE'], segs)?.rule.id).toBe('strong');
    expect(compilePolicy(after).match('h', ['GET', 'DELETE'], segs)?.rule.id).toBe('weak');
  });

  it('a rule matching `ban.json` directly takes it only when it comes first: one candidate set, file order', () => {
    const ban = rule('ban', '/users/*/ban');
    const json = rule('json', '/exports/*.json', {}, { factors: ['totp'], bind: 'session' });
    const anyJson = rule('json', '/**/*.json', {}, { factors: ['totp'], bind: 'session' });
    const segs = ['users', '5', 'ban.json'];
    expect(verdict(doc([ban]), doc([ban, json]))).toBe('strengthens');
    // Was 'weakens': a direct match used to win over an earlier rule reached by dropping the extension.
    expect(verdict(doc([ban]), doc([ban, anyJson]))).toBe('strengthens');
    expect(compilePolicy(doc([ban, anyJson])).match('h', ['POST'], segs)?.rule.id).toBe('ban');
    expect(verdict(doc([ban]), doc([anyJson, ban]))).toBe('weakens');
    expect(compilePolicy(doc([anyJson, ban])).match('h', ['POST'], segs)?.rule.id).toBe('json');
  });

  it('an earlier rule reached by dropping the extension takes a request a later rule matches directly', () => {
    // `/x/4` meets `/x/*.json` only through the retry: `/x/4.json` is tried as `/x/4`.
    const strictJson = rule('json', '/x/*.json', { methods: ['DELETE'] });
    const weak4 = rule('four', '/x/4', { methods: ['DELETE'] }, { factors: ['totp'], bind: 'session' });
    expect(compilePolicy(doc([weak4, strictJson])).match('h', ['DELETE'], ['x', '4.json'])?.rule.id).toBe('four');
    expect(classifyChange(doc([strictJson]), doc([weak4, strictJson])).changes).toContainEqual(
      expect.objectContaining({
        kind: 'weakens',
        rule: 'four',
        field: 'match',
        message: expect.stringContaining('instead of rule "json"'),
      }),
    );
    // Moved ahead, unchanged: the same meeting through the retry counts.
    expect(classifyChange(doc([strictJson, weak4]), doc([weak4, strictJson])).changes).toContainEqual(
      expect.objectContaining({ kind: 'weakens', rule: 'four', field: 'position' }),
    );
    // After the stricter rule and under its methods only, it takes nothing.
    expect(verdict(doc([strictJson]), doc([strictJson, weak4]))).toBe('strengthens');
  });

  it('restoring the demo\'s "delete-project" after "delete-production-project" weakens nothing', () => {
    // What the console's rollback does (test/e2e/policy-console.test.ts): it used to read as weakening
    // because "delete-project" matched `4.json` directly ahead of the dual-control rule.
    const create = rule('create-project', '/api/projects', { methods: ['POST'] }, { factors: ['webauthn', 'totp'], bind: 'session' });
    const restored = edited(demoDocument, (q) => void q.rules.push(create));
    const removed = edited(restored, (q) => {
      q.rules = q.rules.filter((r) => r.id !== 'delete-project');
    });
    expect(verdict(removed, restored)).toBe('strengthens');
    // Put before it, it takes DELETE /api/projects/4 from dual control: that weakens.
    const ahead = edited(restored, (q) => {
      q.rules = [q.rules[0]!, q.rules[2]!, q.rules[1]!, q.rules[3]!];
    });
    expect(verdict(removed, ahead)).toBe('weakens');
  });

  it('widening an earlier rule so it overlaps a stricter later one weakens', () => {
    const before = doc([weak, strong]);
    const after = edited(before, (q) => {
      r0(q).match.methods = ['GET', 'DELETE'];
    });
    expect(
      classifyChange(before, after)
        .changes.filter((c) => c.kind === 'weakens')
        .map((c) => c.field),
    ).toEqual(['match']);
  });

  it('a report-only rule on routes no other rule covers weakens nothing; promoting it strengthens', () => {
    const draft = edited(
      demoDocument,
      (q) => void q.rules.push({ ...rule('projects-create', '/api/projects', { methods: ['POST'] }), mode: 'report' }),
    );
    expect(classifyChange(demoDocument, draft)).toMatchObject({ weakens: false, strengthens: false });
    const promoted = edited(draft, (q) => void delete q.rules.at(-1)!.mode);
    expect(verdict(draft, promoted)).toBe('strengthens');
    expect(
      verdict(
        promoted,
        edited(promoted, (q) => void q.rules.splice(1, 1)),
      ),
    ).toBe('weakens');
  });

  it('a report-only rule never takes a request from an enforced one; promoting it over a stricter one weakens', () => {
    const report: Rule = { ...rule('try', '/admin/**', {}, { factors: ['totp'], bind: 'session' }), mode: 'report' };
    const draft = doc([report, strong]);
    expect(verdict(doc([strong]), draft)).toBe('neither');
    expect(compilePolicy(draft).match('h', ['DELETE'], ['admin', 'users', '7'])?.rule.id).toBe('strong');
    const promoted = doc([{ ...report, mode: 'enforce' }, strong]);
    const c = classifyChange(draft, promoted);
    expect(c.weakens).toBe(true);
    expect(c.changes).toContainEqual(expect.objectContaining({ kind: 'strengthens', rule: 'try', field: 'mode' }));
    expect(c.changes).toContainEqual(
      expect.objectContaining({ kind: 'weakens', rule: 'try', message: expect.stringContaining('instead of rule "strong"') }),
    );
  });
});

describe('diffPolicies', () => {
  it('lists added, removed, moved and changed rules and fields in words', () => {
    // The demo's two oldest rules (its dual-control rule left out, so positions stay as written below).
    const demo = edited(demoDocument, (q) => {
      q.rules = q.rules.filter((r) => r.id !== 'delete-production-project');
    });
    const after = edited(demo, (q) => {
      q.hosts = ['app.example.com'];
      q.rules.reverse();
      r0(q).require.factors = ['webauthn'];
      q.rules.push(rule('billing', '/billing/**'));
      q.rules.splice(1, 1);
    });
    expect(diffPolicies(demo, after).map(describeDiffEntry)).toEqual([
      'hosts: (not set) → ["app.example.com"]',
      'rule "admin-writes" removed: POST, PUT, PATCH, DELETE /admin/**',
      'rule "delete-project": require.factors: ["webauthn","totp","recovery"] → ["webauthn"]',
      'rule "billing" added: any method /billing/**',
    ]);
    const moved = edited(demo, (q) => {
      q.rules.reverse();
    });
    expect(diffPolicies(demo, moved).map(describeDiffEntry)).toEqual(['rule "admin-writes" moved from position 1 to 2']);
  });
});
