/** Policy validation reports every problem by file, rule id and field; the published schema stays in step. */
import { describe, expect, it } from 'vitest';
import demoPolicy from '../../edge/config/policy.json';
import publishedSchema from '../../edge/policy/policy.schema.json';
import { policyJsonSchema } from '../../edge/policy/schema';
import { PolicyError, parsePolicy, validatePolicy } from '../../edge/policy/validate-policy';

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
    expect(validatePolicy(demoPolicy).rules.map((r) => r.id)).toEqual(['admin-writes', 'delete-project']);
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
    const ps = problems({ version: 1, rules: [{ id: 'r', match: { path: '/a', metods: ['DELETE'] }, require: { factors: ['totp'], bind: 'session' } }] });
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
    expect(problems({ version: 1, rules: [rule, rule] })).toEqual([expect.objectContaining({ rule: '"dup"', field: 'id', message: 'duplicate rule id' })]);
  });

  it('reports JSON syntax errors with the file name', () => {
    expect(() => parsePolicy('{"version": 1,', 'broken.json')).toThrow(/^broken\.json: \(document\): not valid JSON/);
  });
});

describe('the published JSON Schema', () => {
  it('is exactly what the zod schema generates (run `npx stepgate policy schema` to refresh it)', () => {
    expect(publishedSchema).toEqual(policyJsonSchema());
  });
});
