/**
 * @module Differential property for the session cookie: Stepgate's reading against the cookie
 * parsers real origins use, over generated Cookie headers. Whenever Stepgate accepts a header, every
 * reference parser finds the same session value (or none); used by the seed test and `npm run fuzz`.
 */
import { parse as parseExpress } from 'cookie';
import fc from 'fast-check';
import { readSessionCookie } from '../../edge/identity/session-cookie';

export const SESSION = 'demo_session';

/** Django's `parse_cookie`: split on `;`, strip key and value, last duplicate wins. */
export function parseDjango(header: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const chunk of header.split(';')) {
    const eq = chunk.indexOf('=');
    const key = (eq >= 0 ? chunk.slice(0, eq) : '').replace(/^\s+|\s+$/g, '');
    const val = (eq >= 0 ? chunk.slice(eq + 1) : chunk).replace(/^\s+|\s+$/g, '');
    if (key || val) out.set(key, val);
  }
  return out;
}

const urlDecode = (s: string): string => {
  const plus = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
  }
};

/**
 * PHP's `$_COOKIE`: split on `;`, leading whitespace skipped, names URL-decoded, spaces and dots
 * become `_`, `name[...]` is an array (its own name), an unmatched `[` becomes `_`; first wins.
 */
export function parsePhp(header: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const chunk of header.split(';')) {
    const eq = chunk.indexOf('=');
    if (eq < 0) continue;
    let name = urlDecode(chunk.slice(0, eq).replace(/^[ \t\n\r\v\f]+/, ''));
    if (name === '') continue;
    const open = name.indexOf('[');
    if (open >= 0) name = name.indexOf(']', open) > open ? name.slice(0, open) : `${name.slice(0, open)}_${name.slice(open + 1)}`;
    name = name.replace(/[ .]/g, '_');
    if (!out.has(name)) out.set(name, urlDecode(chunk.slice(eq + 1)));
  }
  return out;
}

/** Rack (Ruby) before 3.0: split on `;` and `,`, names and values unescaped and stripped, first wins. */
export function parseRack(header: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const chunk of header.split(/[;,] */)) {
    const eq = chunk.indexOf('=');
    if (eq < 0) continue;
    const name = urlDecode(chunk.slice(0, eq)).trim();
    if (!out.has(name)) out.set(name, urlDecode(chunk.slice(eq + 1)).trim());
  }
  return out;
}

/** Python's str.strip() whitespace (str.isspace), which JavaScript's \s does not match in full (U+0085, U+001C-U+001F). */
export const PY_SPACE = /^[\s\u001c-\u001f\u0085]+|[\s\u001c-\u001f\u0085]+$/g;
/**
 * The header as a Python WSGI app gets it: the wire bytes decoded as UTF-8. `text` is either already
 * decoded (what the Worker sees) or Latin-1 wire bytes (what Node's http module records at the origin).
 */
export const asPython = (text: string): string =>
  /[\u00c0-\u00ff][\u0080-\u00bf]/.test(text)
    ? new TextDecoder('utf-8').decode(Uint8Array.from(text, (ch) => ch.charCodeAt(0) & 0xff))
    : text;
/** Django's parse_cookie after get_str_from_wsgi: bytes → UTF-8 (replace), split on ";", strip, last wins. */
export function parseDjangoWire(header: string): Map<string, string> {
  const text = asPython(header);
  const out = new Map<string, string>();
  for (const chunk of text.split(';')) {
    const eq = chunk.indexOf('=');
    const [k, v] = eq >= 0 ? [chunk.slice(0, eq), chunk.slice(eq + 1)] : ['', chunk];
    const key = k.replace(PY_SPACE, '');
    const val = v.replace(PY_SPACE, '');
    if (key || val) out.set(key, val);
  }
  return out;
}
/** Werkzeug (Flask) reads the same way but keeps the first value (MultiDict.get). */
export function parseWerkzeugWire(header: string): Map<string, string> {
  const text = asPython(header);
  const out = new Map<string, string>();
  for (const chunk of text.split(';')) {
    const eq = chunk.indexOf('=');
    const key = (eq >= 0 ? chunk.slice(0, eq) : chunk).replace(PY_SPACE, '');
    if (key && !out.has(key)) out.set(key, (eq >= 0 ? chunk.slice(eq + 1) : '').replace(PY_SPACE, ''));
  }
  return out;
}

