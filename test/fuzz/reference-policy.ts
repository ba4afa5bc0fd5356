/**
 * @module An independent reading of docs/policy.md ("Path patterns", "Which rule applies"), written
 * without looking at the trie in compile-policy.ts: a slow, obvious matcher the fuzz targets compare
 * Stepgate's compiled policy against, and the ways real origins compare path segments
 * case-insensitively (so a spelling an origin routes to a protected path can be recognised).
 */

/** The parts of a policy rule the matcher needs (a validated policy's rules fit this shape). */
export interface RefRule {
  id: string;
  match: { methods?: readonly string[]; path: string | readonly string[]; host?: string | readonly string[] };
}

export interface RefMatch {
  id: string;
  /** The method under which the rule applied ('*' when an unreadable override made every method count). */
  method: string;
}

/** How a pattern's literal text compares with a request segment. */
export type SegmentEquals = (patternText: string, segment: string) => boolean;

const list = <T>(v: T | readonly T[] | undefined): readonly T[] | undefined =>
  v === undefined ? undefined : Array.isArray(v) ? v : [v as T];

/** `*.example.com` is any subdomain of example.com, not example.com itself. */
const hostMatches = (pattern: string, hostname: string): boolean =>
  pattern.startsWith('*.') ? hostname.endsWith(pattern.slice(1)) && hostname.length > pattern.length - 1 : hostname === pattern;

/** Methods absent: every method. `GET` also covers `HEAD`. `*`: an override Stepgate could not read, so any. */
const methodMatches = (methods: readonly string[] | undefined, m: string): boolean =>
  methods === undefined || m === '*' || methods.includes(m) || (m === 'HEAD' && methods.includes('GET'));

/**
 * Wildcard match inside one segment: `*` is any run of characters (possibly none). Brute force over
 * every placement of the literal pieces, each compared whole with `eq`; segments are short.
 */
function globMatches(pattern: string, segment: string, eq: SegmentEquals): boolean {
  const pieces = pattern.split('*');
  if (pieces.length === 1) return eq(pattern, segment);
  const s = [...segment];
  const same = (piece: string, a: number, e: number): boolean => (piece === '' ? a === e : e > a && eq(piece, s.slice(a, e).join('')));
  const place = (pi: number, pos: number): boolean => {
    const piece = pieces[pi]!;
    const last = pi === pieces.length - 1;
    for (let a = pos; a <= s.length; a++) {
      if (pi === 0 && a !== 0) break; // the first piece is anchored at the start
      for (let e = a; e <= s.length; e++) {
        if (last && e !== s.length) continue; // the last piece is anchored at the end
        if (same(piece, a, e) && (last || place(pi + 1, e))) return true;
      }
    }
    return false;
  };
  return place(0, 0);
}

/** Whether pattern segments `pat[i..]` cover request segments `segs[j..]`. */
function pathMatches(pat: readonly string[], i: number, segs: readonly string[], j: number, eq: SegmentEquals): boolean {
  if (i === pat.length) return j === segs.length;
  const p = pat[i]!;
  if (p === '**') {
    for (let k = j; k <= segs.length; k++) if (pathMatches(pat, i + 1, segs, k, eq)) return true;
    return false;
  }
  if (j === segs.length) return false;
  const ok = p === '*' ? true : p.includes('*') ? globMatches(p, segs[j]!, eq) : eq(p, segs[j]!);
  return ok && pathMatches(pat, i + 1, segs, j + 1, eq);
}

const patternSegments = (pattern: string): string[] => pattern.split('/').filter((s) => s !== '');

function firstRule(
  rules: readonly RefRule[],
  hostname: string,
  methods: readonly string[],
  segs: readonly string[],
  eq: SegmentEquals,
): RefMatch | null {
  for (const m of methods) {
    for (const r of rules) {
      const hosts = list(r.match.host);
      if (hosts && !hosts.some((h) => hostMatches(h, hostname))) continue;
      if (!methodMatches(r.match.methods, m)) continue;
      if (!list(r.match.path)!.some((p) => pathMatches(patternSegments(p), 0, segs, 0, eq))) continue;
      return { id: r.id, method: m };
    }
  }
  return null;
}

