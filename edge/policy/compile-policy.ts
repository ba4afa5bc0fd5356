/**
 * @module compilePolicy: turn a validated policy into a matcher whose cost depends on the
 * request path's length, not on the number of rules (segment tries per host: rule-trie.ts). Report-only rules
 * (`"mode": "report"`) live in a trie of their own: `match` never sees them, so they can never
 * shadow an enforce rule, and a policy without them matches exactly as before.
 */
import { type CompiledApproval, compileApproval } from './compile-approval';
import { foldCase } from './fold';
import { methodRank, RuleTable, type TrieEntry } from './rule-trie';
import { durationSeconds, PATH_PATTERN_CHARS, pathCharProblem, type Factor, type Policy, type Rule, type RuleMode } from './schema';

export type { ApproverGroup, ApproverSource, CompiledApproval, Role } from './compile-approval';

/** A rule as the step-up middleware uses it. */
export interface CompiledRule {
  id: string;
  /** Position in the policy file; the first matching rule wins. */
  index: number;
  factors: readonly Factor[];
  bind: 'session' | 'action';
  maxAgeSeconds: number;
  /** `enforce`: matched by `match`; `report`: only by `reportMatches`, never challenges. */
  mode: RuleMode;
  /** `require.approval`: other people approve the exact request before it is forwarded; null when the rule has none. */
  approval: CompiledApproval | null;
  source: Rule;
}

export interface RuleMatch {
  rule: CompiledRule;
  /** The method (actual, HEAD-as-GET or claimed by an override) under which the rule matched. */
  method: string;
}

/** The compiled form of a policy. */
export interface CompiledPolicy {
  policy: Policy;
  rules: readonly CompiledRule[];
  caseSensitive: boolean;
  maxInspectBytes: number;
  /** Whether the gateway serves this host at all (policy `hosts`; every host when absent). */
  servesHost(hostname: string): boolean;
  /** The first enforce rule (in file order) that covers one of `methods` for this host and path. */
  match(hostname: string, methods: readonly string[], segments: readonly string[]): RuleMatch | null;
  /** Whether any rule is `"mode": "report"` (when not, the request path never asks `reportMatches`). */
  hasReportRules: boolean;
  /**
   * The report rules that would take this request if each alone were enforced: it matches, and
   * `match` with that one rule added would pick it (no enforce rule before it, or claiming the
   * method first, takes the request). Empty when there are no report rules.
   */
  reportMatches(hostname: string, methods: readonly string[], segments: readonly string[]): RuleMatch[];
  /** Whether any rule covers this host and path under some method (decides whether a form body is inspected). */
  pathMayMatch(hostname: string, segments: readonly string[]): boolean;
}

/** The path's last segment without its extension (`ban.json` → `ban`), or null when it has none. */
const withoutExtension = (segments: readonly string[]): string | null => {
  const last = segments.at(-1);
  const dot = last ? last.indexOf('.') : -1;
  return dot > 0 ? last!.slice(0, dot) : null;
};

/** The method a match is reported under: the one at `rank`, or for `*` the rule's first (else the request's own). */
const methodAt = (e: TrieEntry<CompiledRule>, methods: readonly string[], rank: number): string => {
  const m = methods[rank]!;
  return m === '*' ? (e.firstMethod ?? methods.find((x) => x !== '*')!) : m;
};

