/** "Which rule matches this request": a pure function, specified by a table. */
import { describe, expect, it } from 'vitest';
import demoPolicy from '../../edge/config/policy.json';
import { canonicalizeRequest } from '../../edge/policy/canonical-request';
import { compilePolicy } from '../../edge/policy/compile-policy';
import { validatePolicy } from '../../edge/policy/validate-policy';

const policy = compilePolicy(
  validatePolicy({
    version: 1,
    rules: [
      ...demoPolicy.rules,
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
    ],
  }),
);

const which = (line: string, headers: Record<string, string> = {}): string | null => {
  const [method, url] = line.split(' ') as [string, string];
  const c = canonicalizeRequest(method, url.startsWith('http') ? url : `http://app.example.com${url}`, new Headers(headers));
  return policy.match(c.hostname, c.methods, c.matchSegments)?.rule.id ?? null;
};

describe('the demo policy', () => {
  it.each([
    ['DELETE /api/projects/7', 'delete-project'],
    ['DELETE /api/projects/4', 'delete-production-project'],
    // Dual control is not bypassed by a format suffix the origin routes to project 4 (Rails `(.:format)`):
    // the earlier rule, reached as `4.json` → `4`, wins over the later one matching `4.json` directly.
    ['DELETE /api/projects/4.json', 'delete-production-project'],
    ['DELETE /API/Projects/4.JSON', 'delete-production-project'],
    ['DELETE /api/projects/7.json', 'delete-project'],
    ['delete /api/projects/7', 'delete-project'],
    ['DELETE /API/PROJECTS/7', 'delete-project'],
    ['DELETE /api/projects/7/', 'delete-project'],
    ['DELETE /api/projects//7', 'delete-project'],
    ['DELETE /api/x/../projects/7', 'delete-project'],
    ['GET /api/projects/7', null],
    ['DELETE /api/projects', null],
    ['DELETE /api/projects/7/members/2', null],
    ['POST /admin/settings', 'admin-writes'],
    ['PUT /admin/users/9/roles', 'admin-writes'],
    ['PATCH /Admin/Settings', 'admin-writes'],
    ['POST /admin', 'admin-writes'], // "/admin/**" covers /admin itself
    ['GET /admin/settings', null],
    ['HEAD /admin/settings', null],
    ['POST /administrator', null],
    ['POST /api/projects/7', null],
    ['GET /', null],
  ])('%s → %s', (line, rule) => {
    expect(which(line)).toBe(rule);
  });

  it.each([
    ['POST /api/projects/7', { 'x-http-method-override': 'DELETE' }, 'delete-project'],
    ['GET /api/projects/7?_method=DELETE', {}, 'delete-project'],
    ['POST /admin/settings', { 'x-http-method-override': 'GET' }, 'admin-writes'],
    ['GET /admin/settings', { 'x-method-override': 'PATCH' }, 'admin-writes'],
  ])('%s with %j → %s (matched as the claimed method too)', (line, headers, rule) => {
    expect(which(line, headers)).toBe(rule);
  });
});

describe('hosts, globs and order', () => {
  it.each([
    ['POST https://billing.example.com/anything/at/all', 'billing-host'],
    ['POST https://BILLING.example.com./x', 'billing-host'],
    ['POST https://billing.example.com:8443/x', 'billing-host'],
    ['GET https://billing.example.com/x', null],
    ['POST https://shop.example.com/x', null],
    ['PUT https://acme.tenants.example.com/settings/sso', 'tenant-wildcard'],
    ['PUT https://a.b.tenants.example.com/settings/sso', 'tenant-wildcard'],
    ['PUT https://tenants.example.com/settings/sso', null],
    ['PUT https://acme.tenants.example.com/settings/sso/x', null],
    ['GET /reports/q3.csv', 'exports'],
    ['GET /reports/Q3.CSV', 'exports'],
    ['HEAD /reports/q3.csv', 'exports'],
    ['GET /reports/q3.csvx', null],
    ['GET /reports/2024/q3/export', 'exports'],
    ['GET /reports/export', 'exports'],
    ['GET /admin', 'exact-root-admin'],
    ['POST /admin', 'admin-writes'], // first rule in file order wins
  ])('%s → %s', (line, rule) => {
    expect(which(line)).toBe(rule);
  });

  it('answers whether any rule covers a path, whatever the method', () => {
    expect(policy.pathMayMatch('app.example.com', ['api', 'projects', '7'])).toBe(true);
    expect(policy.pathMayMatch('app.example.com', ['api', 'projects'])).toBe(false);
  });

  it('refuses hosts outside `hosts` when the policy lists them', () => {
    const p = compilePolicy(validatePolicy({ version: 1, hosts: ['app.example.com', '*.example.org'], rules: [] }));
    expect(p.servesHost('app.example.com')).toBe(true);
    expect(p.servesHost('x.example.org')).toBe(true);
    expect(p.servesHost('example.org')).toBe(false);
    expect(p.servesHost('127.0.0.1')).toBe(false);
  });

  it('is case-sensitive only when asked', () => {
    const p = compilePolicy(
      validatePolicy({
        version: 1,
        caseSensitive: true,
        rules: [{ id: 'r', match: { path: '/Admin/**' }, require: { factors: ['totp'], bind: 'session' } }],
      }),
    );
    const c = (u: string) => canonicalizeRequest('POST', u, new Headers(), { caseSensitive: true });
    expect(p.match('a', ['POST'], c('http://a/Admin/x').matchSegments)?.rule.id).toBe('r');
    expect(p.match('a', ['POST'], c('http://a/admin/x').matchSegments)).toBeNull();
  });
});

