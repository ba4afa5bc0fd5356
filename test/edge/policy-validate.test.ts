/** Policy validation reports every problem by file, rule id and field; the published schema stays in step. */
import { describe, expect, it } from 'vitest';
import demoPolicy from '../../edge/config/policy.json';
import publishedSchema from '../../edge/policy/policy.schema.json';
import { compilePolicy } from '../../edge/policy/compile-policy';
import { policyJsonSchema } from '../../edge/policy/schema';
import { formatProblem, PolicyError, parsePolicy, validatePolicy } from '../../edge/policy/validate-policy';
import { hasHiddenCharacters } from '../../shared/visible-text';

const problems = (doc: unknown) => {
  try {
    validatePolicy(doc, 'acme.json');
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    return (e as PolicyError).problems;
  }
  throw new Error('expected the policy to be refused');
};

describe('validatePolicy', () => {
  it('accepts the demo policy', () => {
    expect(validatePolicy(demoPolicy).rules.map((r) => r.id)).toEqual(['admin-writes', 'delete-production-project', 'delete-project']);
  });

  it('names file, rule id and field for each problem', () => {
    const ps = problems({
      version: 1,
      rules: [
        { id: 'ok', match: { path: '/a' }, require: { factors: ['totp'], bind: 'session' } },
        { id: 'bad-age', match: { path: '/b' }, require: { factors: ['totp'], bind: 'session', maxAge: '5 minutes' } },
        { id: 'bad-path', match: { path: 'admin/**', methods: ['delete'] }, require: { factors: ['sms'], bind: 'session' } },
        { match: { path: '/c' }, require: { factors: ['totp'], bind: 'forever' } },
      ],
    });
    expect(ps).toContainEqual(expect.objectContaining({ file: 'acme.json', rule: '"bad-age"', field: 'require.maxAge' }));
    expect(ps).toContainEqual(expect.objectContaining({ rule: '"bad-path"', field: 'match.path' }));
    expect(ps).toContainEqual(expect.objectContaining({ rule: '"bad-path"', field: 'match.methods.0' }));
    expect(ps).toContainEqual(expect.objectContaining({ rule: '"bad-path"', field: 'require.factors.0' }));
    expect(ps).toContainEqual(expect.objectContaining({ rule: '#4', field: 'id' }));
    expect(ps).toContainEqual(expect.objectContaining({ rule: '#4', field: 'require.bind' }));
    expect(ps.find((p) => p.field === 'require.maxAge')!.message).toContain('"5 minutes"');
  });

  it('refuses unknown fields (a typo must not silently unprotect a route)', () => {
    const ps = problems({
      version: 1,
      rules: [{ id: 'r', match: { path: '/a', metods: ['DELETE'] }, require: { factors: ['totp'], bind: 'session' } }],
    });
    expect(ps).toEqual([expect.objectContaining({ rule: '"r"', field: 'match', message: 'unknown field(s) "metods"' })]);
  });

  it.each([
    ['/admin/**x', '"**" must be a whole segment'],
    ['/admin/../x', '".."'],
    ['/a//b', 'empty'],
    ['/a%2Fb', '"%"'],
    ['/a;b', '";"'],
  ])('refuses path pattern %s', (path, msg) => {
    const [p] = problems({ version: 1, rules: [{ id: 'r', match: { path }, require: { factors: ['totp'], bind: 'session' } }] });
    expect(p!.field).toBe('match.path');
    expect(p!.message).toContain(msg);
  });

  it('refuses duplicate rule ids', () => {
    const rule = { id: 'dup', match: { path: '/a' }, require: { factors: ['totp'], bind: 'session' } };
    expect(problems({ version: 1, rules: [rule, rule] })).toEqual([
      expect.objectContaining({ rule: '"dup"', field: 'id', message: 'duplicate rule id' }),
    ]);
  });

  it('reports JSON syntax errors with the file name', () => {
    expect(() => parsePolicy('{"version": 1,', 'broken.json')).toThrow(/^broken\.json: \(document\): not valid JSON/);
  });
});

