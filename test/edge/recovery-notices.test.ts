/**
 * Factor recovery from the person's side, in the Workers pool with the clock moved: they are told
 * (GET /.stepgate/api/me/notices, a banner on the step-up and enrolment pages) from the start; they
 * can cancel it at any time until it completes, for good; completing is refused before the waiting
 * period ends and works after it (old factors gone, an invitation for a new one, audited with who
 * started and approved); an unapproved recovery expires after 72 hours; notices vanish when it ends.
 */
import { env } from 'cloudflare:test';
import { generate } from 'otplib';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { APPROVE_WITHIN_MS } from '../../edge/admin/recovery';
import { activeFactorCount } from '../../edge/factors/active-factors';
import { recoveryCodesLeft } from '../../edge/factors/recovery/recovery-code-store';
import type { NoticeList, RecoveryNotice } from '../../shared/wire-shapes';
import { API, as, bodyOf, type Caller, call, clock, freshStepUp, nowMs, person, plainly, ring, send, WAIT_MS } from './recovery-flow';
import { seedRole } from './seed-roles';

const BASE = `${API}/orgs/default/recoveries`;
const EXT = 'chrome-extension://leldacdejfbkleoogdbophfdkoapmfbd'; // WEBAUTHN_ORIGINS in wrangler.toml
const BANNER = 'Someone started recovering your sign-in factors';
let adam: Caller;
let hank: Caller;
let olga: Caller;

const notices = async (who: Caller) => {
  const r = await plainly(who, 'GET', '/.stepgate/api/me/notices');
  expect(r.status).toBe(200);
  return ((await bodyOf(r)) as unknown as NoticeList).notices;
};
const page = async (who: Caller, path: string) => (await call(who.plain, who.host, 'GET', path)).text();
/** Started by hank, approved by adam (when `approved`); its id. */
async function recovery(user: string, approved: boolean): Promise<string> {
  const r = await as(hank, 'POST', BASE, { user });
  expect(r.status).toBe(201);
  const id = ((await bodyOf(r)).recovery as { id: string }).id;
  if (approved) expect((await as(adam, 'POST', `${BASE}/${id}/approve`)).status).toBe(200);
  return id;
}
const complete = (who: Caller, id: string) => plainly(who, 'POST', `/.stepgate/api/me/recoveries/${id}/complete`);
/** A JSON POST from another origin (a foreign site, or the extension). */
const fromOrigin = (who: Caller, origin: string, path: string) =>
  send(`http://app.test${path}`, {
    method: 'POST',
    headers: { ...who.plain, origin, 'content-type': 'application/json' },
    body: '{}',
  });
const cancel = (who: Caller, id: string) => plainly(who, 'POST', `/.stepgate/api/me/recoveries/${id}/cancel`);

beforeAll(async () => {
  await seedRole('olga', 'owner');
  await seedRole('adam', 'admin');
  await seedRole('hank', 'helpdesk');
  [olga, adam, hank] = await Promise.all([person('olga'), person('adam'), person('hank')]);
}, 60_000);
afterEach(() => {
  clock.offset = 0;
});

describe('the person is told', () => {
  it('from the start, in the API and on the enrolment and step-up pages, with the recovery as it stands', async () => {
    const nora = await person('nora');
    expect(await notices(nora)).toEqual([]);
    expect(await page(nora, '/.stepgate/enrol')).not.toContain(BANNER);

    const id = await recovery('nora', false);
    const [started] = await notices(nora);
    expect(started).toMatchObject({ kind: 'recovery', id, state: 'started', effective_at: null, can_complete: false });
    const enrol = await page(nora, '/.stepgate/enrol');
    expect(enrol).toContain(BANNER);
    expect(enrol).toContain(`data-recovery="${id}"`);
    expect(enrol).toContain('id="recovery-cancel"');
    expect(enrol).not.toContain('id="recovery-complete"');

    // The step-up page a person opens to confirm it is them carries it too.
    const ch = await call(nora.plain, 'app.test', 'POST', '/.stepgate/api/factors/step-up', {});
    const { challenge_url } = (await ch.json()) as { challenge_url: string };
    const stepUp = await page(nora, new URL(challenge_url).pathname);
    expect(stepUp).toContain('Confirm it is you');
    expect(stepUp).toContain(BANNER);

    expect((await as(adam, 'POST', `${BASE}/${id}/approve`)).status).toBe(200);
    const [approved] = await notices(nora);
    expect(approved).toMatchObject({ id, state: 'approved', can_complete: false });
    expect(Date.parse((approved as RecoveryNotice).effective_at!)).toBeGreaterThanOrEqual(nowMs() + WAIT_MS - 60_000);
    clock.offset = WAIT_MS + 60_000;
    expect((await notices(nora))[0]).toMatchObject({ id, can_complete: true });
    expect(await page(nora, '/.stepgate/enrol')).toContain('id="recovery-complete"');

    // Nobody else sees it; a person not signed in gets 401.
    expect(await notices(olga)).toEqual([]);
    expect((await call({}, 'app.test', 'GET', '/.stepgate/api/me/notices')).status).toBe(401);
  });
});

