/**
 * The fuzz properties of test/fuzz (every parser on the request path) with a fixed seed and a few
 * hundred cases each, so the normal suite runs them in seconds; `npm run fuzz` runs ≥ 100,000 cases
 * per parser with fresh seeds. Below them, the cases fuzzing found, as plain regression tests.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { StepgateError } from '../../edge/http/stepgate-error';
import { canonicalizeRequest } from '../../edge/policy/canonical-request';
import { compilePolicy } from '../../edge/policy/compile-policy';
import { validatePolicy } from '../../edge/policy/validate-policy';
import { bodyMethodClaims } from '../../edge/request-path/method-override';
import demoPolicy from '../../edge/config/policy.json';
import { TARGETS } from '../fuzz/targets';

const SEED = 20261201;

describe('fuzz properties (short seed; npm run fuzz runs ≥ 100,000 cases per parser)', () => {
  afterAll(async () => {
    for (const t of TARGETS) await t.dispose?.();
  });

  for (const t of TARGETS) {
    it(`${t.name}: ${t.oracle}`, async () => {
      await fc.assert(await t.build(), { numRuns: t.seedRuns ?? 1000, seed: SEED });
    });
  }
});

const canon = (method: string, url: string, headers: Record<string, string> = {}) => canonicalizeRequest(method, url, new Headers(headers));
const refused = (f: () => unknown): StepgateError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(StepgateError);
    return e as StepgateError;
  }
  throw new Error('expected a refusal');
};
const demo = compilePolicy(validatePolicy(demoPolicy));

describe('found by fuzzing', () => {
  it('refuses a percent sign encoded so that the canonical path would decode a second time (%25%36%31dmin → %2561dmin → admin)', () => {
    // Was accepted as `/%2561dmin/settings` (segments ["%61dmin", "settings"], no rule); an origin
    // that decodes twice routes it to /admin/settings. Raw `%2561` was already refused.
    expect(refused(() => canon('POST', 'http://app.example.com/%25%36%31dmin/settings')).status).toBe(400);
    expect(refused(() => canon('GET', 'http://app.example.com/%254%31')).status).toBe(400);
    expect(canon('GET', 'http://app.example.com/100%25%20off').path).toBe('/100%25%20off'); // a lone % is fine
  });

  it('folds İ (U+0130) to i, as Java equalsIgnoreCase and Spring PathPattern (case-insensitive) do', () => {
    // Was: segments ["api̇", …] matched no rule, while a case-insensitive Spring origin routes
    // /apİ/projects/7 to /api/projects/{id}.
    const c = canon('DELETE', 'http://app.example.com/ap%C4%B0/projects/7');
    expect(c.matchSegments).toEqual(['api', 'projects', '7']);
    expect(demo.match(c.hostname, c.methods, c.matchSegments)?.rule.id).toBe('delete-project');
    const a = canon('POST', 'http://app.example.com/adm%C4%B0n/settings');
    expect(demo.match(a.hostname, a.methods, a.matchSegments)?.rule.id).toBe('admin-writes');
  });

  it('refuses a host with a trailing ".." (it was kept as "app.example.com.", so host rules did not apply)', () => {
    expect(refused(() => canon('GET', 'http://app.example.com../x')).status).toBe(400);
    expect(refused(() => canon('GET', 'http://app.example.com/x', { host: 'app.example.com..' })).status).toBe(400);
    expect(canon('GET', 'http://app.example.com./x').hostname).toBe('app.example.com');
  });

  it('treats a JSON body naming _method twice (once escaped) as every method', async () => {
    // JSON.parse keeps the last (PUT); a first-wins JSON parser takes DELETE, and `\u005f` hid the
    // second name from the mention count, so the body was read as PUT only.
    const body = new TextEncoder().encode('{"_method":"DELETE","\\u005fmethod":"PUT"}');
    const r = await bodyMethodClaims(body, 'application/json');
    expect(r.claims).toEqual(['PUT']);
    expect(r.anyMethod).toBe(true);
  });

  it('reads the body of a POST to a path a rule covers only through the extension fallback (ban.json)', () => {
    // Was: pathMayMatch ignored the `.json` fallback, so `POST /admin/users/5/ban.json` with
    // `_method=DELETE` was never read, and reached Rails as the DELETE the rule protects.
    const p = compilePolicy(
      validatePolicy({
        version: 1,
        rules: [
          {
            id: 'ban-user',
            match: { methods: ['DELETE'], path: '/admin/users/*/ban' },
            require: { factors: ['webauthn'], bind: 'action' },
          },
        ],
      }),
    );
    const c = canon('POST', 'http://app.example.com/admin/users/5/ban.json');
    expect(p.match(c.hostname, c.methods, c.matchSegments)).toBeNull(); // as a POST, nothing applies
    expect(p.pathMayMatch(c.hostname, c.matchSegments)).toBe(true); // so the body must be read
    expect(p.match(c.hostname, ['DELETE', ...c.methods], c.matchSegments)?.rule.id).toBe('ban-user');
  });
});