const GLOB = 'is not supported — Stepgate patterns know only "*" (one segment) and "**" (any depth); write each path out or use "*"';
const HIDDEN = 'which a pattern may not contain: it would match only a path with that same hidden character';

/** Each class of character the matcher does not implement, one pattern with it, and what the message says. */
const REFUSED_PATHS: [string, string, string][] = [
  ['a character class', '/api/projects/[0-9]', `"[0-9]" ${GLOB}`],
  ['an unclosed "["', '/api/projects/[', `"[" ${GLOB}`],
  ['a stray "]"', '/api/a]b', `"]" ${GLOB}`],
  ['an alternation', '/api/{projects,teams}/*', `"{projects,teams}" ${GLOB}`],
  ['a stray "}"', '/api/a}b', `"}" ${GLOB}`],
  ['"?"', '/api/projects/?', `"?" ${GLOB}`],
  ['"#"', '/a#b', 'may not contain "#" (write paths decoded'],
  ['"\\"', '/a\\b', 'may not contain "\\"'],
  ['a space', '/a b', 'may not contain whitespace (U+0020)'],
  ['a no-break space', '/a\u00a0b', 'may not contain whitespace (U+00A0)'],
  ['NUL', '/admin\0/**', `contains control character U+0000 NULL, ${HIDDEN}`],
  ['ESC (another C0 control)', '/a\u001bb', 'contains control character U+001B ESCAPE'],
  ['a tab', '/a\tb', 'contains control character U+0009'],
  ['a newline', '/a\nb', 'contains control character U+000A'],
  ['DEL', '/a\u007fb', 'contains control character U+007F DELETE'],
  ['a C1 control', '/a\u0085b', 'contains control character U+0085 NEXT LINE'],
  ['a zero-width space', '/admin\u200b/**', `contains invisible character U+200B ZERO WIDTH SPACE, ${HIDDEN}`],
  ['a zero-width joiner', '/a\u200db', 'U+200D ZERO WIDTH JOINER'],
  ['a word joiner', '/a\u2060b', 'U+2060 WORD JOINER'],
  ['a byte order mark', '/\ufeffadmin', 'U+FEFF ZERO WIDTH NO-BREAK SPACE'],
  ['a soft hyphen', '/ad\u00admin', 'U+00AD SOFT HYPHEN'],
  ['a bidi override', '/a\u202eb', 'contains bidirectional control U+202E RIGHT-TO-LEFT OVERRIDE'],
  ['a bidi isolate', '/a\u2066b', 'bidirectional control U+2066'],
  ['a bidi mark', '/a\u200fb', 'bidirectional control U+200F RIGHT-TO-LEFT MARK'],
  ['a tag character', '/admin\u{E0041}', 'U+E0041 TAG "A"'],
  ['a variation selector', '/a\ufe0fb', 'U+FE0F VARIATION SELECTOR-16'],
  ['a Hangul filler', '/a\u3164b', 'U+3164 HANGUL FILLER'],
  ['a line separator', '/a\u2028b', 'line break character U+2028'],
  ['an unpaired surrogate', '/a\ud800b', 'unpaired surrogate U+D800'],
  ['a noncharacter', '/a\uffffb', 'noncharacter U+FFFF'],
];

const publishedPathPattern = (): RegExp => {
  const rule = (
    publishedSchema as unknown as {
      properties: { rules: { items: { properties: { match: { properties: { path: { anyOf: [{ pattern: string }] } } } } } } };
    }
  ).properties.rules.items;
  // JSON Schema patterns are ECMA-262; editors and validators (VS Code, ajv) compile them with the `u` flag.
  return new RegExp(rule.properties.match.properties.path.anyOf[0].pattern, 'u');
};
const rule = (match: Record<string, unknown>) => ({ id: 'delete-project', match, require: { factors: ['totp'], bind: 'action' } });
const ok = { id: 'admin-writes', match: { path: '/admin/**' }, require: { factors: ['totp'], bind: 'session' } };

