/**
 * @module Fuzz targets for `canonicalizeRequest` (edge/policy/canonical-request.ts) and the policy
 * match on its output (edge/policy/compile-policy.ts), over generated request targets, methods and
 * headers. Oracles, for every generated request:
 *
 * 1. it is refused with a 4xx StepgateError, or accepted — nothing else is thrown;
 * 2. an accepted canonical path is well formed: `/`-rooted, no empty, `.` or `..` segment, only
 *    unreserved/sub-delim characters and upper-case `%XX`, no encoded `/`, `\`, `.`, `;`, `%`+hex
 *    or control character, and its decoded segments are the match segments;
 * 3. canonicalizing the canonical request again gives the same request (idempotence);
 * 4. WHATWG `new URL` leaves the canonical path as it is, and resolves the *raw* target (slashes
 *    merged, as Stepgate does) to the same segments;
 * 5. the compiled policy and an independent reference matcher written from docs/policy.md pick the
 *    same rule and method on the canonical segments (demo policy and a policy with hosts and globs);
 * 6. whenever an origin would route the raw target to a protected path — WHATWG resolution, then any
 *    case-insensitive comparison real routers use (Java, Spring, .NET, JS) and any `_method`/override
 *    header reading — Stepgate refuses the request or matches a rule.
 */
import fc from 'fast-check';
import demoPolicyJson from '../../edge/config/policy.json';
import { canonicalizeRequest, type CanonicalizeOptions, type CanonicalRequest } from '../../edge/policy/canonical-request';
import { compilePolicy, type CompiledPolicy } from '../../edge/policy/compile-policy';
import type { Policy } from '../../edge/policy/schema';
import { validatePolicy } from '../../edge/policy/validate-policy';
import { attempt, fail, type FuzzTarget, HTTP_TOKEN, show, Stats } from './harness';
import { FORM_READERS, overrideMethods } from './reference-forms';
import { anyOriginEquals, fold, originRuleFor, referenceMatch, type RefRule, type SegmentEquals } from './reference-policy';

// --- Policies ---------------------------------------------------------------------------------

const demoPolicy = validatePolicy(demoPolicyJson);
/** The demo policy plus host, wildcard-host, glob and exact-path rules (as test/edge/match-table.test.ts). */
const widePolicy = validatePolicy({
  version: 1,
  rules: [
    ...demoPolicyJson.rules,
    {
      id: 'billing-host',
      match: { host: 'billing.example.com', path: '/**', methods: ['POST'] },
      require: { factors: ['totp'], bind: 'session' },
    },
    {
      id: 'tenant-wildcard',
      match: { host: '*.tenants.example.com', path: '/settings/*' },
      require: { factors: ['webauthn'], bind: 'session' },
    },
    {
      id: 'exports',
      match: { methods: ['GET'], path: ['/reports/*.csv', '/reports/**/export'] },
      require: { factors: ['webauthn'], bind: 'action' },
    },
    { id: 'exact-root-admin', match: { path: '/admin' }, require: { factors: ['totp'], bind: 'session' } },
    { id: 'glob-mid', match: { methods: ['PUT'], path: '/files/a*b*c/**' }, require: { factors: ['totp'], bind: 'session' } },
  ],
});

interface PolicyUnderTest {
  name: string;
  rules: readonly RefRule[];
  compiled: { insensitive: CompiledPolicy; sensitive: CompiledPolicy };
}
const underTest = (name: string, p: Policy): PolicyUnderTest => ({
  name,
  rules: p.rules,
  compiled: { insensitive: compilePolicy({ ...p, caseSensitive: false }), sensitive: compilePolicy({ ...p, caseSensitive: true }) },
});
const POLICIES = [underTest('demo', demoPolicy), underTest('wide', widePolicy)];

// --- Generators -------------------------------------------------------------------------------

const pct = (byte: number, lower: boolean): string => {
  const h = byte.toString(16).padStart(2, '0');
  return `%${lower ? h.toLowerCase() : h.toUpperCase()}`;
};
const pctUtf8 = (s: string, lower: boolean): string => [...new TextEncoder().encode(s)].map((b) => pct(b, lower)).join('');

