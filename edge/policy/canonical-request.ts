/**
 * @module canonicalizeRequest: the one meaning of a request, used both for policy matching and
 * for what is forwarded, so the origin sees exactly what was matched (no parser differential).
 */
import { ambiguous, StepgateError } from '../http/stepgate-error';
import { ErrorCode } from '../../shared/errors';
import { foldCase } from './fold';

/** A request reduced to one unambiguous form. */
export interface CanonicalRequest {
  /** The method as sent, upper-cased (HEAD stays HEAD; it *matches* as GET). */
  method: string;
  /** Every method this request may be taken for by an origin: the method, GET for HEAD, and any override claims. */
  methods: readonly string[];
  /** Lower-case host name, no trailing dot, no port. */
  hostname: string;
  /** Host as forwarded (`hostname[:port]`). */
  host: string;
  /** Canonical percent-encoded path, as forwarded. Starts with `/`; keeps a trailing slash if sent. */
  path: string;
  /** Decoded, case-folded (unless case-sensitive) segments without the trailing slash: what rules match. */
  matchSegments: readonly string[];
  /** `http:` or `https:`, as received. */
  protocol: string;
  /** Raw query without `?` ("" when absent), validated and forwarded unchanged. */
  query: string;
  /** True when the method came from an override header or `_method` parameter. */
  overridden: boolean;
}

/** The request's own origin, `https://host[:port]`, as canonicalized. */
export const canonicalOrigin = (c: Pick<CanonicalRequest, 'protocol' | 'host'>): string => `${c.protocol}//${c.host}`;

/** The canonical URL: origin, canonical path and the raw query — what is matched and forwarded. */
export const canonicalUrl = (c: Pick<CanonicalRequest, 'protocol' | 'host' | 'path' | 'query'>): string =>
  `${canonicalOrigin(c)}${canonicalPathAndQuery(c)}`;

/** The canonical path and raw query, as an origin-relative URL (`/a/b?x=1`). */
export const canonicalPathAndQuery = (c: Pick<CanonicalRequest, 'path' | 'query'>): string => `${c.path}${c.query ? `?${c.query}` : ''}`;

/** The approval page of a challenge, on the site's own origin. */
export const challengeUrl = (origin: string, challengeId: string): string => `${origin}/.stepgate/challenge/${challengeId}`;

export interface CanonicalizeOptions {
  /** Match paths case-sensitively. Default false: IIS and many frameworks fold case. */
  caseSensitive?: boolean;
  /** Allow a script name followed by more path (`/index.php/admin`). Default false. */
  allowPathInfo?: boolean;
}

/** A segment naming a server-side script: anything after it is PATH_INFO, routed by the script. */
const SCRIPT_SEGMENT = /\.(php\d?|phtml|aspx?|ashx|asmx|axd|jspx?|cgi|pl|dll|exe)$/i;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Headers that ask frameworks to treat a request as another method. */
export const METHOD_OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override'] as const;
/** Methods that have no business passing through an application gateway. */
const REFUSED_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);

// Bytes that stay literal in a canonical path segment: RFC 3986 unreserved and sub-delims
// except ';' (matrix parameters, Tomcat's `..;/`), plus ':' and '@'.
const KEEP = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,=:@") {
  KEEP[c.charCodeAt(0)] = 1;
}
const HEX = '0123456789ABCDEF';
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

const hexVal = (c: number): number => (c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1);

/** Decode one raw segment to bytes, refusing anything whose meaning depends on the decoder. */
function decodeSegment(raw: string): Uint8Array {
  const out = new Uint8Array(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    let b = raw.charCodeAt(i);
    if (b === 0x25) {
      const hi = hexVal(raw.charCodeAt(i + 1));
      const lo = hexVal(raw.charCodeAt(i + 2));
      // Why: a stray '%' is decoded differently by different servers.
      if (hi < 0 || lo < 0) throw ambiguous(`path: malformed percent-encoding at "${raw.slice(i, i + 3)}"`);
      b = hi * 16 + lo;
      i += 2;
      // Why: an encoded '/' or '\' splits the path differently in the origin than here.
      if (b === 0x2f || b === 0x5c) throw ambiguous('path: encoded "/" or "\\" is not allowed');
      // Why: '%25' followed by hex is double encoding; a second decode would change the path.
      if (b === 0x25 && hexVal(raw.charCodeAt(i + 1)) >= 0 && hexVal(raw.charCodeAt(i + 2)) >= 0) {
        throw ambiguous('path: double percent-encoding is not allowed');
      }
    }
    // Why: NUL and control characters truncate or split paths in C-based origins.
    if (b < 0x20 || b === 0x7f) throw ambiguous('path: control characters are not allowed');
    // Why: ';' starts path parameters that servlet containers strip (`/admin;x/`, `..;/`).
    if (b === 0x3b) throw ambiguous('path: ";" parameters are not allowed');
    out[n++] = b;
  }
  return out.subarray(0, n);
}

