/**
 * @module maskPath(): a path with its secret-looking segments replaced by `*`, before a route is stored
 * for replay (route-recorder.ts) or counted by a report-only rule (report-counter.ts). Apps put
 * secrets in paths — password-reset and magic-link tokens, invite codes, signed ids — and those
 * stores are read by everyone with `policy.read` (app-admins, admin:read tokens), so they must never
 * hold them. A segment is masked when it has at least MASK_MIN_CHARS characters and looks random:
 * made only of hex digits (and `-`: digests, UUIDs), mixing character classes (letters and digits,
 * or upper and lower case: base64url, JWTs), or a run of MASK_RUN_CHARS letters and digits with no
 * separator. Short ids (`7`, `2024`) and lower-case slugs (`getting-started-with-stepgate`) stay.
 * It errs on the side of masking: a masked route replays as the rule's `*` would match it, so
 * replay loses a little precision, never a secret. Pure; one pass over the path, and no allocation
 * when nothing is masked (it runs on each recorded request).
 */

/** Segments shorter than this are kept: ids, dates, words. */
export const MASK_MIN_CHARS = 16;
/** A run of this many letters and digits with no separator is masked even in one case (random lower-case tokens). */
export const MASK_RUN_CHARS = 24;
/** What a masked segment becomes. */
export const MASK = '*';

const SLASH = 47;
const DASH = 45;

/** Whether path[from, to) looks like a secret (the caller has checked its length). */
function secretLike(path: string, from: number, to: number): boolean {
  let lower = false;
  let upper = false;
  let digit = false;
  let hexOnly = true;
  let run = 0;
  let longestRun = 0;
  for (let i = from; i < to; i++) {
    const c = path.charCodeAt(i);
    const isLower = c >= 97 && c <= 122;
    const isUpper = c >= 65 && c <= 90;
    const isDigit = c >= 48 && c <= 57;
    if (isLower) lower = true;
    else if (isUpper) upper = true;
    else if (isDigit) digit = true;
    if (!(isDigit || (c >= 97 && c <= 102) || (c >= 65 && c <= 70) || c === DASH)) hexOnly = false;
    if (isLower || isUpper || isDigit) {
      run++;
      if (run > longestRun) longestRun = run;
    } else run = 0;
  }
  const classes = Number(lower) + Number(upper) + Number(digit);
  // Why each: hex (digests, UUIDs, long numbers) and mixed classes (base64url, JWTs) are how tokens are
  // written; a long unbroken run catches a random token in one case, where no word is that long.
  return (hexOnly && (lower || upper || digit)) || classes >= 2 || longestRun >= MASK_RUN_CHARS;
}

/**
 * `path` with every secret-looking segment replaced by MASK (`/reset/Zq8fX…` → `/reset/*`); the same
 * string when nothing is masked. Works on anything split by `/`, so also on a stored route
 * (`GET /reset/…`, report-counter.ts) whose first segment holds the method.
 */
export function maskPath(path: string): string {
  const n = path.length;
  if (n < MASK_MIN_CHARS) return path;
  let out = '';
  /** Where the text not yet copied to `out` starts. */
  let copied = 0;
  let start = 0;
  for (let i = 0; i <= n; i++) {
    if (i < n && path.charCodeAt(i) !== SLASH) continue;
    if (i - start >= MASK_MIN_CHARS && secretLike(path, start, i)) {
      out += path.slice(copied, start) + MASK;
      copied = i;
    }
    start = i + 1;
  }
  return copied === 0 ? path : out + path.slice(copied);
}
