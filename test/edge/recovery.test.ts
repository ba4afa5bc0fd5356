/**
 * Factor recovery's rules through the admin API (docs/admin.md, "Factor recovery"), in the Workers
 * pool with real D1 and Durable Objects: two different people (helpdesk starts but never approves,
 * nobody approves what they started, nobody recovers themselves), one open recovery per person even
 * when starts race, nothing of another organisation (404), tokens and stale step-ups refused, and
 * every change audited with who started and approved it.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { REFUSALS } from '../../edge/admin/authorization';
import { DEFAULT_WAIT_HOURS, recoveryWaitMs } from '../../edge/admin/recovery';
import { getRecovery, openRecoveryOf, startRecovery } from '../../edge/admin/recovery-store';
import { blindIndexes } from '../../edge/crypto/blind-index';
import { API, as, bodyOf, type Caller, call, nowMs, person, plainly, ring, seedAcme, WAIT_MS } from './recovery-flow';
import { seedRole } from './seed-roles';

const BASE = `${API}/orgs/default/recoveries`;
let olga: Caller; // owner
let adam: Caller; // admin
let adele: Caller; // admin
let hank: Caller; // helpdesk
let audrey: Caller; // auditor
let ada: Caller; // admin of acme

type Rec = { id: string; user: string; state: string; started_by: string; approved_by: string | null; effective_at: string | null };
const recOf = async (r: Response) => (await bodyOf(r)).recovery as Rec;
const start = (who: Caller, user: string) => as(who, 'POST', BASE, { user });
const approve = (who: Caller, id: string) => as(who, 'POST', `${BASE}/${id}/approve`);
/** How many open recoveries the person has in D1. */
const openCount = async (person: string) => {
  const refs = await blindIndexes(ring, 'user', person);
  const { results } = await env.DB.prepare(
    `SELECT id FROM recoveries WHERE state IN ('started', 'approved') AND person_ref IN (${refs.map(() => '?').join(', ')})`,
  )
    .bind(...refs)
    .all();
  return results.length;
};

beforeAll(async () => {
  await seedRole('olga', 'owner');
  await seedRole('adam', 'admin');
  await seedRole('adele', 'admin');
  await seedRole('hank', 'helpdesk');
  await seedRole('audrey', 'auditor');
  await seedAcme();
  [olga, adam, adele, hank, audrey] = await Promise.all([
    person('olga'),
    person('adam'),
    person('adele'),
    person('hank'),
    person('audrey'),
  ]);
  ada = await person('ada', 'acme');
}, 60_000);

