/**
 * The console's tester and replay (edge/policy/policy-tester.ts, policy-replay.ts): which rule takes a
 * request and what happens, decided as the gateway decides (canonicalization, claimed methods, hosts,
 * report-only rules), and which recorded routes a draft changes.
 */
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../edge/policy/compile-policy';
import { MAX_REPLAY_CHANGES, replayRoutes } from '../../edge/policy/policy-replay';
import { testRequest } from '../../edge/policy/policy-tester';
import type { RouteSample } from '../../edge/policy/route-sample-store';
import { validatePolicy } from '../../edge/policy/validate-policy';

const compiled = (doc: unknown) => compilePolicy(validatePolicy(doc));
const base = {
  version: 1,
  hosts: ['app.example.com'],
  rules: [
    {
      id: 'admin-writes',
      match: { methods: ['POST', 'PUT', 'PATCH', 'DELETE'], path: '/admin/**' },
      require: { factors: ['webauthn', 'totp'], bind: 'session', maxAge: '5m' },
    },
    { id: 'delete-project', match: { methods: ['DELETE'], path: '/api/projects/*' }, require: { factors: ['webauthn'], bind: 'action' } },
    {
      id: 'try-create',
      mode: 'report',
      match: { methods: ['POST'], path: '/api/projects' },
      require: { factors: ['webauthn'], bind: 'session' },
    },
  ],
};
const policy = compiled(base);

describe('testRequest', () => {
  it('names the rule and the outcome of each kind, in a sentence', () => {
    expect(testRequest(policy, 'POST', '/admin/users')).toMatchObject({ rule: 'admin-writes', mode: 'enforce', outcome: 'step-up' });
    expect(testRequest(policy, 'POST', '/admin/users').text).toMatch(/steps up with webauthn or totp.*5 min/);
    expect(testRequest(policy, 'DELETE', 'https://app.example.com/api/projects/7')).toMatchObject({
      rule: 'delete-project',
      outcome: 'approve-action',
    });
    expect(testRequest(policy, 'POST', '/api/projects')).toMatchObject({ rule: 'try-create', mode: 'report', outcome: 'report-only' });
    const pass = testRequest(policy, 'GET', '/api/projects/7');
    expect(pass).toMatchObject({ rule: null, mode: null, outcome: 'pass' });
    expect(pass.text).toContain('GET app.example.com/api/projects/7');
  });

  it('decides as the gateway does: claimed methods, HEAD as GET, case folding, encoded paths', () => {
    // A POST that claims DELETE in the query is the DELETE the origin will see.
    const claimed = testRequest(policy, 'POST', '/api/projects/7?_method=DELETE');
    expect(claimed).toMatchObject({ rule: 'delete-project', outcome: 'approve-action' });
    expect(claimed.text).toContain('matched as DELETE');
    expect(testRequest(policy, 'post', '/ADMIN/Users')).toMatchObject({ rule: 'admin-writes' });
    expect(testRequest(policy, 'POST', '/%61dmin/users')).toMatchObject({ rule: 'admin-writes' });
  });

  it('refuses what the gateway refuses, with the reason', () => {
    const other = testRequest(policy, 'GET', 'https://evil.example.net/admin');
    expect(other).toMatchObject({ outcome: 'refused', rule: null });
    expect(other.text).toMatch(/421/);
    const notApp = testRequest(policy, 'GET', 'https://app.example.com/x', { appHosts: ['other.example.com'] });
    expect(notApp.outcome).toBe('refused');
    expect(notApp.text).toContain("not one of this app's hosts");
    // PATH_INFO after a script is refused (400) unless allowPathInfo.
    expect(testRequest(policy, 'GET', '/index.php/admin').outcome).toBe('refused');
    expect(testRequest(policy, 'TRACE', '/x').outcome).toBe('refused');
  });

  it('tests a path on the app’s first host, else the policy’s first exact host', () => {
    const open = compiled({
      version: 1,
      rules: [{ id: 'h', match: { host: 'a.example.com', path: '/**' }, require: { factors: ['totp'], bind: 'session' } }],
    });
    expect(testRequest(open, 'GET', '/x', { appHosts: ['a.example.com'] }).rule).toBe('h');
    expect(testRequest(open, 'GET', '/x', { appHosts: ['b.example.com'] }).rule).toBeNull();
  });
});

describe('replayRoutes', () => {
  const samples: RouteSample[] = [
    { method: 'POST', host: 'app.example.com', path: '/api/projects', requests: 41 },
    { method: 'DELETE', host: 'app.example.com', path: '/api/projects/7', requests: 3 },
    { method: 'GET', host: 'app.example.com', path: '/api/projects', requests: 900 },
    { method: 'POST', host: 'app.example.com', path: '/admin/users', requests: 5 },
  ];

  it('lists only the routes whose outcome changes, most requests first', () => {
    const promoted = compiled({ ...base, rules: base.rules.map((r) => (r.id === 'try-create' ? { ...r, mode: undefined } : r)) });
    const withoutDelete = compiled({ ...base, rules: base.rules.filter((r) => r.id !== 'delete-project') });
    expect(replayRoutes(samples, policy, policy)).toEqual({ routes: 4, changed: [] });
    expect(replayRoutes(samples, policy, promoted).changed).toEqual([
      { method: 'POST', host: 'app.example.com', path: '/api/projects', requests: 41, from: 'report-only', to: 'step-up' },
    ]);
    const both = compiled({
      ...base,
      rules: [...base.rules.filter((r) => r.id === 'admin-writes'), { ...base.rules[2]!, mode: undefined }],
    });
    expect(replayRoutes(samples, withoutDelete, both).changed.map((c) => [c.path, c.requests, c.from, c.to])).toEqual([
      ['/api/projects', 41, 'report-only', 'step-up'],
    ]);
    expect(replayRoutes(samples, policy, both).changed.map((c) => [c.method, c.path, c.from, c.to])).toEqual([
      ['POST', '/api/projects', 'report-only', 'step-up'],
      ['DELETE', '/api/projects/7', 'approve-action', 'pass'],
    ]);
  });

  it(`lists at most ${MAX_REPLAY_CHANGES} changes, the busiest`, () => {
    const many = Array.from({ length: 250 }, (_, i) => ({
      method: 'DELETE',
      host: 'app.example.com',
      path: `/api/projects/${i}`,
      requests: i,
    }));
    const open = compiled({ version: 1, hosts: ['app.example.com'], rules: [] });
    const r = replayRoutes(many, policy, open);
    expect(r.routes).toBe(250);
    expect(r.changed).toHaveLength(MAX_REPLAY_CHANGES);
    expect(r.changed[0]!.requests).toBe(249);
    expect(r.changed.at(-1)!.requests).toBe(150);
  });
});
