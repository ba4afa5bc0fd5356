/**
 * @module Fuzz targets for policy validation and compilation (edge/policy/validate-policy.ts,
 * compile-policy.ts). Oracles:
 *
 * - `policy/validate`: arbitrary JSON-ish documents and JSON texts (near-valid policies with fields
 *   replaced by junk, glob characters in patterns) → a Policy or a PolicyError listing problems,
 *   nothing else; every accepted policy compiles and round-trips (validate(JSON copy) is equal).
 *   A pattern with a character the matcher does not implement (`[ ] { } ?`, NUL, U+200B, …) is
 *   refused; which of the other odd characters a pattern may contain is counted (reported).
 * - `policy/matcher`: generated valid policies are accepted, and on generated hosts, method lists and
 *   canonical segments the compiled trie agrees with the reference matcher written from
 *   docs/policy.md; `pathMayMatch` (which decides whether a POST body is read for `_method`) is
 *   true whenever some rule covers the path under some method, `servesHost` follows `hosts`.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { compilePolicy } from '../../edge/policy/compile-policy';
import { FACTORS } from '../../edge/policy/schema';
import { formatProblem, parsePolicy, PolicyError, validatePolicy } from '../../edge/policy/validate-policy';
import { fail, type FuzzTarget, show, Stats } from './harness';
import { fold, referenceMatch, type RefRule } from './reference-policy';

// --- Valid policies ---------------------------------------------------------------------------

const LITERALS = [
  'api',
  'projects',
  'admin',
  'users',
  'ban',
  'reports',
  'export',
  'x',
  'a.b',
  'files',
  'settings',
  'İnfo',
  'straße',
  'Ünï',
  'v1',
];
const patternSegment = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...LITERALS) },
  { weight: 2, arbitrary: fc.constant('*') },
  { weight: 2, arbitrary: fc.constant('**') },
  { weight: 2, arbitrary: fc.constantFrom('*.csv', 'a*', '*b', 'a*b*c', '*x*', 'ban*', '*.json') },
);
// At least one segment: `/` alone is refused (an empty segment), so a rule cannot name the root path by itself.
const pattern = fc
  .tuple(fc.array(patternSegment, { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([segs, slash]) => `/${segs.join('/')}${slash && segs.length ? '/' : ''}`);
const HOST_PATTERNS = ['app.example.com', 'billing.example.com', '*.example.com', '*.tenants.example.com', 'example.com'];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'M-SEARCH'];
const oneOrMany = <T>(a: fc.Arbitrary<T>) => fc.oneof(a, fc.array(a, { minLength: 1, maxLength: 3 }));

const validRule = fc.record(
  {
    description: fc.string({ maxLength: 20 }),
    match: fc.record(
      {
        methods: fc.subarray(METHODS, { minLength: 1 }),
        path: oneOrMany(pattern),
        host: oneOrMany(fc.constantFrom(...HOST_PATTERNS)),
      },
      { requiredKeys: ['path'] },
    ),
    require: fc.record(
      {
        factors: fc.subarray([...FACTORS], { minLength: 1 }),
        bind: fc.constantFrom('session' as const, 'action' as const),
        maxAge: fc.constantFrom('5m', '300s', '1h', '1s', '99h'),
      },
      { requiredKeys: ['factors', 'bind'] },
    ),
  },
  { requiredKeys: ['match', 'require'] },
);
export const validPolicy = fc
  .record(
    {
      rules: fc.array(validRule, { maxLength: 5 }),
      caseSensitive: fc.boolean(),
      allowPathInfo: fc.boolean(),
      hosts: fc.array(fc.constantFrom(...HOST_PATTERNS), { minLength: 1, maxLength: 3 }),
      maxInspectBytes: fc.integer({ min: 1024, max: 16 * 1024 * 1024 }),
      enrolment: fc.constantFrom('first-use', 'invite'),
      $schema: fc.constant('../policy/policy.schema.json'),
    },
    { requiredKeys: ['rules'] },
  )
  .map((p) => ({ version: 1 as const, ...p, rules: p.rules.map((r, i) => ({ id: `r${i}.${['a', 'b_c', 'd-e'][i % 3]}`, ...r })) }));

// --- Near-valid and junk documents ------------------------------------------------------------

const junk = fc.oneof(
  fc.constantFrom<unknown>(
    undefined,
    null,
    '',
    'x',
    0,
    -1,
    1.5,
    2,
    [],
    {},
    true,
    'GET',
    ['GET'],
    '/admin',
    [''],
    'sms',
    '5',
    '0m',
    'stepgate-x',
    '__proto__',
  ),
  fc.jsonValue({ maxDepth: 2 }),
);
const loose = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 6, arbitrary: valid as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: junk });

/** Glob characters the matcher does not implement, and other characters patterns may or may not contain. */
export const ODD_PATTERN_CHARS = [
  '[',
  ']',
  '{',
  '}',
  '?',
  '#',
  ';',
  '\\',
  '%',
  ' ',
  '\t',
  '\n',
  '\0',
  '+',
  '!',
  '(',
  '|',
  '^',
  '$',
  ':',
  '@',
  'é',
  '\u200b',
];
/**
 * Of those, what docs/policy.md says a pattern may not contain: glob syntax the matcher lacks, what
 * is written decoded, whitespace, hidden characters.
 */
