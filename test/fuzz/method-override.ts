/**
 * @module Fuzz targets for the `_method` body readers (edge/request-path/method-override.ts
 * `checkInspectable` + `bodyMethodClaims`, then `addClaim` as stepgate.ts applies the claims) and the
 * bounded body read (edge/request-path/read-body.ts `readBounded`). Oracle for the override readers, for
 * every generated body and Content-Type: Stepgate refuses it (a 4xx StepgateError from any of the
 * three steps) or, for every method M that a reference reader finds — URLSearchParams, Node's
 * querystring, qs, PHP and Rack for forms; JSON.parse and a duplicate-aware JSON reader; undici's
 * `Request.formData()`, PHP's and Rack's multipart readers — Stepgate claims M or "any method".
 * Nothing else may be thrown.
 */
import fc from 'fast-check';
import { addClaim } from '../../edge/policy/canonical-request';
import { bodyMethodClaims, checkInspectable } from '../../edge/request-path/method-override';
import { readBounded } from '../../edge/request-path/read-body';
import { attempt, attemptAsync, fail, type FuzzTarget, show, Stats } from './harness';
import { FORM_READERS, overrideMethods } from './reference-forms';
import { jsonMethods, phpMultipartMethods, rackMultipartMethods, whatwgMultipartMethods } from './reference-multipart';

export interface BodyInput {
  contentType: string | null;
  /** Extra request headers (Content-Encoding, a second Content-Type joined by ","). */
  headers: [string, string][];
  body: string;
}

// --- Names and values -------------------------------------------------------------------------

/** Spellings of `_method` (already as they appear on the wire for forms), and near misses. */
const FORM_NAMES = [
  '_method',
  '_method',
  '_method',
  '_METHOD',
  '_Method',
  '%5Fmethod',
  '%5fmethod',
  '_%6Dethod',
  '_%6dethod',
  '%5F%6D%65%74%68%6F%64',
  '.method',
  '%2Emethod',
  ' _method',
  '+_method',
  '%20_method',
  '%20%20_method',
  '_method[]',
  '_method%5B%5D',
  '_method[0]',
  '_method[x]',
  '[_method]',
  ']_method',
  '[]_method',
  '_method[',
  '_method]',
  '_method%00',
  '_method%00x',
  '_method.',
  '_method ',
  '_method+',
  '_me thod',
  '__method',
  '_methods',
  'x_method',
  'method',
  '_metho',
  '%ZZ_method',
  '_method%',
  '_%6Dethod%5B%5D',
  '\t_method',
  '%09_method',
  '_method%0A',
];
const VALUES = [
  'DELETE',
  'DELETE',
  'delete',
  'Delete',
  'PUT',
  'PATCH',
  'GET',
  'POST',
  'HEAD',
  'OPTIONS',
  ' DELETE',
  'DELETE ',
  '+DELETE',
  'DEL%45TE',
  'DELETE%00',
  '',
  'D E',
  'PUT,DELETE',
  'M-SEARCH',
  'PROPFIND',
  'poſt',
  'delete%0d%0a',
];
const otherName = fc.constantFrom('a', 'title', 'x.y', 'q[]', 'utf8', 'csrf', 'id');
const otherValue = fc.oneof(fc.constantFrom('1', 'x', 'a b', '%26_method%3DDELETE', '%', '%ZZ', '&', ';'), fc.string({ maxLength: 6 }));

const formPair = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...FORM_NAMES), fc.constantFrom(...VALUES)).map(([n, v]) => `${n}=${v}`) },
  { weight: 2, arbitrary: fc.tuple(otherName, otherValue).map(([n, v]) => `${n}=${v}`) },
  { weight: 1, arbitrary: fc.constantFrom(...FORM_NAMES) },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);
const formBody = fc
  .array(fc.tuple(formPair, fc.constantFrom('&', '&', '&', ';', '&&', '&amp;', '\n', '\r\n', ' & ')), { maxLength: 6 })
  .map((ps) => ps.map(([p, s], i) => (i ? s : '') + p).join(''));

// --- JSON -------------------------------------------------------------------------------------

