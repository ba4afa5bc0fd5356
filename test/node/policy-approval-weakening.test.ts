/**
 * @module The weakening classifier (edge/policy/weakening.ts, approval-change.ts) on `require.approval`:
 * each change docs/policy.md "What counts as weakening" lists for dual control weakens, and its
 * inverse does not; a rule without approval never takes over the requests of one with it unseen.
 */
import { describe, expect, it } from 'vitest';
import { baselineFloor, withBaselineRules } from '../../edge/policy/baseline-merge';
import { compilePolicy } from '../../edge/policy/compile-policy';
import type { Policy } from '../../edge/policy/schema';
import { classifyChange } from '../../edge/policy/weakening';
import { doc, type Edit, edited, r0, rule, verdict } from './policy-weakening-fixtures';

type Approval = NonNullable<Policy['rules'][number]['require']['approval']>;
const approval = (): Approval => ({
  approvers: [
    { from: { role: 'admin' }, count: 1 },
    { from: { people: ['bob', 'carol', 'dave'] }, count: 2 },
  ],
  expires: '1h',
});
const start = doc([
  rule('delete-project', '/api/projects/*', { methods: ['DELETE'] }, { approval: approval() }),
  rule('export', '/api/export/**', { methods: ['POST'] }),
]);
const ap = (q: Policy): Approval => r0(q).require.approval!;

describe('classifyChange: require.approval', () => {
  const weakening: [string, Edit, RegExp][] = [
    ['approval removed', (q) => void delete r0(q).require.approval, /no longer needs anyone to approve/],
    [
      'a count lowered',
      (q) => {
        ap(q).approvers[1]!.count = 1;
      },
      /bob, carol, dave now need 1 approval\(s\) instead of 2/,
    ],
    ['a group removed', (q) => void ap(q).approvers.shift(), /"admins" was removed/],
    [
      'expires lengthened',
      (q) => {
        ap(q).expires = '2d';
      },
      /waits 2d for approval instead of 1h/,
    ],
    [
      'requesterStepUp true → false',
      (q) => {
        ap(q).requesterStepUp = false;
      },
      /requester no longer steps up/,
    ],
  ];
  it.each(weakening)('%s weakens, and the way back does not', (_n, edit, why) => {
    const after = edited(start, edit);
    const c = classifyChange(start, after);
    expect(c.weakens).toBe(true);
    expect(c.changes.filter((x) => x.kind === 'weakens').map((x) => x.message)).toContainEqual(expect.stringMatching(why));
    expect(classifyChange(after, start).weakens).toBe(false);
  });

  // Any change of who a group names counts as that group removed: Stepgate cannot tell a wider set
  // of approvers from a narrower one, so the change weakens whichever way it goes.
  const fromChanges: [string, Edit, RegExp][] = [
    [
      'a role changed to another role (any change of "from")',
      (q) => {
        ap(q).approvers[0]!.from = { role: 'owner' };
      },
      /"admins" was removed or now names other approvers/,
    ],
    [
      'a person added to a people group (a wider "from")',
      (q) => {
        ap(q).approvers[1]!.from = { people: ['bob', 'carol', 'dave', 'mallory'] };
      },
      /"bob, carol, dave" was removed or now names other approvers/,
    ],
    [
      'a role replaced by a claim group',
      (q) => {
        ap(q).approvers[0]!.from = { claimGroup: 'admins' };
      },
      /"admins" was removed or now names other approvers/,
    ],
  ];
  it.each(fromChanges)('%s weakens, both ways', (_n, edit, why) => {
    const after = edited(start, edit);
    const c = classifyChange(start, after);
    expect(c.weakens).toBe(true);
    expect(c.changes.filter((x) => x.kind === 'weakens').map((x) => x.message)).toContainEqual(expect.stringMatching(why));
    expect(classifyChange(after, start).weakens).toBe(true);
  });

  /** An edit written as a statement (so no assignment hides in an expression). */
  const set =
    (f: (q: Policy) => void): Edit =>
    (q) => {
      f(q);
    };

  it.each([
    ['approval added', set((q) => Object.assign(q.rules[1]!.require, { approval: approval() })), /now needs approval by 1 of admins/],
    ['a count raised', set((q) => Object.assign(ap(q).approvers[0]!, { count: 2 })), /admins now need 2 approval\(s\) instead of 1/],
    ['a group added', set((q) => ap(q).approvers.push({ from: { claimGroup: 'finance' }, count: 1 })), /"group finance" was added/],
    ['expires shortened', set((q) => Object.assign(ap(q), { expires: '30m' })), /waits 30m for approval instead of 1h/],
  ])('%s strengthens', (_n, edit, why) => {
    const after = edited(start, edit);
    const c = classifyChange(start, after);
    expect(c).toMatchObject({ weakens: false, strengthens: true });
    expect(c.changes.map((x) => x.message)).toContainEqual(expect.stringMatching(why));
  });

  it('requesterStepUp false → true strengthens', () => {
    const off = edited(
      start,
      set((q) => Object.assign(ap(q), { requesterStepUp: false })),
    );
    const c = classifyChange(off, start);
    expect(c).toMatchObject({ weakens: false, strengthens: true });
    expect(c.changes[0]!.message).toMatch(/requester now steps up/);
  });

  it.each([
    ['groups reordered', set((q) => ap(q).approvers.reverse())],
    ['people reordered', set((q) => Object.assign(ap(q).approvers[1]!, { from: { people: ['dave', 'carol', 'bob'] } }))],
    ['the default expiry written out', set((q) => delete ap(q).expires)],
    ['requesterStepUp written out as its default', set((q) => Object.assign(ap(q), { requesterStepUp: true }))],
    ['the expiry spelled another way', set((q) => Object.assign(ap(q), { expires: '60m' }))],
  ])('%s is neither', (_n, edit) => {
    expect(verdict(start, edited(start, edit))).toBe('neither');
  });

  it('leaving expires out means 1h: from "30m" that is longer, so it weakens', () => {
    const short = edited(
      start,
      set((q) => Object.assign(ap(q), { expires: '30m' })),
    );
    const c = classifyChange(short, start);
    expect(c.weakens).toBe(true);
    expect(c.changes[0]!.message).toMatch(/waits 1h for approval instead of 30m/);
  });

  it('a stricter part does not hide a weaker one in the same change', () => {
    const after = edited(
      start,
      set((q) => {
        ap(q).approvers[0]!.count = 3; // stricter
        ap(q).expires = '7d'; // weaker
      }),
    );
    expect(classifyChange(start, after)).toMatchObject({ weakens: true, strengthens: false });
  });

  it('an approval shape this version cannot read weakens both ways (fail closed)', () => {
    const after = edited(
      start,
      set((q) => Object.assign(ap(q), { quorum: 'any' })),
    );
    expect(classifyChange(start, after).weakens).toBe(true);
    expect(classifyChange(after, start).weakens).toBe(true);
  });

  it('a rule without approval added before one with approval, over the same requests, weakens (shadowing)', () => {
    const after = edited(
      start,
      set((q) => q.rules.unshift(rule('quick-delete', '/api/projects/**', { methods: ['DELETE'] }))),
    );
    const c = classifyChange(start, after);
    expect(c.weakens).toBe(true);
    expect(c.changes.find((x) => x.kind === 'weakens' && x.rule === 'quick-delete')?.message).toMatch(
      /asks for less: webauthn, bound to the action, 300s instead of .*then approval by 1 of admins and 2 of bob, carol, dave/,
    );
  });

  it('a rule with the same approval and more added in front does not weaken', () => {
    const stricter = { ...approval(), approvers: [...approval().approvers, { from: { claimGroup: 'sre' }, count: 1 }] };
    const first = rule('first', '/api/projects/**', { methods: ['DELETE'] }, { approval: stricter });
    expect(
      classifyChange(
        start,
        edited(
          start,
          set((q) => q.rules.unshift(first)),
        ),
      ).weakens,
    ).toBe(false);
  });

  it('report-only rules may carry approval; turning one to enforce strengthens, back to report weakens', () => {
    const report = edited(
      start,
      set((q) => Object.assign(r0(q), { mode: 'report' })),
    );
    expect(verdict(report, start)).toBe('strengthens');
    expect(verdict(start, report)).toBe('weakens');
  });
});