const UNSUPPORTED_PATTERN_CHARS = new Set(['[', ']', '{', '}', '?', '#', ';', '\\', '%', ' ', '\t', '\n', '\0', '\u200b']);
const oddPattern = fc.tuple(pattern, fc.constantFrom(...ODD_PATTERN_CHARS), fc.nat(20)).map(([p, c, at]) => {
  const i = 1 + (at % p.length);
  return p.slice(0, i) + c + p.slice(i);
});
const anyPattern = fc.oneof(
  { weight: 4, arbitrary: pattern },
  { weight: 2, arbitrary: oddPattern },
  { weight: 1, arbitrary: fc.constantFrom('admin', '', '/', '//', '/a//b', '/./a', '/a/..', '/a/**b', '/***', '/**/**', '/a/.') },
);
const looseRule = fc.record(
  {
    id: loose(fc.constantFrom('r1', 'r2', 'a.b-c_d', 'x'.repeat(64), 'x'.repeat(65), 'stepgate-admin', 'Stepgate-X', '-x', 'é')),
    description: loose(fc.string({ maxLength: 10 })),
    match: loose(
      fc.record(
        {
          methods: loose(fc.array(loose(fc.constantFrom(...METHODS, 'get', 'DELETE ', '*', 'X_Y')), { maxLength: 3 })),
          path: loose(fc.oneof(anyPattern, fc.array(anyPattern, { maxLength: 3 }))),
          host: loose(oneOrMany(fc.constantFrom(...HOST_PATTERNS, 'APP.example.com', '*.', '*example.com', 'a..b', '-a.com', 'a.com.'))),
          metods: fc.constant(['DELETE']),
        },
        { requiredKeys: [] },
      ),
    ),
    require: loose(
      fc.record(
        {
          factors: loose(fc.array(loose(fc.constantFrom(...FACTORS, 'sms', 'WEBAUTHN')), { maxLength: 3 })),
          bind: loose(fc.constantFrom('session', 'action', 'request')),
          maxAge: loose(fc.constantFrom('5m', '300s', '1h', '0s', '5', '5d', '05m', ' 5m')),
        },
        { requiredKeys: [] },
      ),
    ),
    extra: fc.constant(1),
  },
  { requiredKeys: [] },
);
const looseDocument = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        version: loose(fc.constant(1)),
        rules: loose(fc.array(looseRule, { maxLength: 4 })),
        caseSensitive: loose(fc.boolean()),
        hosts: loose(fc.array(fc.constantFrom(...HOST_PATTERNS), { maxLength: 2 })),
        maxInspectBytes: loose(fc.integer({ min: 0, max: 1 << 25 })),
        enrolment: loose(fc.constantFrom('first-use', 'invite', 'open')),
        allowPathInfo: loose(fc.boolean()),
        metods: fc.constant(1),
      },
      { requiredKeys: ['version', 'rules'] },
    ),
  },
  { weight: 2, arbitrary: validPolicy },
  { weight: 1, arbitrary: junk },
);
/** A valid one-rule policy whose pattern has one odd character: which ones are accepted is reported. */
const oddCharDocument = fc
  .tuple(fc.constantFrom('/api/a#b', '/api/#', '/#x/**', '/files/*#*', '/a/#/b'), fc.constantFrom(...ODD_PATTERN_CHARS))
  .map(([p, c]) => ({
    version: 1,
    rules: [{ id: 'odd', match: { path: p.replace('#', c) }, require: { factors: ['totp'], bind: 'session' } }],
    oddChar: c,
  }));