/**
 * The rule that applies (docs/policy.md): claimed methods first, in the order given; for each, the
 * first rule in file order matching host, path and method. If none, and the last segment has an
 * extension (a dot after its first character), once more without it (from the first dot on).
 */
export function referenceMatch(
  rules: readonly RefRule[],
  hostname: string,
  methods: readonly string[],
  segments: readonly string[],
  eq: SegmentEquals,
): RefMatch | null {
  const found = firstRule(rules, hostname, methods, segments, eq);
  if (found) return found;
  const last = segments.at(-1);
  const dot = last === undefined ? -1 : last.indexOf('.');
  if (dot > 0) return firstRule(rules, hostname, methods, [...segments.slice(0, -1), last!.slice(0, dot)], eq);
  return null;
}

/**
 * The case folding Stepgate is meant to apply to case-insensitive paths (its doc comment: "also
 * catches ſ→s, K→k, ı→i"), plus İ→i, which Java's equalsIgnoreCase and Spring's PathPattern apply.
 */
export const fold = (s: string): string => s.replaceAll('\u0130', 'i').toUpperCase().toLowerCase();

// --- How origins compare a request segment with a route's literal, case-insensitively ---------

const cps = (s: string): string[] => [...s];
/** Java/.NET `Character.toUpperCase(ch)`: the simple (one-to-one) mapping. */
const simpleUpper = (c: string): string => {
  const u = c.toUpperCase();
  return cps(u).length === 1 ? u : c;
};
/** Java `Character.toLowerCase(ch)`: the simple mapping (İ → i, where JS's full mapping gives i + U+0307). */
const simpleLower = (c: string): string => {
  if (c === '\u0130') return 'i';
  const l = c.toLowerCase();
  return cps(l).length === 1 ? l : c;
};
const perChar = (a: string, b: string, same: (x: string, y: string) => boolean): boolean => {
  const x = cps(a);
  const y = cps(b);
  return x.length === y.length && x.every((c, i) => same(c, y[i]!));
};

/**
 * Case-insensitive comparisons real servers use for routing. A segment an origin would route to a
 * route's literal under any of these must be treated by Stepgate as that literal.
 */
export const ORIGIN_CASE_RULES: Record<string, SegmentEquals> = {
  /** Java `String.equalsIgnoreCase` (Spring `AntPathMatcher` with caseSensitive=false). */
  javaEqualsIgnoreCase: (p, s) =>
    perChar(p, s, (a, b) => a === b || simpleUpper(a) === simpleUpper(b) || simpleLower(simpleUpper(a)) === simpleLower(simpleUpper(b))),
  /** Spring `PathPattern` with caseSensitive=false: `Character.toLowerCase` of each request char. */
  springPathPattern: (p, s) => perChar(p, s, (a, b) => simpleLower(a) === simpleLower(b)),
  /** .NET `StringComparison.OrdinalIgnoreCase` (ASP.NET Core routing, IIS). */
  dotnetOrdinalIgnoreCase: (p, s) => perChar(p, s, (a, b) => simpleUpper(a) === simpleUpper(b)),
  /** Hand-written JS/Python routers: `a.toLowerCase() === b.toLowerCase()`. */
  fullLower: (p, s) => p.toLowerCase() === s.toLowerCase(),
  /** … or `a.toUpperCase() === b.toUpperCase()` (ſ → S, ı → I, ß → SS). */
  fullUpper: (p, s) => p.toUpperCase() === s.toUpperCase(),
};

/** Some origin routes `s` to the literal `p`. */
export const anyOriginEquals: SegmentEquals = (p, s) => {
  if (p === s) return true;
  for (const eq of Object.values(ORIGIN_CASE_RULES)) if (eq(p, s)) return true;
  return false;
};

/** Which origin rule (if any) routes `s` to `p`, for messages. */
export const originRuleFor = (p: string, s: string): string | null => {
  if (p === s) return 'exact';
  for (const [name, eq] of Object.entries(ORIGIN_CASE_RULES)) if (eq(p, s)) return name;
  return null;
};
