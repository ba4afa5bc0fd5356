/**
 * GET /.stepgate/api/admin/orgs/:org/apps/:app/policy/report: what an app's report-only rules would
 * have challenged, for those who may read its policy (policy.read) — and nobody else; bad input is
 * a clear 400 and nothing is read.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { ReportCounter } from '../../edge/policy/report-counter';
import { as, type Caller, makeToken, person, withToken } from './admin-callers';
import { seedRole } from './seed-roles';

const PATH = '/.stepgate/api/admin/orgs/default/apps/bundled/policy/report';

let owner: Caller;
let stranger: Caller;
let otherAppAdmin: Caller;
beforeAll(async () => {
  owner = await person('rep-owner');
  stranger = await person('rep-stranger');
  otherAppAdmin = await person('rep-appadmin');
  await seedRole('rep-owner', 'owner');
  const identity = JSON.stringify({ source: 'cloudflareAccess', teamDomain: 'https://rep.cloudflareaccess.com', audience: 'rep' });
  await env.DB.prepare(
    'INSERT OR IGNORE INTO apps (id, org_id, name, origin_url, identity_json, created_at, updated_at) ' +
      "VALUES ('rep-other', 'default', 'Other', NULL, ?, 0, 0)",
  )
    .bind(identity)
    .run();
  await seedRole('rep-appadmin', 'app-admin', { appId: 'rep-other' });
  // Counts as the gateway's isolates would write them: two hours ago (in a 24-hour window, not in a 1-hour one) and now.
  const c = new ReportCounter(0);
  const now = Date.now();
  c.add({ appId: 'bundled', ruleId: 'try-create', route: 'POST /api/projects', person: 'p1', now: now - 2 * 3_600_000 });
  for (const person of ['p1', 'p2', '']) c.add({ appId: 'bundled', ruleId: 'try-create', route: 'POST /api/projects', person, now });
  c.add({ appId: 'bundled', ruleId: 'try-create', route: 'POST /api/projects/import', person: 'p2', now });
  c.add({ appId: 'rep-other', ruleId: 'elsewhere', route: 'GET /x', person: 'p1', now });
  await c.flushNow(env.DB);
});

describe('the report endpoint', () => {
  it('gives an owner, per rule: requests, distinct people, anonymous requests and the top routes', async () => {
    const r = await as(owner, 'GET', PATH);
    expect(r.status).toBe(200);
    const body = (await r.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ app_id: 'bundled', hours: 24, dropped: 0 });
    expect(body.rules).toEqual([
      {
        rule: 'try-create',
        requests: 5,
        people: 2,
        anonymous: 1,
        top_routes: [
          { route: 'POST /api/projects', requests: 4 },
          { route: 'POST /api/projects/import', requests: 1 },
        ],
      },
    ]);
    const lastHour = (await (await as(owner, 'GET', `${PATH}?hours=1`)).json()) as { rules: { requests: number }[] };
    expect(lastHour.rules[0]!.requests).toBe(4);
  });

  it('works with a token of admin:read (as the CLI would call it)', async () => {
    const t = await makeToken(owner, ['admin:read']);
    expect(t.status).toBe(201);
    const r = await withToken(t.token, 'app.test', 'GET', PATH);
    expect(r.status).toBe(200);
  });

  it('refuses anyone who may not read the policy: no role (404), an app-admin of another app (404 naming nothing)', async () => {
    for (const who of [stranger, otherAppAdmin]) {
      const r = await as(who, 'GET', PATH);
      expect(r.status).toBe(404);
      expect(await r.text()).not.toContain('try-create');
    }
    // Their own app's report is theirs to read.
    const own = await as(otherAppAdmin, 'GET', '/.stepgate/api/admin/orgs/default/apps/rep-other/policy/report');
    expect(own.status).toBe(200);
    expect(((await own.json()) as { rules: { rule: string }[] }).rules.map((r) => r.rule)).toEqual(['elsewhere']);
  });

  it('answers bad input with a clear 400 and an unknown app with 404', async () => {
    for (const q of ['0', '169', 'abc', '1.5', '-1', '024']) {
      const r = await as(owner, 'GET', `${PATH}?hours=${q}`);
      expect(r.status).toBe(400);
      expect(((await r.json()) as { detail: string }).detail).toMatch(/hours: a whole number from 1 to 168/);
    }
    expect((await as(owner, 'GET', '/.stepgate/api/admin/orgs/default/apps/no-such-app/policy/report')).status).toBe(404);
  });
});
