/**
 * @module compilePolicy: turn a validated policy into a matcher whose cost depends on the
 * request path's length, not on the number of rules (a segment trie per host).
 */
import { durationSeconds, PATH_PATTERN_CHARS, pathCharProblem, type Factor, type Policy, type Rule } from './schema';
import { foldCase } from './fold';

/** A rule as the step-up middleware uses it. */
export interface CompiledRule {
  id: string;
  /** Position in the policy file; the first matching rule wins. */
  index: number;
  factors: readonly Factor[];
  bind: 'session' | 'action';
  maxAgeSeconds: number;
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
const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The compiled form of a policy. */
export interface CompiledPolicy {
  policy: Policy;
  rules: readonly CompiledRule[];
  caseSensitive: boolean;
  maxInspectBytes: number;
  /** Whether the gateway serves this host at all (policy `hosts`; every host when absent). */
  servesHost(hostname: string): boolean;
  /** The first rule (in file order) that covers one of `methods` for this host and path. */
  match(hostname: string, methods: readonly string[], segments: readonly string[]): RuleMatch | null;
  /** Whether any rule covers this host and path under some method (decides whether a form body is inspected). */
  pathMayMatch(hostname: string, segments: readonly string[]): boolean;
}

/** Compile a validated policy. Patterns are folded like request paths unless `caseSensitive`. */
export function compilePolicy(policy: Policy): CompiledPolicy {
  const caseSensitive = policy.caseSensitive ?? false;
  const norm = caseSensitive ? (s: string) => s : foldCase;
  const anyHost = node();
  const exactHosts = new Map<string, TrieNode>();
  const wildcardHosts = new Map<string, TrieNode>();
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
      source: r,
    };
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

  const roots = (hostname: string): TrieNode[] => {
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

  /**
   * For each method in order (claimed overrides come first), the first rule in file order that
   * covers it; '*' stands for every method (an override Stepgate could not read exactly).
   */
  const matchSegments = (hostname: string, methods: readonly string[], segments: readonly string[]): RuleMatch | null => {
    const candidates: Entry[] = [];
    for (const root of roots(hostname)) collect(root, segments, 0, (e) => candidates.push(e));
    if (candidates.length === 0) return null;
    candidates.sort((a, b) => a.rule.index - b.rule.index);
    for (const m of methods) {
      const e = candidates.find((c) => c.methods === null || m === '*' || c.methods.has(m));
      if (e) return { rule: e.rule, method: m === '*' ? (e.methods ? [...e.methods][0]! : methods.find((x) => x !== '*')!) : m };
    }
    return null;
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
      const last = segments.at(-1);
      const dot = last ? last.indexOf('.') : -1;
      if (dot > 0) return matchSegments(hostname, methods, [...segments.slice(0, -1), last!.slice(0, dot)]);
      return null;
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