/** Whether every character of a raw segment stays literal in canonical form (no '%', no ';'). */
function isPlain(raw: string): boolean {
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c >= 128 || !KEEP[c]) return false;
  }
  return true;
}

function encodeSegment(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    s += b < 128 && KEEP[b] ? String.fromCharCode(b) : `%${HEX[b >> 4]}${HEX[b & 15]}`;
  }
  return s;
}

/**
 * Normalize a host: lower-case, without trailing dot; refuse anything that is not a plain
 * host name or IP literal.
 */
function canonicalHost(rawHost: string): { hostname: string; host: string } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(rawHost);
  if (!m) throw ambiguous('host: not a valid host name');
  const hostname = m[1]!.toLowerCase().replace(/\.$/, '');
  if (hostname === '' || m[1]!.includes('..') || m[1]!.startsWith('.')) throw ambiguous('host: not a valid host name');
  return { hostname, host: m[2] ? `${hostname}:${m[2]}` : hostname };
}

/**
 * Reduce a request to its canonical form.
 *
 * @param method the request method as received
 * @param url the request URL as received (absolute)
 * @param headers the request headers (Host and method-override headers are read)
 * @throws {StepgateError} `ERR_AMBIGUOUS_REQUEST` or `ERR_BAD_METHOD` (400) when the request cannot
 *   be given one meaning; the request must then be refused, never forwarded.
 */
export function canonicalizeRequest(method: string, url: string, headers: Headers, options: CanonicalizeOptions = {}): CanonicalRequest {
  if (!TOKEN.test(method)) throw new StepgateError(ErrorCode.BadMethod, 400, 'method: not an HTTP token');
  const m = method.toUpperCase();
  if (REFUSED_METHODS.has(m)) throw new StepgateError(ErrorCode.BadMethod, 405, `method: ${m} is not allowed`);

  const schemeEnd = url.indexOf('://');
  if (schemeEnd < 0) throw ambiguous('url: not absolute');
  const authorityStart = schemeEnd + 3;
  let pathStart = url.indexOf('/', authorityStart);
  const qmark = url.indexOf('?', authorityStart);
  if (pathStart < 0 || (qmark >= 0 && qmark < pathStart)) pathStart = qmark < 0 ? url.length : qmark;
  const authority = url.slice(authorityStart, pathStart);
  if (authority.includes('@')) throw ambiguous('url: userinfo is not allowed');
  const { hostname, host } = canonicalHost(authority);

  // Why: absolute-form targets and duplicated Host headers let the URL and Host disagree,
  // so a rule bound to one host could be bypassed by naming another.
  const hostHeader = headers.get('host');
  if (hostHeader !== null && hostHeader !== authority && canonicalHost(hostHeader.trim()).host !== host) {
    throw ambiguous('host: Host header does not match the request target');
  }

  const rest = url.slice(pathStart);
  // Why: a fragment is never sent by a client; its presence means a confused or hostile sender.
  if (rest.includes('#')) throw ambiguous('url: a fragment ("#") is not allowed');
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i);
    // Why: raw whitespace, control, backslash or non-ASCII bytes are parsed differently by every server.
    if (c <= 0x20 || c >= 0x7f || c === 0x5c) {
      throw ambiguous(c === 0x5c ? 'path: "\\" is not allowed' : 'url: raw whitespace, control or non-ASCII characters are not allowed');
    }
  }
  const q = rest.indexOf('?');
  const rawPath = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? '' : rest.slice(q + 1);
  if (rawPath !== '' && rawPath[0] !== '/') throw ambiguous('path: must start with "/"');

  const out: string[] = [];
  const keys: string[] = [];
  const rawSegs = rawPath.split('/');
  for (let i = 1; i < rawSegs.length; i++) {
    const raw = rawSegs[i]!;
    if (raw === '') continue; // '//' collapses; a trailing '/' is remembered below
    // Fast path: a segment of plain characters is already canonical and needs no decoding.
    const plain = isPlain(raw);
    const bytes = plain ? null : decodeSegment(raw);
    let text = raw;
    if (bytes) {
      try {
        text = utf8.decode(bytes);
      } catch {
        throw ambiguous('path: percent-encoding is not valid UTF-8');
      }
    }
    // Why: `%25%34%31` decodes to `%41`, which an origin that decodes twice reads as `A`.
    if (bytes && /%[0-9A-Fa-f]{2}/.test(text)) throw ambiguous('path: double percent-encoding is not allowed');
    if (text === '.') continue;
    if (text === '..') {
      // Why: a dot-segment that climbs above the root means something different on every server.
      if (out.length === 0) throw ambiguous('path: ".." escapes the root');
      out.pop();
      keys.pop();
      continue;
    }
    // Why: Windows origins strip trailing dots and spaces (`/admin./`), and treat `::$DATA` as the file.
    if (/[. ]$/.test(text) || text.includes('::')) throw ambiguous('path: a segment may not end with "." or " " or contain "::"');
    out.push(bytes ? encodeSegment(bytes) : raw);
    keys.push(options.caseSensitive ? text : plain ? text.toLowerCase() : foldCase(text));
  }
  if (!options.allowPathInfo) {
    // Why: `/index.php/admin/settings` is routed by PHP front controllers (and IIS, Tomcat) as
    // `/admin/settings`, which a rule for `/admin/**` would not see as its own.
    for (let i = 0; i < keys.length - 1; i++) {
      if (SCRIPT_SEGMENT.test(keys[i]!)) throw ambiguous('path: a script name followed by more path (PATH_INFO) is not allowed');
    }
  }
  const trailing = out.length > 0 && rawPath.endsWith('/');
  const path = `/${out.join('/')}${trailing ? '/' : ''}`;

  let methods: string[] = m === 'HEAD' ? ['HEAD', 'GET'] : [m];
  // Claimed methods come first: an origin that honours the override acts as the claimed method,
  // so the rule for that method is the one that must be satisfied.
  let claimed: Set<string> | null = null;
  for (const name of METHOD_OVERRIDE_HEADERS) {
    const v = headers.get(name);
    if (v === null) continue;
    claimed ??= new Set();
    for (const claim of v.split(',')) addClaim(claimed, claim);
  }
  if (query !== '') {
    for (const claim of methodParams(query)) {
      claimed ??= new Set();
      addClaim(claimed, claim);
    }
  }
  if (claimed) methods = [...new Set([...claimed, ...methods])];
  const protocol = url.slice(0, schemeEnd + 1).toLowerCase();
  return { method: m, methods, hostname, host, protocol, path, matchSegments: keys, query, overridden: claimed !== null };
}