/** Encodings that have bypassed path matchers somewhere. */
const TRICKY_ENCODINGS = [
  '%2F',
  '%2f',
  '%5C',
  '%5c',
  '%2E',
  '%2e',
  '%00',
  '%25',
  '%3B',
  '%3b',
  '%3F',
  '%23',
  '%20',
  '%09',
  '%0A',
  '%0d',
  '%7F',
  '%FF',
  '%C0%AE',
  '%C0%AF',
  '%E0%80%AE',
  '%C1%9C',
  '%C4%B0',
  '%C4%B1',
  '%C5%BF',
  '%E2%84%AA',
  '%EF%BC%8E',
  '%EF%BC%8F',
  '%252F',
  '%252e',
  '%2525',
  '%25%32%46',
  '%25%32%65',
  '%254%31',
  '%25%34%31',
  '%',
  '%4',
  '%G1',
  '%u002e',
  '%%',
  '%2',
  '%ED%A0%80',
  '%F4%90%80%80',
  '%E2%80%AE',
  '%CC%87',
];
const RAW_ODDITIES = [
  ';',
  ';x',
  ';jsessionid=1',
  '\\',
  '?',
  '#',
  ' ',
  '\t',
  '\0',
  '\r\n',
  '::$DATA',
  '~1',
  'é',
  'İ',
  'ı',
  'ſ',
  'K',
  '／',
  '．',
  '\u200b',
  '\ufeff',
  '"',
  '<',
  '{',
  '|',
  '^',
  '[',
  ']',
  '`',
];
const WORDS = [
  'api',
  'projects',
  'admin',
  'Admin',
  'ADMIN',
  'index.php',
  'x.aspx',
  'users',
  '7',
  'ban',
  'ban.json',
  'reports',
  'q.csv',
  'export',
  'settings',
  'files',
  'abc',
];

const atom = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom(..."abcxyzAZ019-._~!$&'()*+,=:@") },
  { weight: 15, arbitrary: fc.constantFrom(...WORDS) },
  { weight: 4, arbitrary: fc.constantFrom('.', '..', '...') },
  { weight: 3, arbitrary: fc.constantFrom(...TRICKY_ENCODINGS) },
  { weight: 4, arbitrary: fc.tuple(fc.integer({ min: 0, max: 255 }), fc.boolean()).map(([b, l]) => pct(b, l)) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom('é', 'İ', 'ı', 'ſ', 'K', '／', '．', '\u00a0', 'ß', 'ẞ', 'Å', '🙂'), fc.boolean())
      .map(([c, l]) => pctUtf8(c, l)),
  },
  { weight: 1, arbitrary: fc.constantFrom(...RAW_ODDITIES) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 3 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 3 }) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('a', '%41', '.'), fc.integer({ min: 50, max: 300 })).map(([c, n]) => c.repeat(n)) },
);
const segment = fc.array(atom, { maxLength: 3 }).map((a) => a.join(''));
const separator = fc.constantFrom('/', '/', '/', '/', '/', '/', '//', '\\', '/./', '/../', '/%2e/', '/%2E%2E/', '/.%2e/');

/** A request target's path: segments with separators, sometimes without a leading `/`. */
const rawPath = fc
  .tuple(
    fc.oneof({ weight: 15, arbitrary: fc.constant('/') }, { weight: 1, arbitrary: fc.constantFrom('', '//', '\\', '/./', '/../', '?') }),
    fc.array(fc.tuple(segment, separator), { maxLength: 6 }),
    segment,
    fc.boolean(),
  )
  .map(([lead, mids, last, trailing]) => lead + mids.map(([s, sep]) => s + sep).join('') + last + (trailing ? '/' : ''));

const METHOD_WORDS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'delete', 'Delete', 'dElEtE', 'OPTIONS', 'PROPFIND', 'M-SEARCH'];
const method = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom(...METHOD_WORDS, 'GET', 'POST', 'DELETE', 'PUT') },
  { weight: 1, arbitrary: fc.constantFrom('CONNECT', 'TRACE', 'track') },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 8 }) },
);