/** Compile a validated policy. Patterns are folded like request paths unless `caseSensitive`. */
export function compilePolicy(policy: Policy): CompiledPolicy {
  const caseSensitive = policy.caseSensitive ?? false;
  const norm = caseSensitive ? (s: string) => s : foldCase;
  const globs = new Map<string, RegExp>();
  const enforced = new RuleTable<CompiledRule>(globs);
  const reported = new RuleTable<CompiledRule>(globs);
  const rules: CompiledRule[] = [];

  // One array per distinct pattern and one string per distinct segment: the same `/admin/**` on
  // 1,000 hosts is split, checked and folded once, and the tries share their keys.
  const patterns = new Map<string, readonly string[]>();
  const interned = new Map<string, string>();
  const intern = (seg: string): string => {
    let s = interned.get(seg);
    if (s === undefined) {
      // A glob's literal parts are folded one by one, as pattern-coverage.ts reads them.
      s = seg === '*' || seg === '**' ? seg : seg.split('*').map(norm).join('*');
      interned.set(seg, s);
    }
    return s;
  };
  /** A pattern's segments, folded. */
  const segmentsOf = (pattern: string): readonly string[] => {
    let segs = patterns.get(pattern);
    if (segs !== undefined) return segs;
    // The trie knows '*' and '**' only; anything else is a literal. Glob syntax it does not implement
    // ('?', '[0-9]', '{a,b}') or a hidden character would silently match nothing, so a pattern that
    // did not pass validatePolicy is refused here too.
    if (!PATH_PATTERN_CHARS.test(pattern)) throw new TypeError(`path pattern ${JSON.stringify(pattern)}: ${pathCharProblem(pattern)}`);
    segs = pattern
      .split('/')
      .filter((seg) => seg !== '')
      .map(intern);
    patterns.set(pattern, segs);
    return segs;
  };

  policy.rules.forEach((r, index) => {
    const rule: CompiledRule = {
      id: r.id,
      index,
      factors: r.require.factors,
      bind: r.require.bind,
      maxAgeSeconds: durationSeconds(r.require.maxAge ?? '5m'),
      mode: r.mode ?? 'enforce',
      approval: compileApproval(r.require.approval),
      source: r,
    };
    rules.push(rule);
    const listed = r.match.methods ? r.match.methods.flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m])) : null;
    const entry: TrieEntry<CompiledRule> = { rule, index, methods: listed && new Set(listed), firstMethod: listed?.[0] ?? null };
    const table = rule.mode === 'report' ? reported : enforced;
    const paths = Array.isArray(r.match.path) ? r.match.path : [r.match.path];
    const hosts = r.match.host === undefined ? [undefined] : Array.isArray(r.match.host) ? r.match.host : [r.match.host];
    for (const p of paths) {
      const segs = segmentsOf(p);
      for (const h of hosts) table.insert(h, segs, entry);
    }
  });

  enforced.freeze();
  reported.freeze();
  const hostSet = policy.hosts ? compileHostSet(policy.hosts) : null;
  const hasReportRules = rules.some((r) => r.mode === 'report');

  /**
   * The first enforce rule in file order that covers the request, for the first of `methods` any
   * rule covers. A rule matches the path or, when its last segment has an extension, the path
   * without it: Rails (`(.:format)`) and older Spring route `/users/5/ban.json` to the action of
   * `/users/5/ban`, so a rule for the latter must cover the former. Both are one candidate set, so
   * a later rule matching `4.json` directly never wins over an earlier one for `4`.
   */
  const match = (hostname: string, methods: readonly string[], segments: readonly string[]): RuleMatch | null => {
    const e = enforced.bestEntry(hostname, methods, segments, withoutExtension(segments));
    return e === null ? null : { rule: e.rule, method: methodAt(e, methods, enforced.lastRank) };
  };

  /**
   * What `match` would answer with each report rule enforced alone: the report rules matching the
   * path (or its extension-less variant) that would come before the enforce rule `match` picks.
   */
  const reportMatches = (hostname: string, methods: readonly string[], segments: readonly string[]): RuleMatch[] => {
    const stripped = withoutExtension(segments);
    const enforce = enforced.bestEntry(hostname, methods, segments, stripped);
    const [rank, index] = enforce === null ? [Number.POSITIVE_INFINITY, 0] : [enforced.lastRank, enforce.rule.index];
    const hits = new Map<CompiledRule, RuleMatch>();
    reported.each(hostname, segments, stripped, (e) => {
      const k = methodRank(e, methods);
      if (k < 0 || hits.has(e.rule) || k > rank || (k === rank && e.rule.index > index)) return;
      hits.set(e.rule, { rule: e.rule, method: methodAt(e, methods, k) });
    });
    return [...hits.values()].sort((a, b) => a.rule.index - b.rule.index);
  };

  return {
    policy,
    rules,
    caseSensitive,
    maxInspectBytes: policy.maxInspectBytes ?? 1024 * 1024,
    servesHost: (hostname) => hostSet === null || hostSet(hostname),
    match,
    hasReportRules,
    reportMatches: (hostname, methods, segments) => (hasReportRules ? reportMatches(hostname, methods, segments) : []),
    // '*' is every method; match() also tries the path without its extension (`ban.json` → `ban`).
    pathMayMatch: (hostname, segments) => match(hostname, ['*'], segments) !== null,
  };
}

function compileHostSet(hosts: readonly string[]): (hostname: string) => boolean {
  const exact = new Set(hosts.filter((h) => !h.startsWith('*.')));
  const suffixes = hosts.filter((h) => h.startsWith('*.')).map((h) => h.slice(1));
  return (h) => exact.has(h) || suffixes.some((s) => h.endsWith(s) && h.length > s.length);
}
