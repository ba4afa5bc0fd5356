/**
 * The dashboard (issue 12): `dashboardData` over a seeded set of events (several days, two apps,
 * another organisation, the range's edges) in a tenant of its own, counted exactly; the top lists
 * bounded and drawn from the newest denials; and GET /.stepgate/api/admin/orgs/{org}/dashboard
 * through the real gateway: who may read it, never another organisation's, the range's default,
 * its cap, and bad ranges refused with 400 before anything is recorded.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_TOP, DASHBOARD_TOP_SAMPLE, dashboardData } from '../../edge/audit/dashboard';
import type { AuditInput } from '../../edge/audit/events';
import { orgWithApp, ring } from './audit-orgs';
import { as, bodyOf, type Caller, callWith, newGateway, person } from './admin-callers';
import { seedRole } from './seed-roles';

const DAY = 86_400_000;
const D0 = Date.UTC(2026, 0, 10); // 2026-01-10
const sequencer = (t: string) => env.AUDIT_SEQUENCER.get(env.AUDIT_SEQUENCER.idFromName(`tenant:${t}`));

/** An event of `org`'s app `app` at `ts`; denials by `actor` on `route`. */
const ev = (
  ts: number,
  type: AuditInput['type'],
  org: string,
  app: string,
  actor: string | null = null,
  route = 'POST /api/a',
): AuditInput => {
  const [method, path] = route.split(' ') as [string, string];
  return {
    ts,
    type,
    outcome: type === 'grant.issued' ? 'success' : type === 'factor.failed' ? 'failure' : 'denied',
    actor,
    via: actor === null ? 'anonymous' : 'session',
    org,
    app_id: app,
    request: { method, path, ip: null, user_agent: null },
  };
};