const METHOD_PARAM_NAMES = [
  '_method',
  '_METHOD',
  '_Method',
  '%5Fmethod',
  '%5fmethod',
  '_%6Dethod',
  '.method',
  '%2Emethod',
  '_method[]',
  '_method%5B%5D',
  '[_method]',
  ' _method',
  '+_method',
  '%20_method',
  '_method%00x',
  '_method[',
  '__method',
  '_methods',
  'x_method',
  'method',
];
const OVERRIDE_VALUES = [
  'DELETE',
  'delete',
  ' DELETE',
  'DELETE ',
  'PUT',
  'PATCH',
  'GET',
  'HEAD',
  'POST',
  'DEL%45TE',
  'DELETE%00',
  'D E',
  '',
  'GET,DELETE',
  'DELETE, PUT',
];
const queryPair = fc.oneof(
  fc.tuple(fc.constantFrom(...METHOD_PARAM_NAMES), fc.constantFrom(...OVERRIDE_VALUES)).map(([n, v]) => `${n}=${v}`),
  fc.tuple(fc.constantFrom('a', 'b', 'x.y', 'q'), fc.constantFrom('1', '%2F..%2F', '%00', 'a b')).map(([n, v]) => `${n}=${v}`),
  fc.string({ maxLength: 6 }),
);
const query = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  {
    weight: 2,
    arbitrary: fc
      .array(fc.tuple(queryPair, fc.constantFrom('&', ';', '&&')), { minLength: 1, maxLength: 4 })
      .map((ps) => `?${ps.map(([p, s], i) => (i ? s : '') + p).join('')}`),
  },
  { weight: 1, arbitrary: fc.constantFrom('?', '??', '?#', '#frag', '?a=1#b', '?a=%ZZ') },
);

const AUTHORITIES = [
  'app.example.com',
  'app.example.com',
  'app.example.com',
  'APP.Example.COM.',
  'app.example.com:8787',
  'billing.example.com',
  'x.tenants.example.com',
  'tenants.example.com',
  '127.0.0.1',
  '[::1]:8787',
  'user@app.example.com',
  'app.example.com:99999',
  'a..b',
  '',
  'app.example.com\\x',
];
const scheme = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom('http://', 'https://') },
  { weight: 1, arbitrary: fc.constantFrom('HTTP://', '', 'http:/', 'ftp://') },
);

const OVERRIDE_HEADERS = ['x-http-method-override', 'X-HTTP-Method-Override', 'x-http-method', 'x-method-override'];
const header = fc.oneof(
  fc.tuple(fc.constantFrom(...OVERRIDE_HEADERS), fc.constantFrom(...OVERRIDE_VALUES, 'GET, DELETE', 'DEL ETE', ',')),
  fc.tuple(
    fc.constant('host'),
    fc.constantFrom(
      'app.example.com',
      'APP.example.com',
      'app.example.com:80',
      'other.example.com',
      'app.example.com.',
      'app.example.com, evil.test',
      '',
      ' app.example.com ',
      'a@b',
    ),
  ),
  fc.tuple(fc.constantFrom(...OVERRIDE_HEADERS, 'host'), fc.string({ unit: 'binary-ascii', maxLength: 10 })),
);

export interface RequestInput {
  method: string;
  url: string;
  headers: [string, string][];
  options: CanonicalizeOptions;
}

const options = fc.record({
  caseSensitive: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  allowPathInfo: fc.boolean(),
});