/** CPython's http.cookies._CookiePattern and SimpleCookie.load (last wins; `$` and reserved names are attributes). */
const LEGAL_KEY = "\\w\\d!#%&'~_`><@,:/\\$\\*\\+\\-\\.\\^\\|\\)\\(\\?\\}\\{\\=";
const COOKIE_PATTERN = new RegExp(
  `[ \\t\\n\\r\\f\\v]*(?<key>[${LEGAL_KEY}]+?)` +
    `([ \\t\\n\\r\\f\\v]*=[ \\t\\n\\r\\f\\v]*` +
    `(?<val>"(?:[^\\\\"]|\\\\.)*"|\\w{3},\\s[\\w\\d\\s-]{9,11}\\s[\\d:]{8}\\sGMT|[${LEGAL_KEY}\\[\\]]*))?` +
    `[ \\t\\n\\r\\f\\v]*([ \\t\\n\\r\\f\\v]+|;|$)`,
  'y',
);
const RESERVED = new Set(['expires', 'path', 'comment', 'domain', 'max-age', 'secure', 'httponly', 'version', 'samesite']);
export function parseSimpleCookie(header: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < header.length) {
    COOKIE_PATTERN.lastIndex = i;
    const m = COOKIE_PATTERN.exec(header);
    if (!m || COOKIE_PATTERN.lastIndex === i) break;
    i = COOKIE_PATTERN.lastIndex;
    const key = m.groups!.key!;
    const val = m.groups!.val;
    if (key.startsWith('$') || RESERVED.has(key.toLowerCase())) continue;
    if (val === undefined) return new Map(); // CPython gives up on the whole header
    out.set(key, val.startsWith('"') && val.endsWith('"') && val.length >= 2 ? val.slice(1, -1) : val);
  }
  return out;
}

/** Express's `cookie` package: split on `;`, names and values trimmed, first wins, values decoded. */
export const readExpress = (header: string): string | undefined => parseExpress(header)[SESSION];

/** What each reference origin reads as the session, by name. */
export const references: Record<string, (header: string) => string | undefined> = {
  express: readExpress,
  django: (h) => parseDjango(h).get(SESSION),
  php: (h) => parsePhp(h).get(SESSION),
  rack: (h) => parseRack(h).get(SESSION),
  django_wire: (h) => parseDjangoWire(h).get(SESSION),
  werkzeug: (h) => parseWerkzeugWire(h).get(SESSION),
  simplecookie: (h) => parseSimpleCookie(h).get(SESSION),
};

/** Token-looking values (JWT alphabet), so value decoding never differs between parsers. */
const value = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}(\.[A-Za-z0-9_-]{1,12}){0,2}$/);

/** Spellings some origin reads as `demo_session`, and some that none does. */
const sessionName = fc.constantFrom(
  SESSION,
  SESSION,
  SESSION,
  ` ${SESSION}`,
  `${SESSION} `,
  `\t${SESSION}`,
  `${SESSION}\t`,
  'Demo_Session',
  'DEMO_SESSION',
  'demo.session',
  'demo session',
  'demo%5Fsession',
  'demo%5fsession',
  'demo_%73ession',
  `${SESSION}[]`,
  `${SESSION}[x]`,
  `${SESSION}[`,
  `\u00a0${SESSION}`,
  `\u0085${SESSION}`,
  `${SESSION}\u0085`,
  'demo[session',
  ` demo[session`,
  'demo_sessions',
  'xdemo_session',
  'demo',
);
const otherName = fc.constantFrom('theme', 'lang', '_ga', 'csrftoken', 'stepgate-admin-writes', 'a.b', 'x%20y');
const pair = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(sessionName, value).map(([n, v]) => `${n}=${v}`) },
  { weight: 3, arbitrary: fc.tuple(otherName, value).map(([n, v]) => `${n}=${v}`) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', SESSION, 'flag', `x=${SESSION}=v`, `q="a;b"`) },
);
const separator = fc.constantFrom('; ', ';', ';  ', ', ', ',', ';\t', ' ', '\t', '; x=y ');

/** Cookie headers as browsers, scripts and attackers send them (several joined, as proxies do). */
export const cookieHeader = fc
  .array(fc.tuple(pair, separator), { minLength: 1, maxLength: 6 })
  .map((parts) => parts.map(([p, s], i) => (i === 0 ? p : s + p)).join(''));

/**
 * The property: when Stepgate reads one session value, every reference parser reads that value
 * or none; when Stepgate reads none, no reference parser reads one. An ambiguous header is
 * refused (400).
 */
export const sessionCookieAgrees = fc.property(cookieHeader, (header) => {
  const r = readSessionCookie(header, SESSION);
  if (r.kind === 'ambiguous') return true;
  const expected = r.kind === 'one' ? r.value : undefined;
  for (const [name, read] of Object.entries(references)) {
    const got = read(header);
    // The danger is an origin acting for a session Stepgate did not verify: it may read the same
    // session or none (some give up on a malformed header: the origin then acts for nobody), never
    // another one. An empty value is "no session" to Stepgate and to the origins alike.
    if (got && got !== (expected || undefined)) {
      throw new Error(`${name} reads ${JSON.stringify(got)}, Stepgate ${JSON.stringify(expected)}, for ${JSON.stringify(header)}`);
    }
  }
  return true;
});

/** Ordinary headers (exact names, `; ` between pairs, one session) are never refused. */
export const ordinaryHeadersAccepted = fc.property(
  fc.array(fc.tuple(otherName, value), { maxLength: 5 }),
  value,
  fc.nat(5),
  (others, session, at) => {
    const pairs = others.filter(([n]) => !n.includes('%')).map(([n, v]) => `${n}=${v}`);
    pairs.splice(Math.min(at, pairs.length), 0, `${SESSION}=${session}`);
    const r = readSessionCookie(pairs.join('; '), SESSION);
    return r.kind === 'one' && r.value === session;
  },
);