describe('dashboardData', () => {
  const t = 'dash-counts';
  beforeAll(async () => {
    const h = 3_600_000;
    // In time order (the chain's times never go back).
    await sequencer(t).append(t, [
      ev(D0 - 1, 'request.denied', 'xorg', 'app-a', 'xorg/ann'), // the day before: outside
      ev(D0 + h, 'grant.issued', 'xorg', 'app-a', 'xorg/ann'),
      ev(D0 + 2 * h, 'grant.issued', 'xorg', 'app-a', 'xorg/ann'),
      ev(D0 + 3 * h, 'factor.failed', 'xorg', 'app-a', 'xorg/ann'),
      ev(D0 + 4 * h, 'request.denied', 'xorg', 'app-b', 'xorg/bob'),
      ev(D0 + 5 * h, 'challenge.issued', 'xorg', 'app-a', 'xorg/ann'), // not counted
      ev(D0 + DAY + h, 'request.denied', 'xorg', 'app-a', 'xorg/ann'),
      ev(D0 + DAY + h, 'request.denied', 'yorg', 'app-y', 'yorg/yan', 'POST /api/y'),
      ev(D0 + DAY + 2 * h, 'request.denied', 'xorg', 'app-a', 'xorg/ann'),
      ev(D0 + DAY + 2 * h, 'factor.failed', 'yorg', 'app-y', 'yorg/yan'),
      ev(D0 + DAY + 3 * h, 'request.denied', 'xorg', 'app-a', 'xorg/ann'),
      ev(D0 + DAY + 4 * h, 'user.locked_out', 'xorg', 'app-a', 'xorg/ann'),
      ev(D0 + 2 * DAY + h, 'request.denied', 'xorg', 'app-a', null, 'GET /api/b'),
      ev(D0 + 2 * DAY + 2 * h, 'grant.issued', 'xorg', 'app-b', 'xorg/bob'),
      ev(D0 + 3 * DAY - 1, 'grant.issued', 'xorg', 'app-b', 'xorg/bob'),
      ev(D0 + 3 * DAY, 'grant.issued', 'xorg', 'app-b', 'xorg/bob'), // the end is exclusive: outside
    ]);
  });

  it('counts step-ups, failures, denials and lockouts per UTC day and app, zeros included, of the organisation only', async () => {
    const d = await dashboardData(env.DB, ring, t, 'xorg', { from: D0, to: D0 + 3 * DAY, now: D0 });
    expect(d).toEqual({
      from: D0,
      to: D0 + 3 * DAY,
      apps: ['app-a', 'app-b'],
      days: [
        { day: '2026-01-10', app: 'app-a', stepUps: 2, failures: 1, denials: 0, lockouts: 0 },
        { day: '2026-01-10', app: 'app-b', stepUps: 0, failures: 0, denials: 1, lockouts: 0 },
        { day: '2026-01-11', app: 'app-a', stepUps: 0, failures: 0, denials: 3, lockouts: 1 },
        { day: '2026-01-11', app: 'app-b', stepUps: 0, failures: 0, denials: 0, lockouts: 0 },
        { day: '2026-01-12', app: 'app-a', stepUps: 0, failures: 0, denials: 1, lockouts: 0 },
        { day: '2026-01-12', app: 'app-b', stepUps: 2, failures: 0, denials: 0, lockouts: 0 },
      ],
      topDeniedRoutes: [
        { route: 'POST /api/a', count: 4 },
        { route: 'GET /api/b', count: 1 },
      ],
      // People as the organisation's apps name them; an anonymous denial names nobody.
      topDeniedPeople: [
        { person: 'ann', count: 3 },
        { person: 'bob', count: 1 },
      ],
      // Nothing of this tenant is archived.
      archivedThrough: null,
    });
    const y = await dashboardData(env.DB, ring, t, 'yorg', { from: D0, to: D0 + 3 * DAY, now: D0 });
    expect(y.apps).toEqual(['app-y']);
    expect(y.days.filter((x) => x.denials + x.failures > 0)).toEqual([
      { day: '2026-01-11', app: 'app-y', stepUps: 0, failures: 1, denials: 1, lockouts: 0 },
    ]);
    expect(y.topDeniedPeople).toEqual([{ person: 'yan', count: 1 }]);
    expect(JSON.stringify(y)).not.toContain('ann');
  });

  it('rounds a range out to whole UTC days, and defaults to the last 14 days up to the end of today', async () => {
    const d = await dashboardData(env.DB, ring, t, 'xorg', { from: D0 + DAY + 5, to: D0 + DAY + 6, now: 0 });
    // app-b had nothing counted that day.
    expect([d.from, d.to, d.apps, d.days.map((x) => x.day)]).toEqual([D0 + DAY, D0 + 2 * DAY, ['app-a'], ['2026-01-11']]);
    const now = D0 + 2 * DAY + 123;
    const def = await dashboardData(env.DB, ring, t, 'xorg', { now });
    expect([def.from, def.to]).toEqual([D0 + 3 * DAY - 14 * DAY, D0 + 3 * DAY]);
    expect(new Set(def.days.map((x) => x.day)).size).toBe(14);
  });

  it('refuses bad ranges: backwards, empty, longer than 90 days, before 1970', async () => {
    const at = async (from: number, to: number) => dashboardData(env.DB, ring, t, 'xorg', { from, to, now: D0 });
    await expect(at(D0 + DAY, D0)).rejects.toMatchObject({ status: 400 });
    await expect(at(D0, D0)).rejects.toMatchObject({ status: 400 });
    await expect(at(D0, D0 + 91 * DAY)).rejects.toMatchObject({ status: 400 });
    await expect(at(-DAY, D0)).rejects.toMatchObject({ status: 400 });
    expect((await at(D0, D0 + 90 * DAY)).days).toHaveLength(90 * 2);
  });

  it('top lists: at most 10 entries, drawn from the newest 5,000 denials of the range', async () => {
    const s = 'dash-top';
    const old = Array.from({ length: 10 }, (_, i) => ev(D0 + i, 'request.denied', 'xorg', 'app-a', 'xorg/old', 'GET /old'));
    const routes = Array.from({ length: 12 }, (_, i) =>
      Array.from({ length: i + 1 }, () => ev(D0 + 100, 'request.denied', 'xorg', 'app-a', `xorg/p${i}`, `GET /r${i}`)),
    ).flat();
    const newest = Array.from({ length: DASHBOARD_TOP_SAMPLE - routes.length }, () =>
      ev(D0 + 200, 'request.denied', 'xorg', 'app-a', 'xorg/new', 'GET /new'),
    );
    await sequencer(s).append(s, [...old, ...routes, ...newest]);
    const d = await dashboardData(env.DB, ring, s, 'xorg', { from: D0, to: D0 + DAY, now: D0 });
    expect(d.days[0]!.denials).toBe(DASHBOARD_TOP_SAMPLE + 10); // the counts are complete
    expect(d.topDeniedRoutes).toHaveLength(DASHBOARD_TOP);
    expect(d.topDeniedRoutes[0]).toEqual({ route: 'GET /new', count: newest.length });
    expect(d.topDeniedRoutes.slice(1).map((r) => r.route)).toEqual([
      'GET /r11',
      'GET /r10',
      'GET /r9',
      'GET /r8',
      'GET /r7',
      'GET /r6',
      'GET /r5',
      'GET /r4',
      'GET /r3',
    ]);
    // The 10 oldest fell outside the newest 5,000.
    expect(JSON.stringify(d.topDeniedPeople)).not.toContain('old');
  }, 60_000);
});