describe('organisation baseline and require.approval', () => {
  const baseline = { version: 1 as const, rules: [rule('payouts', '/api/payouts/**', {}, { approval: approval() })] };
  const check = (own: Policy) => classifyChange(baselineFloor(baseline, own), withBaselineRules(baseline, own));

  it("keeps the baseline rule's approval in every app (the merged rule carries it)", () => {
    const merged = withBaselineRules(baseline, doc([]));
    expect(merged.rules[0]).toMatchObject({ id: 'baseline.payouts', require: { approval: approval() } });
  });

  // The baseline's rules come first, so an app rule takes their requests only through a method a
  // request may claim that the baseline rule does not cover. (Any app rule on those paths read as
  // weakening before the classifier knew that a direct match no longer beats an earlier rule.)
  const postOnly = { version: 1 as const, rules: [rule('payouts', '/api/payouts/**', { methods: ['POST'] }, { approval: approval() })] };
  const checkPostOnly = (own: Policy) => classifyChange(baselineFloor(postOnly, own), withBaselineRules(postOnly, own));

  it('an app rule over the same requests without the approval weakens the baseline where a request can claim its method', () => {
    const own = doc([rule('pay', '/api/payouts/*')]);
    const c = checkPostOnly(own);
    expect(c.weakens).toBe(true);
    expect(c.changes.find((x) => x.kind === 'weakens')?.message).toMatch(/then approval by 1 of admins/);
    // The hole, in the gateway's matcher: a POST claiming DELETE meets the app's rule first.
    const merged = compilePolicy(withBaselineRules(postOnly, own));
    expect(merged.match('h', ['DELETE', 'POST'], ['api', 'payouts', '7'])?.rule.id).toBe('pay');
    expect(merged.match('h', ['POST'], ['api', 'payouts', '7.json'])?.rule.id).toBe('baseline.payouts');
  });

  it("an app rule under the baseline rule's methods, or with the same approval (or more), does not", () => {
    expect(check(doc([rule('pay', '/api/payouts/*', { methods: ['POST'] })])).weakens).toBe(false);
    expect(checkPostOnly(doc([rule('pay', '/api/payouts/*', { methods: ['POST'] })])).weakens).toBe(false);
    const more = { ...approval(), expires: '30m' };
    expect(checkPostOnly(doc([rule('pay', '/api/payouts/*', {}, { approval: more })])).weakens).toBe(false);
  });
});
