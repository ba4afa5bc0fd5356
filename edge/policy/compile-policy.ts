/**
 * @module compilePolicy: turn a validated policy into a matcher whose cost depends on the
 * request path's length, not on the number of rules (a segment trie per host). Report-only rules
 * (`"mode": "report"`) live in a trie of their own: `match` never sees them, so they can never
 * shadow an enforce rule, and a policy without them matches exactly as before.
 */
import { type CompiledApproval, compileApproval } from './compile-approval';
import { foldCase } from './fold';
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

interface Entry {
  rule: CompiledRule;
  methods: ReadonlySet<string> | null;
}

interface TrieNode {
  literal: Map<string, TrieNode>;
  star?: TrieNode;
  globs?: { re: RegExp; node: TrieNode }[];
  globstar?: TrieNode;
  entries: Entry[];
}

const node = (): TrieNode => ({ literal: new Map(), entries: [] });

/** The tries of one kind of rule: any host, exact hosts, `*.suffix` hosts. */
interface RuleTable {
  anyHost: TrieNode;
  exactHosts: Map<string, TrieNode>;
  wildcardHosts: Map<string, TrieNode>;
}
const table = (): RuleTable => ({ anyHost: node(), exactHosts: new Map(), wildcardHosts: new Map() });
const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

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