describe('patterns hold only what the matcher implements ("*", "**" and literal text)', () => {
  it.each(REFUSED_PATHS)('refuses %s in a path pattern, naming rule and field: %j', (_what, path, message) => {
    const ps = problems({ version: 1, rules: [ok, rule({ methods: ['DELETE'], path })] });
    expect(ps).toEqual([{ file: 'acme.json', rule: '"delete-project"', field: 'match.path', message: expect.stringContaining(message) }]);
    expect(formatProblem(ps[0]!)).toMatch(/^acme\.json: rule "delete-project": match\.path: /);
    // What is shown of the pattern has no hidden character left in it.
    expect(hasHiddenCharacters(ps[0]!.message)).toBe(false);
    // In a list of patterns, the field names the entry.
    expect(problems({ version: 1, rules: [ok, rule({ path: ['/api/projects/*', path] })] })).toEqual([
      expect.objectContaining({ rule: '"delete-project"', field: 'match.path.1' }),
    ]);
    // The published JSON Schema refuses it too, and the matcher will not compile it unvalidated.
    expect(publishedPathPattern().test(path)).toBe(false);
    expect(() => compilePolicy({ version: 1, rules: [rule({ path }) as never] })).toThrow(TypeError);
  });

  it('the exact message for a character class', () => {
    const [p] = problems({ version: 1, rules: [ok, rule({ path: '/api/projects/[0-9]' })] });
    expect(formatProblem(p!)).toBe(`acme.json: rule "delete-project": match.path: "[0-9]" ${GLOB} (got "/api/projects/[0-9]")`);
  });

  it.each([
    ['"*" inside a host', 'app.*.example.com', '"*" is not supported — host patterns know only "*." at the start'],
    ['a character class', 'app[1-2].example.com', '"[1-2]" is not supported'],
    ['an alternation', '{app,api}.example.com', '"{app,api}" is not supported'],
    ['"?"', 'app?.example.com', '"?" is not supported'],
    ['NUL', 'app\0.example.com', 'contains control character U+0000 NULL'],
    [
      'a zero-width space',
      'app\u200b.example.com',
      'contains invisible character U+200B ZERO WIDTH SPACE, which a pattern may not contain: it would match only a host',
    ],
    ['a bidi override', 'app.example.com\u202e', 'bidirectional control U+202E'],
  ])('refuses %s in a host pattern, in match.host and in hosts: %j', (_what, host, message) => {
    expect(problems({ version: 1, rules: [ok, rule({ path: '/a', host })] })).toEqual([
      { file: 'acme.json', rule: '"delete-project"', field: 'match.host', message: expect.stringContaining(message) },
    ]);
    expect(problems({ version: 1, hosts: ['ok.example.com', host], rules: [ok] })).toEqual([
      { file: 'acme.json', field: 'hosts.1', message: expect.stringContaining(message) },
    ]);
  });

  it.each([
    '/api/projects/*',
    '/admin/**',
    '/reports/*.csv',
    '/reports/**/export',
    '/files/a*b*c',
    '/straße/İnfo',
    '/東京/*',
    '/a+b/(x)/!y',
    '/~user/a:b@c',
    '/a,b/$x=1',
    "/it's/a|b^c",
  ])('accepts the literal text and wildcards it implements: %s', (path) => {
    expect(validatePolicy({ version: 1, rules: [rule({ path })] }).rules[0]!.match.path).toBe(path);
    expect(publishedPathPattern().test(path)).toBe(true);
  });

  it('refuses exactly the hidden characters, whitespace and ? [ ] { } # ; \\ %, over every code point (schema and validator agree)', () => {
    const pattern = publishedPathPattern();
    const unexpected: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      const ch = String.fromCodePoint(cp);
      const refused = hasHiddenCharacters(ch) || /\s/u.test(ch) || '?[]{}#;\\%'.includes(ch);
      if (pattern.test(`/a${ch}`) === refused) unexpected.push(`U+${cp.toString(16).toUpperCase()}`);
      if (unexpected.length > 10) break;
    }
    expect(unexpected).toEqual([]);
  });
});

describe('the published JSON Schema', () => {
  it('is exactly what the zod schema generates (run `npx stepgate policy schema` to refresh it)', () => {
    expect(publishedSchema).toEqual(policyJsonSchema());
  });
});
