/**
 * Report-only rules on live traffic (issue 13, item 3), end to end in workerd with real D1 and the
 * real demo origin: a report rule never challenges and the request reaches the origin; the counts
 * per rule, route and person are right after a flush; an enforce rule below a report rule still
 * enforces; counting makes no D1 write per request and no audit event at all.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import demoPolicy from '../../edge/config/policy.json';
import { parseKeyring } from '../../edge/crypto/keyring';
import { createGateway } from '../../edge/gateway';
import { reportCounter, reportPersonHash } from '../../edge/policy/report-counter';
import { reportSummary } from '../../edge/policy/report-store';
import { sessionCookie } from '../support/session';

const origin = inject('originUrl');
const ring = parseKeyring(env.STEPGATE_KEYS);
const session = { factors: ['totp'], bind: 'session' } as const;

/** The demo policy with report rules around it: one for creating projects, one above the enforced delete rule. */
const policy = {
  version: 1,
  rules: [
    { id: 'try-create', mode: 'report', match: { methods: ['POST'], path: '/api/projects' }, require: session },
    { id: 'try-delete', mode: 'report', match: { methods: ['DELETE'], path: '/api/**' }, require: session },
    ...demoPolicy.rules,
    { id: 'try-reports', mode: 'report', match: { methods: ['GET'], path: '/reports/**' }, require: session },
  ],
};

const sendVia = async (g: ReturnType<typeof createGateway>, e: typeof env, path: string, init: RequestInit = {}): Promise<Response> => {
  const ctx = createExecutionContext();
  const res = await g.fetch(new Request(`http://app.test${path}`, init), e, ctx);
  await waitOnExecutionContext(ctx); // the count and its flush run after the answer
  return res;
};
const gw = createGateway(env, policy);
const send = (path: string, init: RequestInit = {}) => sendVia(gw, env, path, init);

const originSaw = async (marker: string) => {
  const all = (await (await fetch(`${origin}/__demo/requests`)).json()) as { method: string; url: string }[];
  return all.filter((r) => r.url.includes(marker));
};
const rowsOf = async (rule: string) =>
  (
    await env.DB.prepare(
      'SELECT route, person_hash, requests FROM policy_report_counts WHERE app_id = ? AND rule_id = ? ORDER BY route, person_hash',
    )
      .bind('bundled', rule)
      .all<{ route: string; person_hash: string; requests: number }>()
  ).results;
const summaryOf = async (rule: string) =>
  (await reportSummary(env.DB, ring, 'bundled', { sinceMs: Date.now() - 3_600_000 })).rules.find((r) => r.rule === rule);

let alice: string;
let bob: string;
beforeAll(async () => {
  reportCounter.flushEveryMs = 0; // flush on each count, so each request's count is in D1 once its waitUntil is done
  alice = await sessionCookie('alice');
  bob = await sessionCookie('bob');
});
afterAll(() => {
  reportCounter.flushEveryMs = 5_000;
});

