/**
 * @module Rule shadowing: the gateway applies the FIRST rule in file order that matches, so a change
 * can weaken a rule without touching it, by letting a less strict rule apply to some of its requests
 * first. This finds those cases between two policy versions; weakening.ts reports them.
 *
 * Why the checks are what they are (B = the rule a request got before, A = the one it gets after;
 * B's own version after, B', is at least as wide, or weakening.ts already reports it narrowed). A
 * rule "meets" B where their hosts and paths can overlap, directly or through the extension-less
 * retry (`ban.json` is matched as `ban` too, as one candidate set: compile-policy.ts), so a rule for
 * `/x/4` meets one for `/x/*.json`.
 * - A rule whose coverage is provably no wider than its old version's can take a request over from
 *   B only if it moved ahead of B (it was after B, it is now before B'), and only where they meet.
 * - A new rule, or one whose coverage grew (or cannot be proved not to), can take a request over
 *   wherever it meets B if it comes before B'. After B' it can only where it covers a method B'
 *   does not: a request may claim another method (`X-HTTP-Method-Override`, `_method`), claimed
 *   methods are tried first, and for each method the first rule in file order that covers it wins.
 *   For a method B' covers, B' (which still matches the request) comes first.
 * - Report-mode rules never take a request (compile-policy.ts matches them apart), so they neither
 *   protect nor shadow; a rule promoted from report to enforce counts as new, wherever it sits. A
 *   mode this version does not know is assumed to take requests without challenging (fail closed).
 */
import {
  asList,
  caseFold,
  exact,
  extensionVariant,
  hostsCover,
  hostsMayOverlap,
  methodsCover,
  type Norm,
  pathListCovers,
  pathsMayOverlap,
} from './pattern-coverage';
import { atLeastAsStrict, describeRequirement, type PolicyChange, requirementOf, ruleMode } from './policy-change';
import type { Policy, Rule } from './schema';

/** At most this many shadowing findings are listed one by one; the rest are counted in one more. */
const MAX_FINDINGS = 50;

const pathsOf = (r: Rule): readonly string[] => asList(r.match.path)!;

/**
 * Rule `a` (after) provably matches no request its old version `old` (before) did not. `norm` is the
 * policies' shared case folding; null when caseSensitive changed, which changes what every pattern matches.
 */
function noWiderThan(a: Rule, old: Rule, norm: Norm | null): boolean {
  return (
    norm !== null &&
    methodsCover(old.match.methods, a.match.methods) &&
    hostsCover(asList(old.match.host), asList(a.match.host)) &&
    pathListCovers(pathsOf(old), pathsOf(a), norm)
  );
}

/** A rule's path patterns with the paths that reach them by the extension-less retry (`/x/4` and `/x/4.*`). */
const withVariants = (r: Rule): { path: string; variant: boolean }[] =>
  pathsOf(r).flatMap((path) => {
    const ext = extensionVariant(path);
    return ext
      ? [
          { path, variant: false },
          { path: ext, variant: true },
        ]
      : [{ path, variant: false }];
  });

/**
 * Rules `a` and `b` can match one request (any method): each matches its path or its path without
 * the extension. Two variants never need comparing: both matching the extension-less path is a
 * direct overlap.
 */
function mayMeet(a: Rule, b: Rule): boolean {
  if (!hostsMayOverlap(asList(a.match.host), asList(b.match.host))) return false;
  // Folding makes more paths meet, so it is the safe reading whichever policy is case-sensitive.
  const [as, bs] = [withVariants(a), withVariants(b)];
  return as.some((p) => bs.some((q) => !(p.variant && q.variant) && pathsMayOverlap(p.path, q.path, caseFold)));
}

/** Every place `after` may hold a request that `before` protected with a rule to something less strict. */
export function shadowingChanges(before: Policy, after: Policy): PolicyChange[] {
  const sensitive = after.caseSensitive ?? false;
  const norm = (before.caseSensitive ?? false) !== sensitive ? null : sensitive ? exact : caseFold;
  const beforeAt = new Map(before.rules.map((r, i) => [r.id, i]));
  const afterAt = new Map(after.rules.map((r, i) => [r.id, i]));
  const out: PolicyChange[] = [];
  let more = 0;
  before.rules.forEach((b, bi) => {
    const keptAt = afterAt.get(b.id);
    if (keptAt === undefined) return; // reported as removed
    const need = requirementOf(b);
    after.rules.forEach((a, ai) => {
      if (ai === keptAt) return;
      const gives = requirementOf(a);
      if (gives.mode === 'report' || atLeastAsStrict(gives, need)) return;
      const oldAt = beforeAt.get(a.id);
      const old = oldAt === undefined ? undefined : before.rules[oldAt]!;
      // A rule that did not take requests before (new, or in report mode) takes new ones now.
      const grown = old === undefined || ruleMode(old) === 'report' || !noWiderThan(a, old, norm);
      const ahead = ai < keptAt;
      // After B', a rule takes B's requests only through a method B' does not cover (claimed first).
      const takes = grown ? ahead || !methodsCover(after.rules[keptAt]!.match.methods, a.match.methods) : ahead && oldAt! > bi;
      if (!takes || !mayMeet(a, b)) return;
      if (out.length >= MAX_FINDINGS) {
        more++;
        return;
      }
      const why = !ahead
        ? 'can match some of the same requests under a method it covers and the other does not (their hosts and paths can overlap, ' +
          'and a request may claim another method)'
        : grown
          ? 'comes before it and can match some of the same requests (their hosts and paths can overlap)'
          : 'now comes before it and their hosts and paths can overlap';
      out.push({
        kind: 'weakens',
        rule: a.id,
        field: grown ? 'match' : 'position',
        before: { rule: b.id, requires: describeRequirement(need) },
        after: { rule: a.id, requires: describeRequirement(gives) },
        message:
          `Rule "${a.id}" ${why}, so it may apply instead of rule "${b.id}" to requests "${b.id}" protected, ` +
          `and it asks for less: ${describeRequirement(gives)} instead of ${describeRequirement(need)}.`,
      });
    });
  });
  if (more)
    out.push({
      kind: 'weakens',
      rule: null,
      field: 'rules',
      before: undefined,
      after: undefined,
      message: `${more} more place(s) where a less strict rule may apply first to another rule's requests.`,
    });
  return out;
}
