/**
 * @module Rule shadowing: the gateway applies the FIRST rule in file order that matches, so a change
 * can weaken a rule without touching it, by letting a less strict rule apply to some of its requests
 * first. This finds those cases between two policy versions; weakening.ts reports them.
 *
 * Why the checks are what they are (B = the rule a request got before, A = the one it gets after;
 * B's own version after is at least as wide, or weakening.ts already reports it narrowed):
 * - A rule whose coverage is provably no wider than its old version's can take a request over from
 *   B only if it moved ahead of B (it was after B, it is now before B's new version), and only
 *   where their host and path patterns can overlap.
 * - A new rule, or one whose coverage grew (or cannot be proved not to), can take a request over
 *   wherever its host and path can overlap B's, WHATEVER the methods and order: a request can claim
 *   another method (`X-HTTP-Method-Override`, `_method`), and claimed methods are tried first; and
 *   a path matched directly wins over B reached by dropping an extension (`ban.json` → `ban`).
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

/** Rules `a` and `b` can match one request (any method), directly or, with `viaExtension`, by b's extension fallback. */
function mayMeet(a: Rule, b: Rule, viaExtension: boolean): boolean {
  if (!hostsMayOverlap(asList(a.match.host), asList(b.match.host))) return false;
  // Folding makes more paths meet, so it is the safe reading whichever policy is case-sensitive.
  const targets = pathsOf(b).flatMap((p) => {
    const ext = viaExtension ? extensionVariant(p) : null;
    return ext ? [p, ext] : [p];
  });
  return pathsOf(a).some((p) => targets.some((q) => pathsMayOverlap(p, q, caseFold)));
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
      const movedAhead = !grown && oldAt! > bi && ai < keptAt;
      if (!(grown ? mayMeet(a, b, true) : movedAhead && mayMeet(a, b, false))) return;
      if (out.length >= MAX_FINDINGS) {
        more++;
        return;
      }
      const why = grown
        ? 'can match some of the same requests (their hosts and paths can overlap; a request may claim another method, ' +
          'and a direct match wins over dropping an extension)'
        : `now comes before it and their hosts and paths can overlap`;
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