describe('the person cancels', () => {
  it('during the wait, for good: nothing completes or approves it afterwards, and the notice is gone', async () => {
    const pia = await person('pia');
    const id = await recovery('pia', true);
    // Cross-site: refused, nothing changes. Someone else cannot cancel it.
    const foreign = await fromOrigin(pia, 'https://evil.example', `/.stepgate/api/me/recoveries/${id}/cancel`);
    expect(foreign.status).toBe(403);
    expect((await cancel(olga, id)).status).toBe(404);
    expect((await notices(pia))[0]).toMatchObject({ id, state: 'approved' });

    const r = await cancel(pia, id);
    expect(r.status).toBe(200);
    expect(await bodyOf(r)).toEqual({ cancelled: true, id });
    expect(await notices(pia)).toEqual([]);
    expect(await page(pia, '/.stepgate/enrol')).not.toContain(BANNER);
    expect((await cancel(pia, id)).status).toBe(404);

    clock.offset = WAIT_MS * 2;
    const late = await complete(pia, id);
    expect(late.status).toBe(409);
    expect((await bodyOf(late)).detail).toMatch(/cancelled/);
    expect((await as(await freshStepUp(adam), 'POST', `${BASE}/${id}/approve`)).status).toBe(409);
    expect(await activeFactorCount(env.DB, ring, 'pia')).toBe(1);
  });

  it('from the extension too (its origin is listed in WEBAUTHN_ORIGINS)', async () => {
    const quin = await person('quin');
    const id = await recovery('quin', false);
    // Completing is for the site's own enrolment page: not from the extension.
    expect((await fromOrigin(quin, EXT, `/.stepgate/api/me/recoveries/${id}/complete`)).status).toBe(403);
    const r = await fromOrigin(quin, EXT, `/.stepgate/api/me/recoveries/${id}/cancel`);
    expect(r.status).toBe(200);
    expect(await notices(quin)).toEqual([]);
  });
});

describe('completing', () => {
  it('is refused before the waiting period ends and works after it: old factors go, a new one comes with the invitation', async () => {
    const rita = await person('rita');
    const id = await recovery('rita', false);
    const early = await complete(rita, id);
    expect(early.status).toBe(409);
    expect((await bodyOf(early)).detail).toMatch(/second person/);

    expect((await as(adam, 'POST', `${BASE}/${id}/approve`)).status).toBe(200);
    clock.offset = WAIT_MS - 60_000;
    const tooEarly = await complete(rita, id);
    expect(tooEarly.status).toBe(409);
    const body = await bodyOf(tooEarly);
    expect(Date.parse(body.retry_at!)).toBeGreaterThan(nowMs());
    expect(await activeFactorCount(env.DB, ring, 'rita')).toBe(1);
    // Someone else's session cannot complete it, even when it is due.
    clock.offset = WAIT_MS + 60_000;
    expect((await complete(olga, id)).status).toBe(404);

    // Racing completions: exactly one goes through.
    const raced = await Promise.all([complete(rita, id), complete(rita, id), complete(rita, id)]);
    expect(raced.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    const done = raced.find((r) => r.status === 200)!;
    const d = await bodyOf(done);
    expect(d).toMatchObject({ completed: true, id, invite: expect.any(String) });
    expect(await activeFactorCount(env.DB, ring, 'rita')).toBe(0);
    expect(await recoveryCodesLeft(env.DB, ring, 'rita')).toBe(0);
    expect(await notices(rita)).toEqual([]);
    expect((await complete(rita, id)).status).toBe(409); // once

    // The old authenticator no longer answers; a new one is enrolled with the invitation.
    const stepUp = await call(rita.plain, 'app.test', 'POST', '/.stepgate/api/factors/step-up', {});
    expect((await bodyOf(stepUp)).code).toBe('ERR_NO_FACTOR');
    const t = await call(rita.plain, 'app.test', 'POST', '/.stepgate/api/factors/totp', { invite: d.invite });
    expect(t.status).toBe(201);
    const { id: factor, secret } = (await t.json()) as { id: string; secret: string };
    const code = await generate({ secret, epoch: Math.floor(nowMs() / 1000) });
    expect((await call(rita.plain, 'app.test', 'POST', `/.stepgate/api/factors/totp/${factor}/confirm`, { code })).status).toBe(200);
    expect(await activeFactorCount(env.DB, ring, 'rita')).toBe(1);

    clock.offset = 0; // olga's fresh step-up is of now
    const audit = await as(olga, 'GET', `${API}/audit/events?type=recovery.completed&limit=50`);
    const events = ((await bodyOf(audit)).events as { event: { actor: string; target: string; details: Record<string, unknown> } }[]).map(
      (e) => e.event,
    );
    expect(events.find((e) => e.details.recovery === id)).toMatchObject({
      actor: 'rita',
      target: 'rita',
      details: { org: 'default', started_by: 'hank', approved_by: 'adam', factors_revoked: expect.any(Number) },
    });
  });
});

describe('expiry', () => {
  it('an unapproved recovery expires after 72 hours: no approval, no notice, and a new one may start', async () => {
    const tess = await person('tess');
    const id = await recovery('tess', false);
    expect(await notices(tess)).toHaveLength(1);
    clock.offset = APPROVE_WITHIN_MS + 60_000;
    const [adamLater, hankLater] = await Promise.all([freshStepUp(adam), freshStepUp(hank)]);
    const late = await as(adamLater, 'POST', `${BASE}/${id}/approve`);
    expect(late.status).toBe(409);
    expect((await bodyOf(late)).detail).toMatch(/expired/);
    expect(await notices(tess)).toEqual([]);
    expect(((await bodyOf(await as(hankLater, 'GET', BASE))).recoveries as { id: string }[]).map((r) => r.id)).not.toContain(id);
    expect((await bodyOf(await complete(tess, id))).detail).toMatch(/expired/);
    expect((await cancel(tess, id)).status).toBe(404);
    // Expired, it no longer stands in the way of a new one.
    expect((await as(hankLater, 'POST', BASE, { user: 'tess' })).status).toBe(201);
  });
});