const documentInput = fc.oneof(
  { weight: 6, arbitrary: looseDocument.map((doc) => ({ doc, text: null as string | null })) },
  { weight: 2, arbitrary: oddCharDocument.map(({ oddChar, ...doc }) => ({ doc, text: null as string | null, oddChar })) },
  {
    weight: 1,
    arbitrary: fc.tuple(looseDocument, fc.nat(400)).map(([d, cut]) => ({ doc: undefined, text: (JSON.stringify(d) ?? '').slice(0, cut) })),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((text) => ({ doc: undefined, text })) },
);

const validateStats = new Stats();
/** Per odd character in a pattern: how often a policy with it was accepted or refused. */
export const oddChars = new Map<string, { accepted: number; refused: number }>();
/** One line for the report: which odd pattern characters the validator accepts. */
export const oddCharReport = (): string =>
  [...oddChars]
    .sort(([a], [b]) => ODD_PATTERN_CHARS.indexOf(a) - ODD_PATTERN_CHARS.indexOf(b))
    .map(([c, n]) => {
      const verdict = n.accepted && !n.refused ? 'accepted' : !n.accepted ? 'refused' : `accepted ${n.accepted}/${n.accepted + n.refused}`;
      return `${show(c)} ${verdict}`;
    })
    .join(', ');

function checkProblems(err: unknown, what: string): void {
  if (!(err instanceof PolicyError))
    fail(`${what} threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}, not a PolicyError`);
  const problems = (err as PolicyError).problems;
  if (!Array.isArray(problems) || problems.length === 0) fail(`${what}: a PolicyError without problems`);
  for (const p of problems) {
    if (typeof p.file !== 'string' || typeof p.field !== 'string' || typeof p.message !== 'string' || p.message === '')
      fail(`${what}: a malformed problem ${show(p)}`);
    if (typeof formatProblem(p) !== 'string') fail('formatProblem');
  }
}