describe('two different people', () => {
  it('helpdesk starts a recovery but never approves one; a different admin approves it, with the waiting period', async () => {
    const started = await start(hank, 'rita');
    expect(started.status).toBe(201);
    const r = await recOf(started);
    expect(r).toMatchObject({ user: 'rita', state: 'started', started_by: 'hank', approved_by: null, effective_at: null });

    const byHelpdesk = await approve(hank, r.id);
    expect(byHelpdesk.status).toBe(403);
    expect((await bodyOf(byHelpdesk)).detail).toBe(`${REFUSALS['not-allowed']} (recovery.approve)`);
    const listed = (await bodyOf(await as(hank, 'GET', BASE))).recoveries as Rec[];
    expect(listed.find((x) => x.id === r.id)).toMatchObject({ user: 'rita', state: 'started', started_by: 'hank' });

    const before = nowMs();
    const ok = await approve(adam, r.id);
    expect(ok.status).toBe(200);
    const a = await recOf(ok);
    expect(a).toMatchObject({ state: 'approved', started_by: 'hank', approved_by: 'adam' });
    const effective = Date.parse(a.effective_at!);
    expect(effective).toBeGreaterThanOrEqual(before + WAIT_MS);
    expect(effective).toBeLessThan(before + WAIT_MS + 60_000);
    // One approval: a second, by anyone, changes nothing.
    expect((await approve(adele, r.id)).status).toBe(409);
  });

  it('nobody approves a recovery they started, even an owner', async () => {
    const r = await recOf(await start(olga, 'rosa'));
    const self = await approve(olga, r.id);
    expect(self.status).toBe(403);
    expect((await bodyOf(self)).detail).toBe(REFUSALS['same-person-approves']);
    expect((await approve(adele, r.id)).status).toBe(200);
  });

  it('nobody starts or approves a recovery of themselves', async () => {
    const self = await start(adam, 'adam');
    expect(self.status).toBe(403);
    expect((await bodyOf(self)).detail).toBe(REFUSALS['own-factors']);
    // Helpdesk may start one for an admin; that admin may not approve it, another admin may.
    const r = await recOf(await start(hank, 'adele'));
    const own = await approve(adele, r.id);
    expect(own.status).toBe(403);
    expect((await bodyOf(own)).detail).toBe(REFUSALS['own-factors']);
    expect((await approve(adam, r.id)).status).toBe(200);
  });

  it('an auditor may neither start, list, approve nor cancel; a stale step-up or a token is refused', async () => {
    expect((await start(audrey, 'ulla')).status).toBe(403);
    expect((await as(audrey, 'GET', BASE)).status).toBe(403);
    const r = await recOf(await start(hank, 'ulla'));
    expect((await approve(audrey, r.id)).status).toBe(403);
    expect((await as(audrey, 'POST', `${BASE}/${r.id}/cancel`)).status).toBe(403);
    // Helpdesk starts but does not cancel (an admin or owner does, or the person).
    expect((await as(hank, 'POST', `${BASE}/${r.id}/cancel`)).status).toBe(403);

    const noStepUp = await plainly(adam, 'POST', `${BASE}/${r.id}/approve`);
    expect(noStepUp.status).toBe(403);
    expect((await bodyOf(noStepUp)).code).toBe('ERR_FRESH_STEP_UP_REQUIRED');
    const token = await call({ authorization: 'Bearer sgt.whatever', 'content-type': 'application/json' }, 'app.test', 'POST', BASE, {
      user: 'ulla',
    });
    expect(token.status).toBe(403);
    // Bad input changes nothing.
    expect((await as(adam, 'POST', BASE, { user: '' })).status).toBe(400);
    expect((await as(adam, 'POST', BASE, { user: 'x', extra: 1 })).status).toBe(400);
    expect((await approve(adam, 'no-such-recovery')).status).toBe(404);

    const cancelled = await as(adam, 'POST', `${BASE}/${r.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(await recOf(cancelled)).toMatchObject({ state: 'cancelled' });
    expect((await approve(adele, r.id)).status).toBe(409);
    expect(((await bodyOf(await as(hank, 'GET', BASE))).recoveries as Rec[]).map((x) => x.id)).not.toContain(r.id);
  });
});

describe('one open recovery per person', () => {
  it('of racing starts through the API exactly one succeeds', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => start(i % 2 ? hank : adam, 'ruth')));
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    expect(await openCount('ruth')).toBe(1);
  });

  it('of racing starts in the store exactly one succeeds, and a second start waits until the first ends', async () => {
    const now = nowMs();
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) => startRecovery(env.DB, ring, { orgId: 'default', person: 'race', startedBy: `s${i}`, now })),
    );
    expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
    expect(new Set(outcomes.filter((o) => !o.ok).map((o) => !o.ok && o.code))).toEqual(new Set(['exists']));
    const id = outcomes.find((o) => o.ok)!;
    if (!id.ok) throw new Error('none');
    expect((await start(adam, 'race')).status).toBe(409);
    expect((await as(olga, 'POST', `${BASE}/${id.recovery.id}/cancel`)).status).toBe(200);
    expect((await start(adam, 'race')).status).toBe(201);
  });
});

describe('what D1 holds', () => {
  it('a row edited without the keyring counts for nothing: another person’s index copied in recovers nobody', async () => {
    const r = await startRecovery(env.DB, ring, { orgId: 'default', person: 'wendy', startedBy: 'hank', now: nowMs() });
    if (!r.ok) throw new Error('start');
    const [mallet] = await blindIndexes(ring, 'user', 'mallet');
    await env.DB.prepare('UPDATE recoveries SET person_ref = ? WHERE id = ?').bind(mallet, r.recovery.id).run();
    expect(await openRecoveryOf(env.DB, ring, 'default', 'mallet', nowMs())).toBeNull();
    expect(await openRecoveryOf(env.DB, ring, 'default', 'wendy', nowMs())).toBeNull();
    expect(await getRecovery(env.DB, ring, 'default', r.recovery.id, nowMs())).toBeNull();
    expect((await approve(adam, r.recovery.id)).status).toBe(404);
  });
});

describe('other organisations', () => {
  it('see nothing of each other’s recoveries: 404, naming nothing', async () => {
    const r = await recOf(await start(hank, 'vera'));
    for (const path of [`${API}/orgs/default/recoveries`, `${API}/orgs/default/recoveries/${r.id}/approve`]) {
      const res = await as(ada, path.endsWith('approve') ? 'POST' : 'GET', path);
      expect(res.status, path).toBe(404);
      expect(JSON.stringify(await bodyOf(res))).not.toContain('vera');
    }
    // Acme's admin names the default recovery under acme: not there either.
    expect((await as(ada, 'POST', `${API}/orgs/acme/recoveries/${r.id}/approve`)).status).toBe(404);
    expect((await as(ada, 'POST', `${API}/orgs/acme/recoveries/${r.id}/cancel`)).status).toBe(404);
    expect((await as(adam, 'POST', `${API}/orgs/acme/recoveries`, { user: 'boss' })).status).toBe(404);
    // Acme's own recoveries are acme's: its person is acme/vera, not the default org's vera.
    const acme = await as(ada, 'POST', `${API}/orgs/acme/recoveries`, { user: 'vera' });
    expect(acme.status).toBe(201);
    expect(((await bodyOf(await as(ada, 'GET', `${API}/orgs/acme/recoveries`))).recoveries as Rec[]).map((x) => x.user)).toEqual(['vera']);
    expect(((await bodyOf(await as(adam, 'GET', BASE))).recoveries as Rec[]).map((x) => x.id)).not.toContain((await recOf(acme)).id);
  });
});

describe('the waiting period setting', () => {
  it('defaults to 24 hours, is at least one hour, and takes minutes only in development', () => {
    const h = 60 * 60 * 1000;
    expect(recoveryWaitMs({}, false)).toBe(DEFAULT_WAIT_HOURS * h);
    expect(recoveryWaitMs({ RECOVERY_WAIT_HOURS: '48' }, false)).toBe(48 * h);
    expect(recoveryWaitMs({ RECOVERY_WAIT_HOURS: '0.1' }, false)).toBe(h);
    expect(recoveryWaitMs({ RECOVERY_WAIT_HOURS: 'soon' }, false)).toBe(24 * h);
    expect(recoveryWaitMs({ RECOVERY_WAIT_HOURS: '100000' }, false)).toBe(720 * h);
    expect(recoveryWaitMs({ RECOVERY_WAIT_HOURS: '24', RECOVERY_WAIT_MINUTES: '2' }, false)).toBe(24 * h);
    expect(recoveryWaitMs({ RECOVERY_WAIT_HOURS: '24', RECOVERY_WAIT_MINUTES: '2' }, true)).toBe(2 * 60_000);
  });
});

describe('the audit log', () => {
  it('records who started, approved and cancelled each recovery, and whom it was for', async () => {
    const r = await as(olga, 'GET', `${API}/audit/events?type=recovery.started,recovery.approved,recovery.cancelled&limit=500`);
    expect(r.status).toBe(200);
    type Ev = { type: string; actor: string; target: string; details: Record<string, unknown> };
    const events = ((await bodyOf(r)).events as { event: Ev }[]).map((e) => e.event);
    const rita = events.filter((e) => e.target === 'rita');
    expect(rita.find((e) => e.type === 'recovery.started')).toMatchObject({
      actor: 'hank',
      details: { org: 'default', started_by: 'hank' },
    });
    expect(rita.find((e) => e.type === 'recovery.approved')).toMatchObject({
      actor: 'adam',
      details: { started_by: 'hank', approved_by: 'adam', wait_minutes: 60 },
    });
    expect(events.find((e) => e.type === 'recovery.cancelled' && e.target === 'ulla')).toMatchObject({
      actor: 'adam',
      details: { by: 'admin', started_by: 'hank', approved_by: null },
    });
  });
});
