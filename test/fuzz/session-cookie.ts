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

/** Express's `cookie` package: split on `;`, names and values trimmed, first wins, values decoded. */
export const readExpress = (header: string): string | undefined => parseExpress(header)[SESSION];

/** What each reference origin reads as the session, by name. */
export const references: Record<string, (header: string) => string | undefined> = {
  express: readExpress,
  django: (h) => parseDjango(h).get(SESSION),
  php: (h) => parsePhp(h).get(SESSION),
  rack: (h) => parseRack(h).get(SESSION),
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
const separator = fc.constantFrom('; ', ';', ';  ', ', ', ',', ';\t');

/** Cookie headers as browsers, scripts and attackers send them (several joined, as proxies do). */
export const cookieHeader = fc
  .array(fc.tuple(pair, separator), { minLength: 1, maxLength: 6 })
  .map((parts) => parts.map(([p, s], i) => (i === 0 ? p : s + p)).join(''));

/**
 * The property: when Stepgate reads one session value, every reference parser reads that value;
 * when Stepgate reads none, no reference parser reads one. An ambiguous header is refused (400).
 */
export const sessionCookieAgrees = fc.property(cookieHeader, (header) => {
  const r = readSessionCookie(header, SESSION);
  if (r.kind === 'ambiguous') return true;
  const expected = r.kind === 'one' ? r.value : undefined;
  for (const [name, read] of Object.entries(references)) {
    const got = read(header);
    // An empty value is "no session" to Stepgate and to the origins alike.
    if ((got || undefined) !== (expected || undefined)) {
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