/** Add an override claim to the method set, refusing junk that an origin might still interpret. */
export function addClaim(methods: Set<string>, claim: string): void {
  const c = claim.trim();
  if (!TOKEN.test(c)) throw new StepgateError(ErrorCode.BadMethod, 400, 'method override: not an HTTP token');
  const u = c.toUpperCase();
  methods.add(u);
  if (u === 'HEAD') methods.add('GET');
}

/** Percent-decode the way lenient servers do: `+` is a space, bad escapes stay as they are. */
export function lenientDecode(s: string): string {
  const plus = s.replaceAll('+', ' ');
  if (!plus.includes('%')) return plus;
  const bytes: number[] = [];
  for (let i = 0; i < plus.length; i++) {
    const c = plus.charCodeAt(i);
    const hi = c === 0x25 ? hexVal(plus.charCodeAt(i + 1)) : -1;
    const lo = hi >= 0 ? hexVal(plus.charCodeAt(i + 2)) : -1;
    if (lo >= 0) {
      bytes.push(hi * 16 + lo);
      i += 2;
    } else if (c < 0x80) bytes.push(c);
    else for (const b of new TextEncoder().encode(plus[i]!)) bytes.push(b);
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/**
 * Whether some framework reads a parameter of this (decoded) name as `_method`: PHP drops leading
 * spaces, cuts at NUL and turns ' ', '.' and '[' into '_'; qs and Rack accept `[_method]`/`_method[]`.
 */
export const isMethodParamName = (name: string): boolean =>
  name.split('\0')[0]!.replace(/^\s+/, '').replace(/[[\]]/g, '').replace(/[\s.]/g, '_').toLowerCase() === '_method';

/**
 * Values of `_method`-like parameters in a query string or form body. Pairs are split on '&' and
 * ';' (Rack splits on both); names are compared the way the most lenient framework would.
 */
export function methodParams(form: string): string[] {
  // Why '%': `_%6Dethod` decodes to `_method`, so encoded forms need the full parse.
  if (!/method|%/i.test(form)) return [];
  const found: string[] = [];
  for (const pair of form.split(/[&;]/)) {
    const eq = pair.indexOf('=');
    const name = lenientDecode(eq < 0 ? pair : pair.slice(0, eq));
    if (isMethodParamName(name)) found.push(eq < 0 ? '' : lenientDecode(pair.slice(eq + 1)));
  }
  return found;
}

/**
 * How many places in a body could be read as a `_method` parameter by some parser, counted on a
 * decoded, folded copy. When this exceeds the claims the structured parsers found, a parser
 * Stepgate does not model may see an override, and the request is matched as every method.
 */
export function methodMentions(text: string): number {
  if (!/method/i.test(text) && !text.includes('%')) return 0;
  const folded = lenientDecode(text)
    .toLowerCase()
    .replace(/[\s.[\]\0]/g, '_');
  return folded.match(/(^|[^a-z0-9])_+method(?![a-z0-9])/g)?.length ?? 0;
}

/** The host name of a `host[:port]` (a challenge's `action.host`), as a grant names its site (`aud`). */
export const hostnameOf = (host: string): string => new URL(`http://${host}`).hostname;