const validateProperty = fc.property(documentInput, (input) => {
  const { doc, text } = input;
  const oddChar = 'oddChar' in input ? (input.oddChar as string) : null;
  validateStats.case();
  let policy: ReturnType<typeof validatePolicy>;
  try {
    policy = text === null ? validatePolicy(doc) : parsePolicy(text);
  } catch (err) {
    checkProblems(err, text === null ? 'validatePolicy' : 'parsePolicy');
    validateStats.add('refused');
    if (oddChar !== null)
      oddChars.set(oddChar, {
        ...(oddChars.get(oddChar) ?? { accepted: 0, refused: 0 }),
        refused: (oddChars.get(oddChar)?.refused ?? 0) + 1,
      });
    return true;
  }
  validateStats.add('accepted');
  if (oddChar !== null && UNSUPPORTED_PATTERN_CHARS.has(oddChar))
    fail(`a pattern with ${show(oddChar)}, which the matcher does not implement, was accepted: ${show(doc)}`);
  if (oddChar !== null)
    oddChars.set(oddChar, {
      ...(oddChars.get(oddChar) ?? { accepted: 0, refused: 0 }),
      accepted: (oddChars.get(oddChar)?.accepted ?? 0) + 1,
    });
  let compiled: ReturnType<typeof compilePolicy>;
  try {
    compiled = compilePolicy(policy);
  } catch (err) {
    return fail(`an accepted policy does not compile: ${err instanceof Error ? err.message : String(err)}: ${show(policy)}`);
  }
  compiled.match('app.example.com', ['DELETE', 'GET'], ['admin', 'x']);
  compiled.pathMayMatch('app.example.com', ['a.b']);
  // Round trip through the file format: the policy written out as JSON validates to itself.
  const copy: unknown = JSON.parse(JSON.stringify(policy));
  let again: unknown;
  try {
    again = validatePolicy(copy);
  } catch (err) {
    return fail(`an accepted policy is refused when validated again: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isDeepStrictEqual(again, copy)) fail(`validate(JSON copy) differs: ${show(again)} vs ${show(copy)}`);
  return true;
});

// --- Matcher differential on generated valid policies -------------------------------------------

const SEGMENTS = [
  'api',
  'projects',
  'admin',
  'users',
  'ban',
  'ban.json',
  'ban.tar.gz',
  'reports',
  'export',
  'x',
  'a.b',
  'a.b.json',
  'files',
  'settings',
  'info',
  'İnfo',
  'straße',
  'strasse',
  'ünï',
  'v1',
  'q.csv',
  '.csv',
  'axbyc',
  'abc',
  'ac',
  'b',
  'x.json',
  '7',
];
const HOSTNAMES = [
  'app.example.com',
  'billing.example.com',
  'example.com',
  'a.b.example.com',
  'x.tenants.example.com',
  'tenants.example.com',
  'other.test',
  'xexample.com',
];
const matcherInput = fc.record({
  policy: validPolicy,
  hostname: fc.constantFrom(...HOSTNAMES),
  methods: fc.shuffledSubarray(['DELETE', 'POST', 'GET', 'HEAD', 'PUT', 'PATCH', 'OPTIONS', '*'], { minLength: 1, maxLength: 3 }),
  segments: fc.array(fc.constantFrom(...SEGMENTS), { maxLength: 5 }),
});
const matcherStats = new Stats();

const matcherProperty = fc.property(matcherInput, ({ policy: doc, hostname, methods, segments }) => {
  matcherStats.case();
  let policy: ReturnType<typeof validatePolicy>;
  try {
    policy = validatePolicy(doc);
  } catch (err) {
    return fail(`a valid policy is refused: ${err instanceof Error ? err.message : String(err)}: ${show(doc)}`);
  }
  const compiled = compilePolicy(policy);
  const sensitive = policy.caseSensitive === true;
  // Segments as canonicalizeRequest hands them over: folded unless the policy is case-sensitive.
  const segs = sensitive ? segments : segments.map(fold);
  const eq = sensitive ? (p: string, s: string) => p === s : (p: string, s: string) => fold(p) === s;
  const got = compiled.match(hostname, methods, segs);
  const want = referenceMatch(policy.rules as readonly RefRule[], hostname, methods, segs, eq);
  if ((got?.rule.id ?? null) !== (want?.id ?? null) || (got && want && want.method !== '*' && got.method !== want.method)) {
    fail(
      `compiled ${show(got && [got.rule.id, got.method])} ≠ reference ${show(want && [want.id, want.method])} ` +
        `for ${hostname} ${show(methods)} ${show(segs)} in ${show(policy.rules.map((r) => r.match))}`,
    );
  }
  if (got) matcherStats.add('matched');
  // Some rule covers this path under some method ⇒ a POST body here must be read for `_method`.
  const anyMethod = referenceMatch(policy.rules as readonly RefRule[], hostname, ['*'], segs, eq);
  const may = compiled.pathMayMatch(hostname, segs);
  if (anyMethod && !may)
    fail(
      `pathMayMatch is false, but rule ${show(anyMethod.id)} covers ${hostname} ${show(segs)} ` +
        `(a POST with _method in its body would not be read): ${show(policy.rules.map((r) => r.match))}`,
    );
  if (!anyMethod && may) matcherStats.add('pathMayMatch-over-approximates');
  if (may) matcherStats.add('path-may-match');
  const serves =
    policy.hosts === undefined ||
    policy.hosts.some((h) => (h.startsWith('*.') ? hostname.endsWith(h.slice(1)) && hostname.length > h.length - 1 : hostname === h));
  if (compiled.servesHost(hostname) !== serves) fail(`servesHost(${hostname}) is ${!serves} with hosts ${show(policy.hosts)}`);
  return true;
});

export const policyTargets: FuzzTarget[] = [
  {
    name: 'policy/validate',
    parser: 'edge/policy/validate-policy.ts validatePolicy/parsePolicy + compilePolicy',
    oracle:
      'Policy or PolicyError (with problems) only; accepted ⇒ compiles and ' +
      'validate(JSON copy) is deep-equal; unsupported pattern characters refused',
    stats: validateStats,
    build: () => validateProperty,
    extraReport: oddCharReport,
  },
  {
    name: 'policy/matcher',
    parser: 'edge/policy/compile-policy.ts match/pathMayMatch/servesHost on generated valid policies',
    oracle:
      'generated valid policies accepted; compiled = reference matcher (docs/policy.md); ' +
      'rule covers path ⇒ pathMayMatch; servesHost = hosts',
    stats: matcherStats,
    build: () => matcherProperty,
  },
];