/** Arbitrary request targets (mostly junk), methods and headers. */
export const arbitraryRequest: fc.Arbitrary<RequestInput> = fc
  .record({
    method,
    scheme,
    authority: fc.oneof(
      { weight: 20, arbitrary: fc.constantFrom('app.example.com') },
      { weight: 6, arbitrary: fc.constantFrom(...AUTHORITIES) },
      { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
    ),
    path: rawPath,
    query,
    headers: fc.oneof(
      { weight: 3, arbitrary: fc.constant([] as [string, string][]) },
      { weight: 2, arbitrary: fc.array(header, { maxLength: 3 }) },
    ),
    options,
  })
  .map((r) => ({ method: r.method, url: r.scheme + r.authority + r.path + r.query, headers: r.headers, options: r.options }));

// Spellings of paths the policies protect (or nearly protect), as an attacker would try them.
const BASES: { host: string; segs: string[] }[] = [
  { host: 'app.example.com', segs: ['api', 'projects', '7'] },
  { host: 'app.example.com', segs: ['api', 'projects', 'abc'] },
  { host: 'app.example.com', segs: ['api', 'projects', '7.json'] },
  { host: 'app.example.com', segs: ['api', 'projects', 'tik'] },
  { host: 'app.example.com', segs: ['admin'] },
  { host: 'app.example.com', segs: ['admin', 'settings'] },
  { host: 'app.example.com', segs: ['admin', 'users', '5', 'ban'] },
  { host: 'app.example.com', segs: ['admin', 'users', '5', 'ban.json'] },
  { host: 'app.example.com', segs: ['api', 'projects'] },
  { host: 'app.example.com', segs: ['api', 'projects', '7', 'members', '2'] },
  { host: 'app.example.com', segs: ['administrator'] },
  { host: 'app.example.com', segs: ['reports', 'q1.csv'] },
  { host: 'app.example.com', segs: ['reports', '2024', 'x', 'export'] },
  { host: 'app.example.com', segs: ['files', 'aXbYc', 'k'] },
  { host: 'billing.example.com', segs: ['invoices', 'pay'] },
  { host: 'x.tenants.example.com', segs: ['settings', 'sso'] },
];

/** Non-ASCII characters that some server's case-insensitive compare equates with an ASCII letter. */
const CASE_CONFUSABLES: Record<string, string[]> = { i: ['ı', 'İ'], s: ['ſ'], k: ['K'], a: ['Å'] };
const spellChar = (c: string): fc.Arbitrary<string> => {
  const lower = c.toLowerCase();
  const options: fc.Arbitrary<string>[] = [
    fc.constant(c),
    fc.constant(c),
    fc.constant(c),
    fc.constant(c.toUpperCase()),
    fc.boolean().map((l) => pctUtf8(c, l)),
    fc.boolean().map((l) => pctUtf8(c.toUpperCase(), l)),
  ];
  const conf = CASE_CONFUSABLES[lower];
  if (conf) options.push(fc.tuple(fc.constantFrom(...conf), fc.boolean()).map(([x, l]) => pctUtf8(x, l)));
  // Fullwidth forms (U+FF01..): NFKC-folding servers read them as ASCII.
  if (/^[a-z0-9]$/i.test(c)) options.push(fc.constant(pctUtf8(String.fromCodePoint(c.codePointAt(0)! + 0xfee0), false)));
  return fc.oneof(...options);
};
const spellSegment = (s: string): fc.Arbitrary<string> => fc.tuple(...[...s].map(spellChar)).map((cs) => cs.join(''));
const DETOUR = [
  '/',
  '/',
  '/',
  '/',
  '//',
  '/./',
  '/%2e/',
  '/%2E/',
  '/x/../',
  '/X/%2e%2e/',
  '/x/.%2E/',
  '/%78/%2E./',
  '/;/',
  '\\',
  '/..;/',
  '/%2F',
  '/x/%2e%2e%2f',
];
const LEAD = ['/', '/', '/', '//', '/./', '/x/../', '/%2e/', '/../'];
const TAIL = ['', '', '', '/', '/', '/.', '/./', '/x/..', '.', '%20', '%00', ';x', '%3B', '.json', '/.json', '%2F', '~'];

/** A protected (or nearly protected) path spelled in one of many ways. */
export const policyRequest: fc.Arbitrary<RequestInput> = fc
  .constantFrom(...BASES)
  .chain((base) =>
    fc.record({
      base: fc.constant(base),
      segs: fc.tuple(...base.segs.map(spellSegment)),
      seps: fc.array(fc.constantFrom(...DETOUR), { minLength: base.segs.length, maxLength: base.segs.length }),
      lead: fc.constantFrom(...LEAD),
      tail: fc.constantFrom(...TAIL),
      method: fc.constantFrom('DELETE', 'DELETE', 'delete', 'POST', 'POST', 'PUT', 'PATCH', 'GET', 'HEAD', 'OPTIONS', 'dElEtE'),
      query: fc.oneof({ weight: 4, arbitrary: fc.constant('') }, { weight: 1, arbitrary: query }),
      headers: fc.oneof(
        { weight: 3, arbitrary: fc.constant([] as [string, string][]) },
        { weight: 1, arbitrary: fc.array(header, { maxLength: 2 }) },
      ),
      hostCase: fc.constantFrom('', 'upper', 'dot'),
      options: fc.record({
        caseSensitive: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
        allowPathInfo: fc.constant(false),
      }),
    }),
  )
  .map((r) => {
    const host = r.hostCase === 'upper' ? r.base.host.toUpperCase() : r.hostCase === 'dot' ? `${r.base.host}.` : r.base.host;
    const path = r.lead.slice(0, -1) + r.segs.map((s, i) => (i === 0 ? '/' : r.seps[i]!) + s).join('') + r.tail;
    return { method: r.method, url: `http://${host}${path}${r.query}`, headers: r.headers, options: r.options };
  });

// --- Oracles ----------------------------------------------------------------------------------

/** A canonical path: `/`, or `/seg(/seg)*` with an optional trailing `/`, segments of unreserved/sub-delims or `%XX`. */
const CANONICAL_PATH = /^\/(?:(?:[A-Za-z0-9\-._~!$&'()*+,=:@]|%[0-9A-F]{2})+(?:\/(?:[A-Za-z0-9\-._~!$&'()*+,=:@]|%[0-9A-F]{2})+)*\/?)?$/;
const FORBIDDEN_ENCODED = /%(2F|5C|2E|3B|0[0-9A-F]|1[0-9A-F]|7F)/;