const JSON_KEYS = [
  '_method',
  '_method',
  '_METHOD',
  '\\u005fmethod',
  '\\u005Fmethod',
  '_\\u006dethod',
  ' _method',
  '_method ',
  '_method[]',
  '.method',
  'method',
  '__method',
  '_method\\u0000',
  'data',
  'x',
  '__proto__',
];
const jsonScalar = fc.constantFrom(
  '"DELETE"',
  '"delete"',
  '" DELETE"',
  '"PUT"',
  '"PATCH"',
  '"DEL\\u0045TE"',
  '"GET"',
  '1',
  'null',
  'true',
  '""',
  '["DELETE"]',
);
const jsonValue: fc.Arbitrary<string> = fc.letrec<{ value: string; object: string }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, jsonScalar, tie('object')),
  object: fc
    .array(fc.tuple(fc.constantFrom(...JSON_KEYS), tie('value'), fc.constantFrom('', ' ', '\n')), { maxLength: 4 })
    .map((pairs) => `{${pairs.map(([k, v, w]) => `${w}"${k}"${w}:${w}${v}`).join(',')}}`),
})).value;
const jsonBody = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .tuple(
        fc.constantFrom('', '', ' ', '\n', '\ufeff', '\u00a0', '\t'),
        jsonValue,
        fc.constantFrom('', '', '', ' ', 'x', '}', '\n&_method=PATCH', ','),
      )
      .map(([a, b, c]) => a + b + c),
  },
  { weight: 1, arbitrary: jsonValue.map((v) => `[${v}]`) },
  { weight: 1, arbitrary: fc.json().map((j) => j) },
);

// --- Multipart --------------------------------------------------------------------------------

const boundaryText = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('XyZ', '----WebKitFormBoundary7MA4YWxkTrZu0gW', 'a', 'AaB03x', '--', '0') },
  { weight: 1, arbitrary: fc.constantFrom('b c', 'a"b', 'ab;c', 'a,b', "a'b", 'é', 'x ', ' x', 'a=b', 'boundary') },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9'()+_,\-./:=? ]{1,20}$/) },
);
const contentTypeFor = (b: string, b2: string): fc.Arbitrary<string> =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom(
        `multipart/form-data; boundary=${b}`,
        `multipart/form-data; boundary="${b}"`,
        `multipart/form-data;boundary=${b}`,
        `Multipart/Form-Data; BOUNDARY=${b}`,
        `multipart/form-data; charset=utf-8; boundary=${b}`,
        `multipart/form-data; boundary=${b}; charset=UTF-8`,
      ),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        `multipart/mixed; boundary=${b}`,
        `multipart/form-data; boundary=${b}; boundary=${b2}`,
        `multipart/form-data; xboundary=${b2}; boundary=${b}`,
        `multipart/form-data; boundary="${b}"x`,
        `multipart/form-data; boundary= ${b}`,
        `multipart/form-data ; boundary=${b}`,
        `multipart/form-data; boundary=${b} `,
        `multipart/form-data; boundary=${b}; foo=bar`,
        `multipart/form-data`,
        `text/plain; boundary=${b}`,
        `application/x-www-form-urlencoded; boundary=${b}`,
      ),
    },
  );

const MP_NAMES = [
  '_method',
  '_method',
  '_method',
  '_METHOD',
  '_method[]',
  '[_method]',
  ' _method',
  '.method',
  '_method.',
  '_method[x]',
  '_method%5B%5D',
  '%5Fmethod',
  '_method\\"',
  '_me\\"thod',
  '_method\\\\',
  'method',
  '__method',
  'x',
  'title',
  '_method; name=x',
];
const pctAll = (s: string): string =>
  [...new TextEncoder().encode(s)].map((x) => `%${x.toString(16).toUpperCase().padStart(2, '0')}`).join('');
const disposition = (n: string): fc.Arbitrary<string> =>
  fc.constantFrom(
    `form-data; name="${n}"`,
    `form-data; name="${n}"`,
    `form-data; name="${n}"`,
    `form-data; name=${n}`,
    `form-data; NAME="${n}"`,
    `form-data;name="${n}"`,
    `form-data; name = "${n}"`,
    `form-data; name='${n}'`,
    `form-data; name="${n}"; filename="a.txt"`,
    `form-data; filename="x"; name="${n}"`,
    `form-data; name="${n}"; name="other"`,
    `form-data; name="other"; name="${n}"`,
    `form-data; x="; name=${n}"; name="other"`,
    `form-data; name*=utf-8''${pctAll(n)}`,
    `attachment; name="${n}"`,
    `form-data; name="${n}"; filename*=utf-8''a.txt`,
  );
