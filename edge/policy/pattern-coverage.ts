/**
 * @module Pattern coverage: whether one rule's path, host and method patterns provably cover
 * another's, and whether two can match a common request. The semantics are compile-policy.ts's:
 * segments split on "/" (empty ones dropped), `**` any number of segments, `*` exactly one, `a*b`
 * a glob inside one segment, literals folded with foldCase unless the policy is case-sensitive.
 *
 * Both answers lean the safe way for the weakening classifier: `…Covers` says true only when it can
 * prove it (a true superset it cannot prove reads as narrowing: weakening); `…MayOverlap` says false
 * only when the two provably share no request.
 */
import { foldCase } from './fold';

export type Norm = (s: string) => string;
export const caseFold: Norm = foldCase;
export const exact: Norm = (s) => s;

/**
 * Longer patterns are not analysed: they are treated as unprovable (not covering, maybe overlapping),
 * which bounds the work a pasted policy can cause.
 */
const MAX_SEGMENTS = 64;

export const segmentsOf = (pattern: string): string[] => pattern.split('/').filter((s) => s !== '');
export const asList = <T>(v: T | readonly T[] | undefined): readonly T[] | undefined =>
  v === undefined ? undefined : Array.isArray(v) ? (v as readonly T[]) : [v as T];

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The same regular expression compile-policy.ts builds for a glob segment. */
const globRe = (seg: string, norm: Norm): RegExp =>
  new RegExp(
    `^${seg
      .split('*')
      .map((p) => escapeRe(norm(p)))
      .join('.*')}$`,
    'su',
  );
/** Every segment `b` can match is matched by `a` (neither is `**`). */
function segmentCovers(a: string, b: string, norm: Norm): boolean {
  if (a === '*') return true;
  if (b === '*') return false;
  if (!a.includes('*')) return !b.includes('*') && norm(a) === norm(b);
  if (!b.includes('*')) return globRe(a, norm).test(norm(b));
  if (a === b) return true;
  // a = pre*suf: every match of b starts with b's head and ends with b's tail, and is at least as long
  // as both, so it matches a when b's head starts with pre and b's tail ends with suf.
  const ap = a.split('*');
  const bp = b.split('*');
  if (ap.length !== 2) return false;
  return norm(bp[0]!).startsWith(norm(ap[0]!)) && norm(bp.at(-1)!).endsWith(norm(ap[1]!));
}

/** Some segment matches both (neither is `**`). */
function segmentsMayOverlap(x: string, y: string, norm: Norm): boolean {
  if (x === '*' || y === '*') return true;
  if (!x.includes('*') && !y.includes('*')) return norm(x) === norm(y);
  if (!x.includes('*')) return globRe(y, norm).test(norm(x));
  if (!y.includes('*')) return globRe(x, norm).test(norm(y));
  const [xp, yp] = [x.split('*').map(norm), y.split('*').map(norm)];
  const [x0, y0, x1, y1] = [xp[0]!, yp[0]!, xp.at(-1)!, yp.at(-1)!];
  return (x0.startsWith(y0) || y0.startsWith(x0)) && (x1.endsWith(y1) || y1.endsWith(x1));
}

/** Memoized walk over two segment lists; `step` decides one position from the ones after it. */
function walk(b: string[], step: (i: number, j: number, next: (i: number, j: number) => boolean) => boolean): boolean {
  const memo = new Map<number, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = i * (b.length + 1) + j;
    let v = memo.get(key);
    if (v === undefined) {
      memo.set(key, false); // a cycle cannot happen (every step advances), but never loop
      v = step(i, j, go);
      memo.set(key, v);
    }
    return v;
  };
  return go(0, 0);
}

/** Every path pattern `b` matches is matched by pattern `a` (sufficient, not complete). */
export function pathCovers(a: string, b: string, norm: Norm): boolean {
  const [as, bs] = [segmentsOf(a), segmentsOf(b)];
  if (as.length > MAX_SEGMENTS || bs.length > MAX_SEGMENTS) return false;
  return walk(bs, (i, j, next) => {
    if (i === as.length) return j === bs.length;
    if (as[i] === '**') return next(i + 1, j) || (j < bs.length && next(i, j + 1));
    if (j === bs.length || bs[j] === '**') return false;
    return segmentCovers(as[i]!, bs[j]!, norm) && next(i + 1, j + 1);
  });
}

/** Some path is matched by both patterns (false only when provably none is). */
export function pathsMayOverlap(x: string, y: string, norm: Norm): boolean {
  const [xs, ys] = [segmentsOf(x), segmentsOf(y)];
  if (xs.length > MAX_SEGMENTS || ys.length > MAX_SEGMENTS) return true;
  return walk(ys, (i, j, next) => {
    if (i === xs.length && j === ys.length) return true;
    if (i < xs.length && xs[i] === '**' && (next(i + 1, j) || (j < ys.length && next(i, j + 1)))) return true;
    if (j < ys.length && ys[j] === '**' && (next(i, j + 1) || (i < xs.length && next(i + 1, j)))) return true;
    if (i === xs.length || j === ys.length || xs[i] === '**' || ys[j] === '**') return false;
    return segmentsMayOverlap(xs[i]!, ys[j]!, norm) && next(i + 1, j + 1);
  });
}

/**
 * The paths a request can have when the gateway falls back to `pattern` by dropping an extension
 * (`/users/5/ban.json` is tried as `/users/5/ban`): the last literal segment with `.*` appended.
 * Null when the pattern has no segment to extend.
 */
export function extensionVariant(pattern: string): string | null {
  const segs = segmentsOf(pattern);
  let k = segs.length - 1;
  while (k >= 0 && segs[k] === '**') k--;
  if (k < 0) return null;
  return `/${[...segs.slice(0, k), `${segs[k]}.*`].join('/')}`;
}

/** Whether host pattern `a` covers every host `b` names (`*.x` is any subdomain of x, not x itself). */
const hostCovers = (a: string, b: string): boolean =>
  a === b || (a.startsWith('*.') && (b.startsWith('*.') ? b.slice(1).endsWith(a.slice(1)) : b.endsWith(a.slice(1))));

const hostsMeet = (a: string, b: string): boolean => hostCovers(a, b) || hostCovers(b, a);

/** Rule hosts `a` (absent = every host) cover rule hosts `b`. */
export function hostsCover(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined) return true;
  if (b === undefined) return false;
  return b.every((h) => a.some((g) => hostCovers(g, h)));
}

export function hostsMayOverlap(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  return a === undefined || b === undefined || a.some((g) => b.some((h) => hostsMeet(g, h)));
}

/** A rule's methods as the matcher sees them (`GET` also covers `HEAD`); null = every method. */
export const methodSet = (methods: readonly string[] | undefined): Set<string> | null =>
  methods ? new Set(methods.flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]))) : null;

export function methodsCover(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const [as, bs] = [methodSet(a), methodSet(b)];
  return as === null || (bs !== null && [...bs].every((m) => as.has(m)));
}

/** Every pattern in `b` is covered by one pattern in `a` (a union covering it together is not recognised). */
export const pathListCovers = (a: readonly string[], b: readonly string[], norm: Norm): boolean =>
  b.every((q) => a.some((p) => pathCovers(p, q, norm)));