function buildHeaders(list: [string, string][]): Headers | null {
  try {
    return new Headers(list);
  } catch {
    return null; // not a request a client could send (CR, LF or NUL in a value)
  }
}

/** The raw path and query of an absolute URL string, as a server reads the request target. */
function rawTarget(url: string): { path: string; query: string } {
  const schemeEnd = url.indexOf('://');
  const afterAuthority = url.slice(schemeEnd + 3).search(/[/?]/);
  const rest = afterAuthority < 0 ? '' : url.slice(schemeEnd + 3 + afterAuthority);
  const q = rest.indexOf('?');
  return { path: q < 0 ? rest : rest.slice(0, q), query: q < 0 ? '' : rest.slice(q + 1) };
}

/**
 * The WHATWG URL Standard's path state for a special URL's path (after merging slashes, before
 * decoding): `.`/`%2e` segments dropped, `..` and its encoded spellings pop one segment. Written
 * from the spec because Node 20's `new URL` (ada 2.9.2) leaves `/a/.b/../` unresolved.
 */
export function whatwgPath(path: string): string[] {
  const out: string[] = [];
  const parts = path.split('/').slice(1);
  parts.forEach((seg, i) => {
    const last = i === parts.length - 1;
    const l = seg.toLowerCase();
    if (l === '..' || l === '.%2e' || l === '%2e.' || l === '%2e%2e') {
      out.pop();
      if (last) out.push('');
    } else if (l === '.' || l === '%2e') {
      if (last) out.push('');
    } else out.push(seg);
  });
  return out;
}

/**
 * The segments a WHATWG-normalising origin routes: the raw path with runs of `/` merged (as nginx's
 * merge_slashes and Stepgate do), dot segments resolved as the URL Standard does, percent-decoded.
 */
function originSegments(path: string, stats?: Stats): string[] | null {
  const merged = path.replace(/\/{2,}/g, '/') || '/';
  const abs = merged.startsWith('/') ? merged : `/${merged}`;
  const segs = whatwgPath(abs).filter((x) => x !== '');
  if (stats) {
    try {
      const ada = new URL(`http://origin.test${abs}`).pathname.split('/').filter((x) => x !== '');
      if (ada.join('/') !== segs.join('/')) stats.add('node-url-differs-from-spec');
    } catch {
      stats.add('node-url-throws');
    }
  }
  try {
    return segs.map(decodeURIComponent);
  } catch {
    return null; // not UTF-8: no router decodes it to a route name
  }
}

/** Every method an origin could act as: the method (upper-cased), GET for HEAD, override headers, `_method` in the query. */
function originMethods(method: string, headers: Headers, query: string): string[] {
  const out = new Set<string>([method.toUpperCase()]);
  if (method.toUpperCase() === 'HEAD') out.add('GET');
  for (const h of ['x-http-method-override', 'x-http-method', 'x-method-override']) {
    const v = headers.get(h);
    if (v !== null) for (const m of overrideMethods([v, ...v.split(',').map((s) => s.trim())])) out.add(m);
  }
  if (query) for (const read of Object.values(FORM_READERS)) for (const m of overrideMethods(read(query))) out.add(m);
  return [...out];
}