const partHeaderName = fc.constantFrom(
  'Content-Disposition',
  'Content-Disposition',
  'Content-Disposition',
  'content-disposition',
  'CONTENT-DISPOSITION',
  'Content-Disposition ',
);
const extraHeader = fc.constantFrom(
  'Content-Type: text/plain',
  'Content-Type: text/plain; charset=utf-7',
  'Content-ID: _method',
  'Content-Transfer-Encoding: base64',
  ' ; name="_method"',
  'X-Foo; name=_method',
  'Content-Length: 3',
);
const part = fc.record({
  headerName: partHeaderName,
  disposition: fc.constantFrom(...MP_NAMES).chain(disposition),
  extra: fc.array(extraHeader, { maxLength: 2 }),
  extraFirst: fc.boolean(),
  value: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...VALUES) },
    { weight: 1, arbitrary: otherValue },
    {
      weight: 1,
      arbitrary: fc.constantFrom('_method=DELETE', 'x\r\n--XyZ\r\nContent-Disposition: form-data; name="_method"\r\n\r\nDELETE'),
    },
  ),
  eol: fc.oneof({ weight: 6, arbitrary: fc.constant('\r\n') }, { weight: 1, arbitrary: fc.constantFrom('\n', '\r') }),
});
export const multipartInput: fc.Arbitrary<BodyInput> = fc
  .record({ b: boundaryText, b2: boundaryText, bodyBoundary: fc.constantFrom('same', 'same', 'same', 'same', 'other', 'quoted', 'space') })
  .chain(({ b, b2, bodyBoundary }) =>
    fc.record({
      contentType: contentTypeFor(b, b2),
      parts: fc.array(part, { minLength: 1, maxLength: 4 }),
      preamble: fc.constantFrom('', '', '', 'preamble\r\n', '\r\n', '_method=PUT\r\n'),
      closing: fc.constantFrom(
        '--\r\n',
        '--\r\n',
        '--',
        '',
        '\r\n',
        '--\r\nepilogue&_method=PATCH',
        '--\r\n--XyZ\r\nContent-Disposition: form-data; name="_method"\r\n\r\nPUT\r\n--XyZ--',
      ),
      b: fc.constant(bodyBoundary === 'other' ? b2 : bodyBoundary === 'quoted' ? `"${b}"` : bodyBoundary === 'space' ? `${b} ` : b),
    }),
  )
  .map(({ contentType, parts, preamble, closing, b }) => {
    let body = preamble;
    for (const p of parts) {
      const e = p.eol;
      const head = [`${p.headerName}: ${p.disposition}`];
      if (p.extraFirst) head.unshift(...p.extra);
      else head.push(...p.extra);
      body += `--${b}${e}${head.join(e)}${e}${e}${p.value}${e}`;
    }
    body += `--${b}${closing}`;
    return { contentType, headers: [], body };
  });

// --- Content types for form and JSON bodies ---------------------------------------------------

const FORM_TYPES = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      null,
      'application/x-www-form-urlencoded',
      'application/x-www-form-urlencoded',
      'application/x-www-form-urlencoded; charset=UTF-8',
      'APPLICATION/X-WWW-FORM-URLENCODED',
      'text/plain',
      'application/octet-stream',
      'application/json',
      '',
      'foo',
      ';',
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'application/x-www-form-urlencoded; charset=utf-7',
      'application/x-www-form-urlencoded; charset=iso-8859-1',
      'application/x-www-form-urlencoded, text/plain',
      'application/x-www-form-urlencoded; charset=utf-8; charset=utf-16',
    ),
  },
);
const JSON_TYPES = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      null,
      'application/json',
      'application/json',
      'application/json; charset=utf-8',
      'application/vnd.api+json',
      'text/json',
      'application/json-patch+json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'APPLICATION/JSON',
      'application/jsonx',
      'json',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom('application/json; charset=utf-16', 'application/json, text/plain') },
);
const extraHeaders = fc.oneof(
  { weight: 8, arbitrary: fc.constant([] as [string, string][]) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<[string, string][]>(
      [['content-encoding', 'gzip']],
      [['content-encoding', 'identity']],
      [['content-encoding', ' Identity ']],
      [['content-encoding', '']],
    ),
  },
);

