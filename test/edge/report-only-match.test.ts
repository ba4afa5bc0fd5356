/**
 * Report-only rules (`"mode": "report"`) in the matcher: they never take a request from an enforce
 * rule (above or below them), and they report exactly the requests they would take if each alone
 * were enforced — by file order, by claimed methods first, and with the extension-less retry.
 */
import { describe, expect, it } from 'vitest';
import { canonicalizeRequest } from '../../edge/policy/canonical-request';
import { compilePolicy } from '../../edge/policy/compile-policy';
import type { Rule } from '../../edge/policy/schema';
import { PolicyError, validatePolicy } from '../../edge/policy/validate-policy';

const rule = (id: string, methods: string[] | undefined, path: string, mode?: 'report' | 'enforce'): Rule => ({
  id,
  ...(mode ? { mode } : {}),
  match: { ...(methods ? { methods } : {}), path },
  require: { factors: ['totp'], bind: 'session' },
});

const compiled = (...rules: Rule[]) => compilePolicy(validatePolicy({ version: 1, rules }));

const ask = (policy: ReturnType<typeof compiled>, line: string, headers: Record<string, string> = {}) => {
  const [method, path] = line.split(' ') as [string, string];
  const c = canonicalizeRequest(method, `http://app.example.com${path}`, new Headers(headers));
  return {
    enforced: policy.match(c.hostname, c.methods, c.matchSegments)?.rule.id ?? null,
    reported: policy.reportMatches(c.hostname, c.methods, c.matchSegments).map((m) => `${m.rule.id} ${m.method}`),
  };
};

describe('the policy format', () => {
  it('accepts "mode": "report" or "enforce" (default enforce) and refuses anything else, naming rule and field', () => {
    const p = compiled(rule('a', ['POST'], '/x', 'report'), rule('b', ['POST'], '/y', 'enforce'), rule('c', ['POST'], '/z'));
    expect(p.rules.map((r) => r.mode)).toEqual(['report', 'enforce', 'enforce']);
    expect(p.hasReportRules).toBe(true);
    expect(compiled(rule('c', ['POST'], '/z')).hasReportRules).toBe(false);
    const bad = { version: 1, rules: [{ ...rule('shadowy', ['POST'], '/x'), mode: 'shadow' }] };
    expect(() => validatePolicy(bad)).toThrow(PolicyError);
    try {
      validatePolicy(bad);
    } catch (e) {
      expect((e as PolicyError).problems).toEqual([
        expect.objectContaining({ rule: '"shadowy"', field: 'mode', message: expect.stringContaining('"report"') }),
      ]);
    }
  });
});

describe('a report rule never shadows an enforce rule', () => {
  it('above an enforce rule it matches: the enforce rule still applies, and the report rule counts the request', () => {
    const p = compiled(rule('try-posts', ['POST'], '/api/**', 'report'), rule('create', ['POST'], '/api/projects'));
    expect(ask(p, 'POST /api/projects')).toEqual({ enforced: 'create', reported: ['try-posts POST'] });
    expect(ask(p, 'POST /api/other')).toEqual({ enforced: null, reported: ['try-posts POST'] });
    expect(ask(p, 'GET /api/projects')).toEqual({ enforced: null, reported: [] });
  });

  it('below an enforce rule that takes the request: not counted (it would never have been reached)', () => {
    const p = compiled(rule('create', ['POST'], '/api/projects'), rule('try-posts', ['POST'], '/api/**', 'report'));
    expect(ask(p, 'POST /api/projects')).toEqual({ enforced: 'create', reported: [] });
    expect(ask(p, 'POST /api/other')).toEqual({ enforced: null, reported: ['try-posts POST'] });
  });

  it('claimed methods come first, as once enforced: a report DELETE rule below a POST rule counts a POST claiming DELETE', () => {
    const p = compiled(rule('posts', ['POST'], '/api/**'), rule('try-delete', ['DELETE'], '/api/projects/*', 'report'));
    expect(ask(p, 'POST /api/projects/7', { 'x-http-method-override': 'DELETE' })).toEqual({
      enforced: 'posts',
      reported: ['try-delete DELETE'],
    });
    expect(ask(p, 'POST /api/projects/7')).toEqual({ enforced: 'posts', reported: [] });
  });

  it('each report rule is judged alone: two that match both count; the extension-less retry applies as in match()', () => {
    const p = compiled(rule('r1', undefined, '/admin/**', 'report'), rule('r2', ['POST'], '/admin/users/*/ban', 'report'));
    expect(ask(p, 'POST /admin/users/5/ban')).toEqual({ enforced: null, reported: ['r1 POST', 'r2 POST'] });
    expect(ask(p, 'POST /admin/users/5/ban.json')).toEqual({ enforced: null, reported: ['r1 POST', 'r2 POST'] });
    // An earlier enforce rule matching the full path takes it, for report rules as for match().
    const q = compiled(rule('json', ['POST'], '/admin/users/*/*.json'), rule('r2', ['POST'], '/admin/users/*/ban', 'report'));
    expect(ask(q, 'POST /admin/users/5/ban.json')).toEqual({ enforced: 'json', reported: [] });
  });

  it('file order decides over both variants: a report rule reached by dropping the extension counts ahead of a later direct match', () => {
    const p = compiled(rule('r2', ['POST'], '/admin/users/*/ban', 'report'), rule('json', ['POST'], '/admin/users/*/*.json'));
    expect(ask(p, 'POST /admin/users/5/ban.json')).toEqual({ enforced: 'json', reported: ['r2 POST'] });
    // Once promoted it takes the request, as it counted.
    const promoted = compiled(rule('r2', ['POST'], '/admin/users/*/ban'), rule('json', ['POST'], '/admin/users/*/*.json'));
    expect(ask(promoted, 'POST /admin/users/5/ban.json')).toEqual({ enforced: 'r2', reported: [] });
  });

  it('a policy of report rules only protects nothing', () => {
    const p = compiled(rule('r', undefined, '/**', 'report'));
    expect(ask(p, 'DELETE /anything')).toEqual({ enforced: null, reported: ['r DELETE'] });
    expect(p.pathMayMatch('app.example.com', ['anything'])).toBe(false); // no body is read for a report rule
  });
});