function checkShape(c: CanonicalRequest, opts: CanonicalizeOptions): void {
  // A host name an origin (or a DNS resolver) could not read as another: lower-case labels, no empty label, no trailing dot.
  if (!/^(\[[0-9a-f:.]+\]|[a-z0-9-]+(\.[a-z0-9-]+)*)$/.test(c.hostname))
    fail(`canonical hostname is not one plain host name: ${show(c.hostname)}`);
  if (c.host !== c.hostname && !new RegExp(`^${c.hostname.replace(/[.[\]]/g, '\\$&')}:\\d{1,5}$`).test(c.host))
    fail(`canonical host ${show(c.host)} is not the hostname with a port`);
  if (!CANONICAL_PATH.test(c.path)) fail(`canonical path is not well formed: ${show(c.path)}`);
  if (c.path.includes('//')) fail(`canonical path contains "//": ${show(c.path)}`);
  const m = FORBIDDEN_ENCODED.exec(c.path);
  if (m) fail(`canonical path contains encoded ${m[0]}: ${show(c.path)}`);
  const segs = c.path.split('/').filter((s) => s !== '');
  if (segs.some((s) => s === '.' || s === '..')) fail(`canonical path contains a dot-segment: ${show(c.path)}`);
  const decoded = segs.map((s) => decodeURIComponent(s));
  // Why: an origin that decodes twice would read `%2541` as `A`; Stepgate refuses raw double encoding.
  const twice = decoded.find((d) => /%[0-9A-Fa-f]{2}/.test(d));
  if (twice !== undefined) fail(`canonical path still decodes a second time (${show(twice)}): ${show(c.path)}`);
  const expected = decoded.map((d) => (opts.caseSensitive ? d : fold(d)));
  if (show(expected) !== show(c.matchSegments)) fail(`match segments ${show(c.matchSegments)} are not the decoded path ${show(expected)}`);
  if (!c.methods.every((x) => HTTP_TOKEN.test(x) && x === x.toUpperCase())) fail(`methods not upper-case tokens: ${show(c.methods)}`);
}

function checkIdempotent(c: CanonicalRequest, method: string, headers: Headers, opts: CanonicalizeOptions): void {
  const again = attempt('canonicalizeRequest (again)', () =>
    canonicalizeRequest(method, `${c.protocol}//${c.host}${c.path}${c.query ? `?${c.query}` : ''}`, headers, opts),
  );
  if ('refused' in again) fail(`the canonical form ${show(c.path)} is itself refused: ${again.refused.message}`);
  const b = again.ok;
  for (const k of ['path', 'query', 'host', 'hostname', 'method'] as const)
    if (b[k] !== c[k]) fail(`not idempotent: ${k} ${show(c[k])} → ${show(b[k])}`);
  if (show(b.matchSegments) !== show(c.matchSegments)) fail(`not idempotent: segments ${show(c.matchSegments)} → ${show(b.matchSegments)}`);
  if (show(b.methods) !== show(c.methods)) fail(`not idempotent: methods ${show(c.methods)} → ${show(b.methods)}`);
}

function checkWhatwg(c: CanonicalRequest, url: string, opts: CanonicalizeOptions, stats: Stats): void {
  const resolved = new URL(`http://origin.test${c.path}`).pathname;
  if (resolved !== c.path) fail(`WHATWG URL changes the canonical path ${show(c.path)} to ${show(resolved)}`);
  const segs = originSegments(rawTarget(url).path, stats);
  if (segs === null) fail(`accepted, but the raw target does not decode as UTF-8: ${show(url)}`);
  const folded = segs!.map((s) => (opts.caseSensitive ? s : fold(s)));
  if (show(folded) !== show(c.matchSegments))
    fail(`WHATWG resolves the raw target to ${show(folded)}, Stepgate to ${show(c.matchSegments)}`);
  stats.add('whatwg-agrees');
}