export const formInput: fc.Arbitrary<BodyInput> = fc.record({ contentType: FORM_TYPES, headers: extraHeaders, body: formBody });
export const jsonInput: fc.Arbitrary<BodyInput> = fc.record({ contentType: JSON_TYPES, headers: extraHeaders, body: jsonBody });
/** Anything at all: random types (including multipart with random boundaries) and random bodies. */
export const junkInput: fc.Arbitrary<BodyInput> = fc.record({
  contentType: fc.oneof(
    fc.constant(null),
    fc.string({ maxLength: 40 }),
    fc.string({ maxLength: 10 }).map((s) => `multipart/form-data; boundary=${s}`),
  ),
  headers: extraHeaders,
  body: fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.string({ unit: 'binary', maxLength: 60 }),
    fc.constantFrom('_method=DELETE', '{"_method":"DELETE"}'),
  ),
});

// --- The oracle -------------------------------------------------------------------------------

/** Every method the Node-side reference readers find in this body, with the reader's name. */
export function referenceMethods(contentType: string | null, bytes: Uint8Array, text: string): [string, string][] {
  const found: [string, string][] = [];
  const add = (reader: string, values: string[]) => {
    for (const m of overrideMethods(values)) found.push([reader, m]);
  };
  for (const [name, read] of Object.entries(FORM_READERS)) add(`form/${name}`, read(text));
  add('json', jsonMethods(text));
  const latin1 = Buffer.from(bytes).toString('latin1');
  add('multipart/php', phpMultipartMethods(contentType ?? '', latin1));
  add('multipart/rack', rackMultipartMethods(contentType ?? '', latin1));
  return found;
}

/** What Stepgate made of a body: refused at some step, or its claims (after `addClaim`). */
export type Outcome = { refused: string } | { claims: string[]; anyMethod: boolean };

/** The request headers for a body input, or null when no client could send them. */
export function bodyHeaders(input: BodyInput): Headers | null {
  try {
    const headers = new Headers(input.headers);
    if (input.contentType !== null) headers.set('content-type', input.contentType);
    return headers;
  } catch {
    return null;
  }
}

/** Stepgate's reading as stepgate.ts applies it: checkInspectable, bodyMethodClaims, then addClaim per claim. */
export async function stepgateOutcome(headers: Headers, bytes: Uint8Array<ArrayBuffer>): Promise<Outcome> {
  const inspectable = attempt('checkInspectable', () => checkInspectable(headers));
  if ('refused' in inspectable) return { refused: 'uninspectable' };
  const found = await attemptAsync('bodyMethodClaims', () => bodyMethodClaims(bytes, headers.get('content-type')));
  if ('refused' in found) return { refused: 'unparseable' };
  const claimed = new Set<string>();
  const added = attempt('addClaim', () => {
    for (const m of found.ok.claims) addClaim(claimed, m);
  });
  if ('refused' in added) return { refused: 'bad-claim' };
  return { claims: [...claimed], anyMethod: found.ok.anyMethod };
}

/** The oracle: refused, or every reference method claimed (or any method). */
export function judge(input: BodyInput, refs: readonly [string, string][], outcome: Outcome, stats: Stats): void {
  if (refs.length) stats.add('reference-finds-override');
  if ('refused' in outcome) {
    stats.add(`refused-${outcome.refused}`);
    return;
  }
  if (outcome.anyMethod) stats.add('any-method');
  if (outcome.claims.length) stats.add('claims');
  for (const [reader, m] of refs) {
    if (!outcome.claims.includes(m) && !outcome.anyMethod) {
      fail(
        `${reader} reads _method=${m}, Stepgate claims ${show(outcome.claims)} (anyMethod false) ` +
          `for Content-Type ${show(input.contentType)} headers ${show(input.headers)} body ${show(input.body)}`,
      );
    }
  }
  if (refs.length) stats.add('override-caught');
}

