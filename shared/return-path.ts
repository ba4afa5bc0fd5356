/**
 * @module The "way back" a page offers or a redirect carries (`return_to`, `?return=`): only ever a
 * path on this same site, so no link or redirect Stepgate builds from a request can be an open
 * redirect. Pure, no DOM: used by the request path and by page scripts alike.
 */

/** Longest way back kept; a longer one is dropped rather than cut (a cut path is a different page). */
const MAX_LENGTH = 2048;

/**
 * Control characters (C0, C1), whitespace, line and paragraph separators, and backslashes: browsers
 * read `\` as `/`, and strip tabs and line breaks from URLs (so `/\t/evil.example` is `//evil.example`).
 */
const UNSAFE = /[\u0000-\u0020\u007f-\u009f\u2028\u2029\\]/;

/** `.` or `..` as a whole path segment, also percent-encoded (`%2e`): resolving `/..//evil.example` gives `//evil.example`. */
const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i;

/** Any origin: only the path resolved against it matters. */
const SOME_ORIGIN = 'https://return-path.invalid';

/** The path part of a candidate: before its query or fragment. */
const pathPart = (p: string): string => p.split(/[?#]/, 1)[0]!;

/**
 * Whether `p` is a single-slash path with nothing a browser could read as another host: it starts
 * with one `/`, holds nothing unsafe and no dot segment, and resolved as a URL its path still starts
 * with one `/` on the same origin.
 */
function isPlainPath(p: string): boolean {
  if (!p.startsWith('/') || p.startsWith('//') || UNSAFE.test(p) || DOT_SEGMENT.test(pathPart(p))) return false;
  let resolved: URL;
  try {
    resolved = new URL(p, SOME_ORIGIN);
  } catch {
    return false;
  }
  return resolved.origin === SOME_ORIGIN && !resolved.pathname.startsWith('//');
}

/**
 * `candidate` when it is a path on this site (`/admin?tab=2`), else null: it starts with one `/`,
 * never `//` or `/\`, holds no backslash, space or control character and no `.` or `..` segment, and
 * decoded once (as an app might before redirecting) still does not — so `/%2F%2Fevil.example`,
 * `/%5Cevil.example`, `/%09/evil.example` and `/%2e%2e//evil.example` are refused.
 */
export function returnPath(candidate: string | null | undefined): string | null {
  if (typeof candidate !== 'string' || candidate.length === 0 || candidate.length > MAX_LENGTH) return null;
  if (!isPlainPath(candidate)) return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(candidate);
  } catch {
    return null;
  }
  return isPlainPath(decoded) ? candidate : null;
}

/** The path and query of `url` when it is on `origin` (e.g. a same-site `Referer`), checked by returnPath; else null. */
export function returnPathOfUrl(url: string | null | undefined, origin: string): string | null {
  if (typeof url !== 'string') return null;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  return u.origin === origin ? returnPath(`${u.pathname}${u.search}`) : null;
}