describe('overrides and format suffixes (found in review)', () => {
  const p = compilePolicy(
    validatePolicy({
      version: 1,
      rules: [
        { id: 'api-writes', match: { methods: ['POST'], path: '/api/**' }, require: { factors: ['totp'], bind: 'session', maxAge: '1h' } },
        { id: 'del', match: { methods: ['DELETE'], path: '/api/projects/*' }, require: { factors: ['webauthn'], bind: 'action' } },
        { id: 'ban', match: { methods: ['POST'], path: '/admin/users/*/ban' }, require: { factors: ['webauthn'], bind: 'action' } },
      ],
    }),
  );
  const m = (line: string, headers: Record<string, string> = {}) => {
    const [method, path] = line.split(' ') as [string, string];
    const c = canonicalizeRequest(method, `http://h${path}`, new Headers(headers));
    return p.match(c.hostname, c.methods, c.matchSegments);
  };

  it('matches the rule of the claimed method first, even when a rule for the real method comes earlier', () => {
    expect(m('POST /api/projects/5?_method=DELETE')).toMatchObject({ rule: { id: 'del' }, method: 'DELETE' });
    expect(m('POST /api/projects/5', { 'x-http-method-override': 'DELETE' })).toMatchObject({ rule: { id: 'del' } });
    expect(m('POST /api/projects/5')).toMatchObject({ rule: { id: 'api-writes' } });
  });

  it('matches "*" (an override Stepgate could not read exactly) against every method', () => {
    expect(p.match('h', ['*', 'POST'], ['admin', 'users', '7', 'ban'])).toMatchObject({ rule: { id: 'ban' } });
  });

  it('covers a format suffix on the last segment (Rails `(.:format)`)', () => {
    expect(m('POST /admin/users/5/ban.json')).toMatchObject({ rule: { id: 'ban' } });
    expect(m('POST /admin/users/5/ban.xml')).toMatchObject({ rule: { id: 'ban' } });
    expect(m('POST /admin/users/5/bandwidth')).toBeNull();
  });
});

describe('the first rule in file order wins, over the path and its extension-less variant alike', () => {
  const rule = (id: string, path: string, methods?: string[]) => ({
    id,
    match: { path, ...(methods ? { methods } : {}) },
    require: { factors: ['totp'], bind: 'session' },
  });
  const first = (rules: unknown[], method: string, segs: string[]) =>
    compilePolicy(validatePolicy({ version: 1, rules })).match('h', [method], segs)?.rule.id ?? null;

  it('an earlier rule reached by dropping the extension beats a later direct match', () => {
    expect(first([rule('four', '/x/4'), rule('json', '/x/*.json')], 'DELETE', ['x', '4.json'])).toBe('four');
    expect(first([rule('four', '/x/4'), rule('any', '/x/*')], 'DELETE', ['x', '4.json'])).toBe('four');
  });

  it('an earlier direct match beats a later rule reached by dropping the extension', () => {
    expect(first([rule('json', '/x/*.json'), rule('four', '/x/4')], 'DELETE', ['x', '4.json'])).toBe('json');
    expect(first([rule('any', '/x/*'), rule('four', '/x/4')], 'DELETE', ['x', '4.json'])).toBe('any');
  });

  it('a claimed method still comes first, whichever variant its rule matched', () => {
    const rules = [rule('posts', '/x/*', ['POST']), rule('del-four', '/x/4', ['DELETE'])];
    expect(first(rules, 'POST', ['x', '4.json'])).toBe('posts');
    const p = compilePolicy(validatePolicy({ version: 1, rules }));
    expect(p.match('h', ['DELETE', 'POST'], ['x', '4.json'])).toMatchObject({ rule: { id: 'del-four' }, method: 'DELETE' });
  });

  it('only the last segment loses its extension (from its first dot)', () => {
    expect(first([rule('four', '/x/4')], 'GET', ['x', '4.json.gz'])).toBe('four');
    expect(first([rule('four', '/x/4')], 'GET', ['x.json', '4'])).toBeNull();
    expect(first([rule('four', '/x/4')], 'GET', ['x', '.json'])).toBeNull();
  });
});

describe('matching cost does not grow with the number of rules', () => {
  it('finds the right rule among 10,000 compiled rules', () => {
    const make = (n: number) =>
      compilePolicy(
        validatePolicy({
          version: 1,
          rules: Array.from({ length: n }, (_, i) => ({
            id: `r${i}`,
            match: { path: `/svc${i}/items/*` },
            require: { factors: ['totp'], bind: 'session' },
          })),
        }),
      );
    const small = make(10);
    const large = make(10_000);
    const segs = ['svc5', 'items', '42'];
    expect(small.match('h', ['GET'], segs)?.rule.id).toBe('r5');
    expect(large.match('h', ['GET'], segs)?.rule.id).toBe('r5');
    expect(large.match('h', ['GET'], ['svc9999', 'items', '1'])?.rule.id).toBe('r9999');
    expect(large.match('h', ['GET'], ['nothing', 'here'])).toBeNull();
  });
});
