/**
 * @module readSessionCookie: the one reading of the app's session cookie. A Cookie header that
 * another parser could read as a different session is refused, never guessed at.
 *
 * Why: origins disagree about duplicate and oddly spelled cookies. Express's `cookie` package keeps
 * the first duplicate and trims names; Django keeps the last; PHP keeps the first, URL-decodes
 * names and turns spaces and dots into underscores; several `Cookie` headers are joined with `; `
 * by some servers and `, ` by others. If Stepgate verified one spelling and the origin used
 * another, the attacker's step-up would carry out the victim's request. So the session cookie
 * must appear exactly once, spelled exactly, in every reading.
 */

/** What the Cookie header says about one cookie. */
export type CookieReading =
  | { kind: 'absent' }
  | { kind: 'one'; value: string }
  /** More than one cookie that some origin would read as this one, or an odd spelling of it. */
  | { kind: 'ambiguous'; why: string };

const ABSENT: CookieReading = { kind: 'absent' };

/**
 * A cookie name as the most lenient origin reads it: URL-decoded (PHP), whitespace trimmed
 * (Express, Django), lower-cased (case-insensitive frameworks), spaces and dots as underscores
 * and anything from `[` on dropped (PHP's array names).
 */
export function foldCookieName(raw: string): string {
  let name = raw;
  if (name.includes('%') || name.includes('+')) {
    try {
      name = decodeURIComponent(name.replace(/\+/g, ' '));
    } catch {
      // Not valid percent-encoding: PHP leaves such sequences as they are.
    }
  }
  const bracket = name.indexOf('[');
  if (bracket >= 0) name = name.slice(0, bracket);
  // Leading and trailing whitespace of any kind (tabs, NBSP, …) is trimmed by some parser.
  return name
    .replace(/^[\s\u0000-\u001f\u007f]+|[\s\u0000-\u001f\u007f]+$/g, '')
    .toLowerCase()
    .replace(/[ .]/g, '_');
}

/**
 * Read cookie `name` from a Cookie header (several headers arrive joined by `, ` or `; `).
 * `one` only when exactly one cookie-pair names it under every parser's rules and that pair is
 * spelled exactly `name=` (after the separator's spaces); otherwise `ambiguous`.
 */
export function readSessionCookie(header: string | null, name: string): CookieReading {
  if (header === null || header === '') return ABSENT;
  const target = foldCookieName(name);
  // Fast path: no pair can fold to the name unless its letters appear in some spelling.
  if (!mayName(header, target)) return ABSENT;
  let found: string | null = null;
  for (const part of header.split(';')) {
    // `,` separates pairs for some parsers (joined Cookie headers, Rack before 3, old PHP) and
    // not for others (Express, Django): a session pair next to a comma is read differently.
    const pairs = part.includes(',') ? part.split(',') : [part];
    for (const pair of pairs) {
      const eq = pair.indexOf('=');
      const rawName = eq < 0 ? pair : pair.slice(0, eq);
      if (foldCookieName(rawName) !== target) continue;
      if (pairs.length > 1) return { kind: 'ambiguous', why: 'the session cookie shares a comma-separated part (several Cookie headers?)' };
      if (eq < 0) return { kind: 'ambiguous', why: 'the session cookie has no value' };
      if (rawName.replace(/^ +/, '') !== name) return { kind: 'ambiguous', why: 'the session cookie is spelled in an unusual way' };
      if (found !== null) return { kind: 'ambiguous', why: 'the session cookie is present more than once' };
      found = pair.slice(eq + 1);
      // A value with whitespace (even around it), quotes or a backslash is cut, trimmed or unquoted
      // differently by different parsers (SimpleCookie ends it at a space, PHP keeps a trailing
      // one); a session token never has them.
      if (/[\s"\\\u0085]/.test(found)) return { kind: 'ambiguous', why: 'the session cookie value is not a single token' };
    }
  }
  // Why: parsers differ in more ways than any list of spellings covers (PHP turns a lone "[" into
  // "_", Python strips U+0085 and ends a pair at whitespace, Node origins read raw bytes as
  // Latin-1). So the name must not appear anywhere else where some parser could take it as the
  // start of a cookie: exactly once when Stepgate read it, never when it did not.
  const seen = nameMentions(header, target);
  if (seen !== (found === null ? 0 : 1)) return { kind: 'ambiguous', why: 'the session cookie name appears in another spelling' };
  return found === null ? ABSENT : { kind: 'one', value: found };
}

/** Characters that may precede a name's start inside a longer name (RFC 9110 tchar): no boundary after them. */
const NAME_CHAR = "a-z0-9!#$%&'*+\\^_`|~.-";
/** Whitespace some parser trims around a name: JavaScript's, Python's (U+001C-U+001F, U+0085). */
const AROUND = '[\\s\\u001c-\\u001f\\u0085]*';
const mentionPatterns = new Map<string, RegExp>();

/**
 * How many places in `header` some parser could read as the start of a cookie named `target`
 * (folded): the name after a boundary (anything but a name character: `;`, `,`, whitespace of any
 * kind, a control or non-ASCII character, the start), then optional whitespace and `[...]`, then
 * `=`. Checked on the URL-decoded, lower-cased header as it is, and as PHP reads names (`.`, `[`
 * and inner spaces as `_`), counting distinct positions.
 */
function nameMentions(header: string, target: string): number {
  let re = mentionPatterns.get(target);
  if (!re) {
    const name = target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    re = new RegExp(`(?<![${NAME_CHAR}])${name}${AROUND}(?:\\[[^\\]=;]*\\])?${AROUND}=`, 'g');
    mentionPatterns.set(target, re);
  }
  const lower = percentDecodeBytes(header).toLowerCase();
  const starts = new Set<number>();
  // PHP's view: "." and "[" inside a name become "_", and so does a space between name characters
  // (a leading space is stripped, so it stays a boundary).
  const php = lower.replace(/[.[]/g, '_').replace(/(?<=[^\s;,=]) (?=[^\s;,=])/g, '_');
  for (const variant of [lower, php]) {
    for (const m of variant.matchAll(re)) starts.add(m.index);
  }
  return starts.size;
}

/** `%XX` → that byte as a character and `+` → space, as PHP decodes names; never throws. */
const percentDecodeBytes = (s: string): string =>
  s.includes('%') || s.includes('+')
    ? s.replace(/\+/g, ' ').replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)))
    : s;

/**
 * Whether `header` could contain a pair whose name folds to `target`. Cheap and conservative:
 * true on any `%` or `+` (encoded names), else when the header, folded alike, contains the target.
 */
function mayName(header: string, target: string): boolean {
  if (header.includes('%') || header.includes('+')) return true;
  return header.toLowerCase().replace(/[ .[]/g, '_').includes(target);
}