describe('a report rule never challenges', () => {
  it('the request reaches the origin as if the rule did not exist: identified, anonymous, with a forged session', async () => {
    for (const [m, headers] of [
      ['m=rep-pass1', { cookie: alice }],
      ['m=rep-pass2', {}],
      ['m=rep-pass3', { cookie: 'demo_session=eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.' }],
    ] as const) {
      const res = await send(`/api/projects?${m}`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: '{}',
      });
      // Whatever the app answers (its own 401 "not signed in" for the anonymous ones), Stepgate asked nothing.
      expect(res.headers.get('www-authenticate')).toBeNull();
      expect(await res.text()).not.toContain('ERR_STEP_UP_REQUIRED');
      expect(await originSaw(m)).toHaveLength(1);
    }
  });

  it('an enforce rule below a report rule that also matches still enforces (and the report rule counts the request)', async () => {
    const res = await send('/api/projects/1?m=rep-enforce1', { method: 'DELETE', headers: { cookie: alice } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe('ERR_STEP_UP_REQUIRED');
    expect(await originSaw('m=rep-enforce1')).toEqual([]);
    expect(await rowsOf('try-delete')).toContainEqual(expect.objectContaining({ route: 'DELETE /api/projects/1' }));
  });
});

describe('counts after a flush', () => {
  it('per rule, route and person: requests, distinct people, anonymous requests, top routes; no query stored', async () => {
    for (let i = 0; i < 3; i++) await send(`/reports/q${i % 2}?secret=s${i}`, { headers: { cookie: alice } });
    await send('/reports/q0?secret=b', { headers: { cookie: bob } });
    await send('/reports/q1');
    await send('/reports-other/q1', { headers: { cookie: bob } }); // no report rule: not counted
    const rows = await rowsOf('try-reports');
    const [a, b] = await Promise.all([reportPersonHash(ring, 'bundled', 'alice'), reportPersonHash(ring, 'bundled', 'bob')]);
    expect(rows).toEqual(
      [
        { route: 'GET /reports/q0', person_hash: a, requests: 2 },
        { route: 'GET /reports/q0', person_hash: b, requests: 1 },
        { route: 'GET /reports/q1', person_hash: '', requests: 1 },
        { route: 'GET /reports/q1', person_hash: a, requests: 1 },
      ].sort((x, y) => (x.route + x.person_hash < y.route + y.person_hash ? -1 : 1)),
    );
    expect(rows.some((r) => r.route.includes('?') || r.route.includes('secret'))).toBe(false);
    // The person is a hash of neither the name nor the person index other tables use.
    expect(a).not.toContain('alice');
    expect(a).not.toMatch(/^test1\./);
    expect(await summaryOf('try-reports')).toEqual({
      rule: 'try-reports',
      requests: 5,
      people: 2,
      anonymous: 1,
      topRoutes: [
        { route: 'GET /reports/q0', requests: 3 },
        { route: 'GET /reports/q1', requests: 2 },
      ],
    });
  });

  it('a second isolate-style flush adds to the same rows (upsert), and the summary is per app', async () => {
    await send('/reports/q9', { headers: { cookie: alice } });
    await send('/reports/q9', { headers: { cookie: alice } });
    expect((await rowsOf('try-reports')).find((r) => r.route === 'GET /reports/q9')?.requests).toBe(2);
    expect((await reportSummary(env.DB, ring, 'some-other-app', { sinceMs: 0 })).rules).toEqual([]);
  });
});

describe('bounded work on the request path', () => {
  it('no D1 write per request: 20 counted requests are written in at most two batches', async () => {
    const reportBatches: number[] = [];
    const mine = new WeakSet<object>();
    const db = new Proxy(env.DB, {
      get(t, k) {
        if (k === 'prepare')
          return (sql: string) => {
            const s = t.prepare(sql);
            if (!sql.includes('policy_report_counts')) return s;
            const bind = s.bind.bind(s);
            s.bind = (...values: unknown[]) => {
              const bound = bind(...values);
              mine.add(bound);
              return bound;
            };
            return s;
          };
        if (k === 'batch')
          return (stmts: D1PreparedStatement[]) => {
            if (stmts.some((s) => mine.has(s))) reportBatches.push(stmts.length);
            return t.batch(stmts);
          };
        const v = Reflect.get(t, k);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
    const proxied = { ...env, DB: db };
    const g = createGateway(proxied, policy);
    reportCounter.flushEveryMs = 1_000;
    try {
      await reportCounter.flushNow(env.DB); // nothing left from before
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => sendVia(g, proxied, `/reports/batch${i % 4}`, { headers: { cookie: alice } })),
      );
    } finally {
      reportCounter.flushEveryMs = 0;
    }
    expect(reportBatches.length).toBeGreaterThanOrEqual(1);
    expect(reportBatches.length).toBeLessThanOrEqual(2);
    const batchRows = (await rowsOf('try-reports')).filter((r) => r.route.startsWith('GET /reports/batch'));
    expect(batchRows.map((r) => r.requests)).toEqual([5, 5, 5, 5]);
  });

  it('no audit event per report hit: 30 hits on unprotected routes leave the audit log as it was', async () => {
    const count = async () => (await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_events').first<{ n: number }>())!.n;
    const before = await count();
    for (let i = 0; i < 30; i++) await send(`/reports/flood${i}`, i % 2 ? { headers: { cookie: alice } } : {});
    expect(await count()).toBe(before);
    expect((await rowsOf('try-reports')).filter((r) => r.route.startsWith('GET /reports/flood'))).toHaveLength(30);
  });

  it('a very long path is stored cut to 512 characters', async () => {
    // Short segments: a long one would be masked as a secret (below).
    const long = `/reports/${'x/'.repeat(1000)}`;
    const res = await send(long, { headers: { cookie: alice } });
    expect(res.status).not.toBe(401);
    const row = (await rowsOf('try-reports')).find((r) => r.route.startsWith('GET /reports/x/x/'));
    expect([...row!.route]).toHaveLength(512);
    expect(row!.route.endsWith('…')).toBe(true);
  });
});

describe('secrets in paths are never counted', () => {
  const token = 'Zq8fXq0pL2mN7vB4cR9s-reset';

  it('a token segment is stored and shown as `*`: distinct tokens are one route, and no row holds one', async () => {
    for (const t of [token, 'Qm3nB8vC1xZ7lK9jH2gF', '9f86d081884c7d659a2feaa0c55ad015']) {
      await send(`/reports/reset/${t}`, { headers: { cookie: alice } });
    }
    const rows = (await rowsOf('try-reports')).filter((r) => r.route.startsWith('GET /reports/reset/'));
    expect(rows.map((r) => [r.route, r.requests])).toEqual([['GET /reports/reset/*', 3]]);
    const all = await env.DB.prepare('SELECT route FROM policy_report_counts').all<{ route: string }>();
    expect(all.results.some((r) => r.route.includes('Zq8f') || r.route.includes('9f86d0'))).toBe(false);
    expect((await summaryOf('try-reports'))!.topRoutes).toContainEqual({ route: 'GET /reports/reset/*', requests: 3 });
  });

  it('rows stored before masking existed are masked as they are read, merged into their route', async () => {
    const hour = Date.now() - (Date.now() % 3_600_000);
    await env.DB.prepare(
      "INSERT INTO policy_report_counts (app_id, hour, rule_id, route, person_hash, requests) VALUES ('rep-legacy', ?1, 'r', ?2, '', 4), " +
        "('rep-legacy', ?1, 'r', ?3, '', 3), ('rep-legacy', ?1, 'r', 'GET /a/7', '', 5)",
    )
      .bind(hour, `GET /magic/${token}`, 'GET /magic/AbCdEfGh12345678')
      .run();
    const s = await reportSummary(env.DB, ring, 'rep-legacy', { sinceMs: Date.now() });
    expect(s.rules[0]!.topRoutes).toEqual([
      { route: 'GET /magic/*', requests: 7 },
      { route: 'GET /a/7', requests: 5 },
    ]);
  });
});