function bodyProperty(stats: Stats) {
  return async (input: BodyInput): Promise<boolean> => {
    stats.case();
    const headers = bodyHeaders(input);
    if (!headers) {
      stats.add('invalid-headers');
      return true;
    }
    const bytes = new TextEncoder().encode(input.body) as Uint8Array<ArrayBuffer>;
    const text = new TextDecoder().decode(bytes);
    const refs = referenceMethods(input.contentType, bytes, text);
    for (const m of overrideMethods(await whatwgMultipartMethods(input.contentType ?? '', bytes))) refs.push(['multipart/undici', m]);
    judge(input, refs, await stepgateOutcome(headers, bytes), stats);
    return true;
  };
}

// --- readBounded ------------------------------------------------------------------------------

const boundedStats = new Stats();
const boundedInput = fc.record({
  chunks: fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }),
  limit: fc.integer({ min: 0, max: 300 }),
  declared: fc.oneof(
    fc.constant(null),
    fc.constantFrom('0', '-1', 'abc', '1e9', '', ' 5', '0x10', '99999999999999999999'),
    fc.nat(400).map(String),
  ),
  stream: fc.boolean(),
});

/** readBounded returns exactly the body when it fits the limit, else 413; a declared length larger than the limit is 413 at once. */
const boundedProperty = fc.asyncProperty(boundedInput, async ({ chunks, limit, declared, stream }) => {
  boundedStats.case();
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const all = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  const headers = new Headers(declared === null ? {} : { 'content-length': declared });
  const body = stream
    ? new ReadableStream<Uint8Array>({
        start(ctrl) {
          for (const c of chunks) ctrl.enqueue(c);
          ctrl.close();
        },
      })
    : total > 0
      ? all
      : null;
  const req = new Request('http://app.example.com/x', { method: 'POST', body, headers, duplex: 'half' } as RequestInit);
  const r = await attemptAsync('readBounded', () => readBounded(req, limit));
  const declaredTooLarge = declared !== null && Number(declared) > limit;
  if ('refused' in r) {
    if (r.refused.status !== 413) fail(`readBounded refused with ${r.refused.status}`);
    if (total <= limit && !declaredTooLarge)
      fail(`readBounded refused ${total} bytes under a limit of ${limit} (declared ${show(declared)})`);
    boundedStats.add('413');
    return true;
  }
  if (total > limit) fail(`readBounded returned ${r.ok.length} bytes of a ${total}-byte body over a limit of ${limit}`);
  if (r.ok.length !== total || r.ok.some((b, i) => b !== all[i])) fail('readBounded returned other bytes than were sent');
  boundedStats.add('read');
  return true;
});

const formStats = new Stats();
const jsonStats = new Stats();
const multipartStats = new Stats();
const junkStats = new Stats();
const where = 'edge/request-path/method-override.ts checkInspectable + bodyMethodClaims (+ addClaim)';
const oracle = 'refused (4xx), or every method a reference reader finds is claimed (or anyMethod)';

export const methodOverrideTargets: FuzzTarget[] = [
  {
    name: 'body/form',
    parser: where,
    oracle: `${oracle}; readers: URLSearchParams, querystring, qs, PHP, Rack`,
    stats: formStats,
    build: () => fc.asyncProperty(formInput, bodyProperty(formStats)),
  },
  {
    name: 'body/json',
    parser: where,
    oracle: `${oracle}; readers: JSON (all duplicates), plus the form readers`,
    stats: jsonStats,
    build: () => fc.asyncProperty(jsonInput, bodyProperty(jsonStats)),
  },
  {
    name: 'body/multipart',
    parser: where,
    oracle: `${oracle}; readers: undici formData, PHP rfc1867, Rack 2, plus form/JSON`,
    stats: multipartStats,
    build: () => fc.asyncProperty(multipartInput, bodyProperty(multipartStats)),
  },
  {
    name: 'body/junk',
    parser: where,
    oracle: `${oracle}; random Content-Types and bytes`,
    stats: junkStats,
    build: () => fc.asyncProperty(junkInput, bodyProperty(junkStats)),
  },
  {
    name: 'body/read-bounded',
    parser: 'edge/request-path/read-body.ts readBounded',
    oracle: 'exact bytes when within the limit, else 413 only; declared Content-Length over the limit → 413',
    stats: boundedStats,
    build: () => boundedProperty,
  },
];