/** Compile a validated policy. Patterns are folded like request paths unless `caseSensitive`. */
export function compilePolicy(policy: Policy): CompiledPolicy {
  const caseSensitive = policy.caseSensitive ?? false;
  const norm = caseSensitive ? (s: string) => s : foldCase;
  const enforced = table();
  const reported = table();
  const rules: CompiledRule[] = [];

  const insert = (root: TrieNode, pattern: string, entry: Entry): void => {
    // The trie knows '*' and '**' only; anything else is a literal. Glob syntax it does not implement
    // ('?', '[0-9]', '{a,b}') or a hidden character would silently match nothing, so a pattern that
    // did not pass validatePolicy is refused here too.
    if (!PATH_PATTERN_CHARS.test(pattern)) throw new TypeError(`path pattern ${JSON.stringify(pattern)}: ${pathCharProblem(pattern)}`);
    let n = root;
    for (const seg of pattern.split('/').filter((s) => s !== '')) {
      if (seg === '**') n = n.globstar ??= node();
      else if (seg === '*') n = n.star ??= node();
      else if (seg.includes('*')) {
        const src =
          '^' +
          seg
            .split('*')
            .map((p) => escapeRe(norm(p)))
            .join('.*') +
          '$';
        n.globs ??= [];
        let g = n.globs.find((x) => x.re.source === src);
        if (!g) {
          g = { re: new RegExp(src, 'su'), node: node() };
          n.globs.push(g);
        }
        n = g.node;
      } else {
        const key = norm(seg);
        let next = n.literal.get(key);
        if (!next) {
          next = node();
          n.literal.set(key, next);
        }
        n = next;
      }
    }
    n.entries.push(entry);
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
    const { anyHost, exactHosts, wildcardHosts } = rule.mode === 'report' ? reported : enforced;
    rules.push(rule);
    const methods = r.match.methods ? new Set(r.match.methods.flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]))) : null;
    const entry: Entry = { rule, methods };
    const paths = Array.isArray(r.match.path) ? r.match.path : [r.match.path];
    const hosts = r.match.host === undefined ? null : Array.isArray(r.match.host) ? r.match.host : [r.match.host];
    for (const p of paths) {
      if (hosts === null) insert(anyHost, p, entry);
      else
        for (const h of hosts) {
          const [map, key] = h.startsWith('*.') ? [wildcardHosts, h.slice(2)] : [exactHosts, h];
          let root = map.get(key);
          if (!root) {
            root = node();
            map.set(key, root);
          }
          insert(root, p, entry);
        }
    }
  });

  const roots = ({ anyHost, exactHosts, wildcardHosts }: RuleTable, hostname: string): TrieNode[] => {
    const out = [anyHost];
    const exact = exactHosts.get(hostname);
    if (exact) out.push(exact);
    if (wildcardHosts.size) {
      for (let i = hostname.indexOf('.'); i >= 0; i = hostname.indexOf('.', i + 1)) {
        const w = wildcardHosts.get(hostname.slice(i + 1));
        if (w) out.push(w);
      }
    }
    return out;
  };

  const collect = (n: TrieNode, segs: readonly string[], i: number, visit: (e: Entry) => void): void => {
    if (n.globstar) for (let j = i; j <= segs.length; j++) collect(n.globstar, segs, j, visit);
    if (i === segs.length) {
      for (const e of n.entries) visit(e);
      return;
    }
    const seg = segs[i]!;
    const lit = n.literal.get(seg);
    if (lit) collect(lit, segs, i + 1, visit);
    if (n.star) collect(n.star, segs, i + 1, visit);
    if (n.globs) for (const g of n.globs) if (g.re.test(seg)) collect(g.node, segs, i + 1, visit);
  };

  const hostSet = policy.hosts ? compileHostSet(policy.hosts) : null;

  /** Every entry of `t` for this host and path, in file order. */
  const candidatesOf = (t: RuleTable, hostname: string, segments: readonly string[]): Entry[] => {
    const candidates: Entry[] = [];
    for (const root of roots(t, hostname)) collect(root, segments, 0, (e) => candidates.push(e));
    return candidates.sort((a, b) => a.rule.index - b.rule.index);
  };

  /**
   * For each method in order (claimed overrides come first), the first rule in file order that
   * covers it; '*' stands for every method (an override Stepgate could not read exactly).
   */
  const pick = (candidates: readonly Entry[], methods: readonly string[]): RuleMatch | null => {
    for (const m of methods) {
      const e = candidates.find((c) => c.methods === null || m === '*' || c.methods.has(m));
      if (e) return { rule: e.rule, method: m === '*' ? (e.methods ? [...e.methods][0]! : methods.find((x) => x !== '*')!) : m };
    }
    return null;
  };

  const matchSegments = (hostname: string, methods: readonly string[], segments: readonly string[]): RuleMatch | null => {
    const candidates = candidatesOf(enforced, hostname, segments);
    return candidates.length === 0 ? null : pick(candidates, methods);
  };

  /** The path without the last segment's extension (`ban.json` → `ban`), which match() tries when nothing matched; else null. */
  const withoutExtension = (segments: readonly string[]): string[] | null => {
    const last = segments.at(-1);
    const dot = last ? last.indexOf('.') : -1;
    return dot > 0 ? [...segments.slice(0, -1), last!.slice(0, dot)] : null;
  };

  /** What `match` would answer with report rule `r` enforced too: the same two tries, with r's entries among the candidates. */
  const reportMatches = (hostname: string, methods: readonly string[], segments: readonly string[]): RuleMatch[] => {
    const stripped = withoutExtension(segments);
    const tries = [segments, ...(stripped ? [stripped] : [])].map((segs) => ({
      enforce: candidatesOf(enforced, hostname, segs),
      report: candidatesOf(reported, hostname, segs),
    }));
    const ids = new Set(tries.flatMap((t) => t.report.map((e) => e.rule)));
    const hits: RuleMatch[] = [];
    for (const rule of ids) {
      for (const t of tries) {
        const mine = t.report.filter((e) => e.rule === rule);
        const found = pick(
          [...t.enforce, ...mine].sort((a, b) => a.rule.index - b.rule.index),
          methods,
        );
        if (found === null) continue; // nothing on this try: match() goes on to the path without its extension
        if (found.rule === rule) hits.push(found);
        break;
      }
    }
    return hits;
  };

  return {
    policy,
    rules,
    caseSensitive,
    maxInspectBytes: policy.maxInspectBytes ?? 1024 * 1024,
    servesHost: (hostname) => hostSet === null || hostSet(hostname),
    match(hostname, methods, segments) {
      const found = matchSegments(hostname, methods, segments);
      if (found) return found;
      // Rails (`(.:format)`) and older Spring route `/users/5/ban.json` to the action of
      // `/users/5/ban`; a rule for the latter must cover the former.
      const stripped = withoutExtension(segments);
      return stripped ? matchSegments(hostname, methods, stripped) : null;
    },
    hasReportRules: rules.some((r) => r.mode === 'report'),
    reportMatches(hostname, methods, segments) {
      return this.hasReportRules ? reportMatches(hostname, methods, segments) : [];
    },
    pathMayMatch(hostname, segments) {
      // '*' is every method; match() also tries the path without its extension (`ban.json` → `ban`).
      return this.match(hostname, ['*'], segments) !== null;
    },
  };
}

function compileHostSet(hosts: readonly string[]): (hostname: string) => boolean {
  const exact = new Set(hosts.filter((h) => !h.startsWith('*.')));
  const suffixes = hosts.filter((h) => h.startsWith('*.')).map((h) => h.slice(1));
  return (h) => exact.has(h) || suffixes.some((s) => h.endsWith(s) && h.length > s.length);
}
