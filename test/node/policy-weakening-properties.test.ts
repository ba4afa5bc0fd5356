/**
 * Property tests of the weakening classifier (edge/policy/weakening.ts) with fast-check, the strongest
 * against the gateway's own matcher (compile-policy.ts): whenever the classifier says a change does
 * not weaken, no generated request is held to less after it than before.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ApproverSource, type CompiledApproval, compilePolicy } from '../../edge/policy/compile-policy';
import { foldCase } from '../../edge/policy/fold';
import { caseFold, pathCovers, pathsMayOverlap } from '../../edge/policy/pattern-coverage';
import type { Rule } from '../../edge/policy/schema';
import { classifyChange } from '../../edge/policy/weakening';
import { validPolicy } from '../fuzz/policy';
import {
  doc,
  edited,
  heldTo,
  pair,
  request,
  rule,
  STRICTEST_APPROVAL,
  small,
  smallPolicy,
  smallRule,
  withoutUndefined,
} from './policy-weakening-fixtures';

describe('classifyChange properties', () => {
  it('identical documents are neither weakening nor strengthening, with no changes', () => {
    fc.assert(
      fc.property(fc.oneof(validPolicy, smallPolicy), (p) => {
        expect(classifyChange(p, structuredClone(p))).toEqual({ weakens: false, strengthens: false, changes: [] });
      }),
    );
  });

  it('a change and its inverse are never both strengthening', () => {
    fc.assert(
      fc.property(fc.oneof(fc.tuple(validPolicy, validPolicy), pair), ([p, q]) => {
        expect(classifyChange(p, q).strengthens && classifyChange(q, p).strengthens).toBe(false);
      }),
    );
  });

  it('removing any rule weakens', () => {
    fc.assert(
      fc.property(fc.oneof(validPolicy, smallPolicy), fc.nat(), (p, n) => {
        fc.pre(p.rules.length > 0);
        const q = edited(p, (x) => void x.rules.splice(n % p.rules.length, 1));
        expect(classifyChange(p, q).weakens).toBe(true);
      }),
    );
  });

  it('adding a rule never weakens when it asks at least as much as every rule, or cannot meet any', () => {
    fc.assert(
      fc.property(smallPolicy, smallRule('new'), fc.nat(), fc.boolean(), (p, r, at, isolated) => {
        const added = withoutUndefined(r) as Rule;
        delete added.mode;
        if (isolated) added.match.host = 'isolated.example.net';
        else added.require = { factors: ['webauthn'], bind: 'action', maxAge: '1m', approval: STRICTEST_APPROVAL };
        fc.pre(isolated ? p.rules.every((x) => x.match.host !== undefined) : p.rules.every((x) => x.require.factors.includes('webauthn')));
        const q = edited(p, (x) => void x.rules.splice(at % (p.rules.length + 1), 0, added));
        expect(classifyChange(p, q).weakens).toBe(false);
      }),
    );
  });

  it('when a change does not weaken, the gateway holds no request to less than before', () => {
    const compiled = (r: Rule) => compilePolicy({ version: 1, rules: [r] }).rules[0]!;
    // Approval at least as strict, read from the compiled form: every group of b's (same approvers,
    // people as a set) is in a's with a count as high, no longer a wait, the requester's step-up kept.
    const key = (f: ApproverSource) => JSON.stringify('people' in f ? { people: [...f.people].sort() } : f);
    const approvalStrict = (a: CompiledApproval | null, b: CompiledApproval | null) =>
      b === null ||
      (a !== null &&
        b.approvers.every((g) => a.approvers.some((h) => key(h.from) === key(g.from) && h.count >= g.count)) &&
        a.expiresSeconds <= b.expiresSeconds &&
        (a.requesterStepUp || !b.requesterStepUp));
    const strict = (a: Rule | null, b: Rule | null) =>
      b === null ||
      (a?.require.factors.every((f) => b.require.factors.includes(f)) &&
        (a.require.bind === b.require.bind || a.require.bind === 'action') &&
        compiled(a).maxAgeSeconds <= compiled(b).maxAgeSeconds &&
        approvalStrict(compiled(a).approval, compiled(b).approval));
    fc.assert(
      fc.property(pair, fc.array(request, { minLength: 20, maxLength: 20 }), ([p, q], requests) => {
        if (classifyChange(p, q).weakens) return;
        for (const r of requests) expect(strict(heldTo(q, r), heldTo(p, r)), JSON.stringify(r)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('pattern containment and overlap agree with the gateway matcher', () => {
    const matches = (pattern: string, segs: string[]) => compilePolicy(doc([rule('r', pattern)])).match('h', ['GET'], segs) !== null;
    // Dot-free segments: the extension fallback would let one pattern match through another's path.
    const segs = fc.array(fc.constantFrom('a', 'b', 'ban', 'A', 'xan'), { maxLength: 4 }).map((x) => x.map(foldCase));
    fc.assert(
      fc.property(small, small, segs, (a, b, w) => {
        if (pathCovers(a, b, caseFold) && matches(b, w)) expect(matches(a, w)).toBe(true);
        if (!pathsMayOverlap(a, b, caseFold)) expect(matches(a, w) && matches(b, w)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});