describe('GET /.stepgate/api/admin/orgs/{org}/dashboard', () => {
  const send = newGateway();
  let dApp: string;
  let dAud: Caller; // auditor of dorg
  let dHelp: Caller; // helpdesk of dorg
  let eAud: Caller; // auditor of eorg
  let dina: Caller; // auditor of default
  const url = (org: string, q = '') => `/.stepgate/api/admin/orgs/${org}/dashboard${q}`;
  const reads = async () =>
    (await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE type = 'audit.read' AND org = 'dorg'").first<{ n: number }>())!.n;

  beforeAll(async () => {
    dApp = await orgWithApp('dorg', 'd1.test');
    await orgWithApp('eorg', 'e1.test');
    await seedRole('dorg/da', 'auditor', { org: 'dorg' });
    await seedRole('dorg/dh', 'helpdesk', { org: 'dorg' });
    await seedRole('eorg/ea', 'auditor', { org: 'eorg' });
    await seedRole('dina', 'auditor');
    dAud = await person(send, 'da', 'd1.test');
    dHelp = await person(send, 'dh', 'd1.test');
    eAud = await person(send, 'ea', 'e1.test');
    dina = await person(send, 'dina');
    // Nobody signed in: a denial on dorg's app, recorded after the answer.
    expect((await send('http://d1.test/api/dash-denied', { method: 'POST', body: 'a=1' })).status).toBe(401);
  }, 60_000);

  it('an auditor of the organisation reads its own counts; it is recorded', async () => {
    const before = await reads();
    const r = await as(send, dAud, 'GET', url('dorg'));
    expect(r.status).toBe(200);
    const d = (await bodyOf(r)) as unknown as { apps: string[]; days: { denials: number }[]; topDeniedRoutes: unknown[] };
    expect(d.apps).toEqual([dApp]);
    expect(d.days.reduce((n, x) => n + x.denials, 0)).toBe(1);
    expect(d.topDeniedRoutes).toEqual([{ route: 'POST /api/dash-denied', count: 1 }]);
    expect(await reads()).toBe(before + 1);
  });

  it('nobody else: another role 403, another organisation (or none) 404, no fresh step-up 403', async () => {
    expect((await as(send, dHelp, 'GET', url('dorg'))).status).toBe(403);
    for (const who of [eAud, dina]) expect((await as(send, who, 'GET', url('dorg'))).status, who.name).toBe(404);
    expect((await as(send, dAud, 'GET', url('eorg'))).status).toBe(404);
    expect((await as(send, dAud, 'GET', url('nope'))).status).toBe(404);
    const plain = await callWith(send, dAud.plain, dAud.host, 'GET', url('dorg'));
    expect([plain.status, (await bodyOf(plain)).code]).toEqual([403, 'ERR_FRESH_STEP_UP_REQUIRED']);
    const e = (await bodyOf(await as(send, eAud, 'GET', url('eorg')))) as unknown as { apps: string[]; topDeniedRoutes: unknown[] };
    expect(e.apps).not.toContain(dApp);
    expect(e.topDeniedRoutes).toEqual([]);
  });

  it('ranges: the default is the last 14 days; at most 90; a bad one is 400 and records nothing', async () => {
    const def = (await bodyOf(await as(send, dAud, 'GET', url('dorg')))) as { from: number; to: number };
    expect(def.to - def.from).toBe(14 * DAY);
    expect(def.to).toBe((Math.floor(Date.now() / DAY) + 1) * DAY);
    const ok = await as(send, dAud, 'GET', url('dorg', '?from=2026-01-01&to=2026-04-01'));
    expect(ok.status).toBe(200);
    const before = await reads();
    for (const q of [
      '?from=2026-01-01&to=2026-04-02',
      '?from=2026-02-01&to=2026-01-01',
      '?from=2026-01-01&to=2026-01-01',
      '?from=yesterday',
      '?to=1e9',
    ]) {
      const r = await as(send, dAud, 'GET', url('dorg', q));
      expect([q, r.status, (await bodyOf(r)).code]).toEqual([q, 400, 'ERR_BAD_REQUEST']);
    }
    expect(await reads()).toBe(before);
  });
});