function checkPolicies(c: CanonicalRequest, input: RequestInput, headers: Headers, stats: Stats): void {
  const sensitive = input.options.caseSensitive === true;
  const canonicalEq: SegmentEquals = sensitive ? (p, s) => p === s : (p, s) => fold(p) === s;
  const raw = rawTarget(input.url);
  const originSegs = originSegments(raw.path)!;
  const originEq: SegmentEquals = sensitive ? (p, s) => p === s : anyOriginEquals;
  const methods = originMethods(input.method, headers, raw.query);
  // Every method an origin could take from the method, override headers or `_method` in the query is one Stepgate matches as.
  const missed = methods.find((m) => !c.methods.includes(m));
  if (missed)
    fail(
      `an origin can act on ${show(input.url)} as ${missed} (headers ${show(input.headers)}), ` +
        `but Stepgate matches it as ${show(c.methods)}`,
    );
  for (const p of POLICIES) {
    const compiled = sensitive ? p.compiled.sensitive : p.compiled.insensitive;
    const got = compiled.match(c.hostname, c.methods, c.matchSegments);
    const want = referenceMatch(p.rules, c.hostname, c.methods, c.matchSegments, canonicalEq);
    if ((got?.rule.id ?? null) !== (want?.id ?? null) || (got && got.method !== want!.method)) {
      fail(
        `${p.name} policy: compiled matcher says ${show(got && [got.rule.id, got.method])}, ` +
          `reference ${show(want && [want.id, want.method])} for ${show(c.methods)} ${show(c.matchSegments)}`,
      );
    }
    if (got) stats.add(`${p.name}-matched`);
    // What the origin would do with the raw request, read as leniently as any origin reads it.
    const origin = referenceMatch(p.rules, c.hostname, methods, originSegs, originEq);
    if (origin && !got) {
      const why = explainOrigin(p.rules.find((r) => r.id === origin.id)!, originSegs);
      fail(
        `${p.name} policy: an origin routes ${show(input.method)} ${show(input.url)} to ` +
          `rule ${show(origin.id)} (as ${origin.method}, segments ${show(originSegs)}, ${why}), ` +
          `but Stepgate accepted it as ${show(c.matchSegments)} ${show(c.methods)} and matched no rule`,
      );
    }
    if (origin) stats.add(`${p.name}-origin-protected`);
  }
}

/** Which segment an origin equated with which literal of the rule, and by which comparison. */
function explainOrigin(rule: RefRule, segs: readonly string[]): string {
  const literals = [rule.match.path].flat().flatMap((p) => p.split('/').filter((x) => x !== '' && !x.includes('*')));
  for (const s of segs) {
    for (const lit of literals) {
      const how = originRuleFor(lit, s);
      if (how && fold(lit) !== fold(s)) return `${show(s)} equals ${show(lit)} under ${how}`;
    }
  }
  return 'by method or encoding';
}

function canonicalProperty(stats: Stats) {
  return (input: RequestInput): boolean => {
    stats.case();
    const headers = buildHeaders(input.headers);
    if (!headers) {
      stats.add('invalid-headers');
      return true;
    }
    const r = attempt('canonicalizeRequest', () => canonicalizeRequest(input.method, input.url, headers, input.options));
    if ('refused' in r) {
      stats.add(`refused-${r.refused.status}`);
      return true;
    }
    stats.add('accepted');
    const c = r.ok;
    checkShape(c, input.options);
    checkIdempotent(c, input.method, headers, input.options);
    checkWhatwg(c, input.url, input.options, stats);
    checkPolicies(c, input, headers, stats);
    return true;
  };
}

const randomStats = new Stats();
const policyStats = new Stats();

export const canonicalTargets: FuzzTarget[] = [
  {
    name: 'canonical/random-targets',
    parser: 'edge/policy/canonical-request.ts canonicalizeRequest (+ compile-policy match)',
    oracle:
      '4xx-only; well-formed; idempotent; WHATWG fixed point and raw-target agreement; ' +
      'compiled = reference matcher; origin-routable ⇒ refused or matched',
    stats: randomStats,
    build: () => fc.property(arbitraryRequest, canonicalProperty(randomStats)),
  },
  {
    name: 'canonical/policy-spellings',
    parser: 'edge/policy/canonical-request.ts canonicalizeRequest + compile-policy match (demo and wide policies)',
    oracle: 'as canonical/random-targets, over encoded, case-changed, confusable and dot-detour spellings of protected paths',
    stats: policyStats,
    build: () => fc.property(policyRequest, canonicalProperty(policyStats)),
  },
];
