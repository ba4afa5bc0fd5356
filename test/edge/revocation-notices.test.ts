/**
 * The notice that an administrator removed a person's sign-in factors, in the Workers pool (real D1
 * and Durable Objects): after a revocation the person sees it in GET /.stepgate/api/me/notices and
 * on the enrolment and step-up pages, in plain words with a Dismiss button (no Cancel); dismissing
 * removes it (same-origin JSON or the extension, never another site); nobody else can dismiss it;
 * a recovery's notice cannot be dismissed (it is cancelled instead).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { NoticeList } from '../../shared/wire-shapes';
import { API, as, bodyOf, type Caller, call, person, plainly, send } from './recovery-flow';
import { seedRole } from './seed-roles';

const EXT = 'chrome-extension://leldacdejfbkleoogdbophfdkoapmfbd'; // WEBAUTHN_ORIGINS in wrangler.toml
const WORDS = 'An administrator removed your sign-in factors on';
const DISMISS = '/.stepgate/api/me/notices/factors-revoked/dismiss';
let adam: Caller;
let hank: Caller;

const notices = async (who: Caller) => {
  const r = await plainly(who, 'GET', '/.stepgate/api/me/notices');
  expect(r.status).toBe(200);
  return ((await bodyOf(r)) as unknown as NoticeList).notices;
};
const page = async (who: Caller, path: string) => (await call(who.plain, who.host, 'GET', path)).text();
const revoke = async (user: string) => {
  const r = await as(adam, 'POST', `${API}/orgs/default/people/revoke`, { user, factors: true });
  expect(r.status).toBe(200);
};
const fromOrigin = (who: Caller, origin: string, path: string) =>
  send(`http://app.test${path}`, { method: 'POST', headers: { ...who.plain, origin, 'content-type': 'application/json' }, body: '{}' });

beforeAll(async () => {
  await seedRole('adam', 'admin');
  await seedRole('hank', 'helpdesk');
  [adam, hank] = await Promise.all([person('adam'), person('hank')]);
}, 60_000);

describe('after an administrator revokes a person’s factors', () => {
  it('the API lists the notice, and the enrolment page shows it with Dismiss and no Cancel', async () => {
    const rita = await person('rita');
    expect(await notices(rita)).toEqual([]);
    expect(await page(rita, '/.stepgate/enrol')).not.toContain(WORDS);
    const before = Date.now();
    await revoke('rita');

    const [n] = await notices(rita);
    expect(n).toMatchObject({ kind: 'factors-revoked', id: 'factors-revoked' });
    expect(Date.parse((n as { revoked_at: string }).revoked_at)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(n!.expires_at)).toBeGreaterThan(Date.now());

    const enrol = await page(rita, '/.stepgate/enrol');
    expect(enrol).toContain(WORDS);
    expect(enrol).toContain('Set up a new one to continue; if you did not expect this, tell your administrator.');
    expect(enrol).toContain('id="revocation-dismiss"');
    expect(enrol).not.toContain('id="recovery-cancel"');

    // Nobody else sees it.
    expect(await notices(hank)).toEqual([]);
  });

  it('dismissing removes it; another person, another site, or a second dismissal changes nothing', async () => {
    const sam = await person('sam');
    await revoke('sam');
    expect(await notices(sam)).toHaveLength(1);

    // Another person cannot dismiss it: they only reach their own notices.
    expect((await plainly(hank, 'POST', DISMISS)).status).toBe(404);
    // Another site cannot, even with the person's identity.
    expect((await fromOrigin(sam, 'https://evil.example', DISMISS)).status).toBe(403);
    // Not signed in: 401.
    expect((await call({}, 'app.test', 'POST', DISMISS, {})).status).toBe(401);
    // An unknown notice id: 404.
    expect((await plainly(sam, 'POST', '/.stepgate/api/me/notices/nope/dismiss')).status).toBe(404);
    expect(await notices(sam)).toHaveLength(1);

    const r = await plainly(sam, 'POST', DISMISS);
    expect(r.status).toBe(200);
    expect(await bodyOf(r)).toEqual({ dismissed: true, id: 'factors-revoked' });
    expect(await notices(sam)).toEqual([]);
    expect(await page(sam, '/.stepgate/enrol')).not.toContain(WORDS);
    expect((await plainly(sam, 'POST', DISMISS)).status).toBe(404);
  });

  it('the extension may dismiss it (its origin is listed in WEBAUTHN_ORIGINS)', async () => {
    const tess = await person('tess');
    await revoke('tess');
    expect((await fromOrigin(tess, EXT, DISMISS)).status).toBe(200);
    expect(await notices(tess)).toEqual([]);
  });

  it('a recovery’s notice cannot be dismissed: it stays until the recovery is cancelled or ends', async () => {
    const uma = await person('uma');
    const started = await as(hank, 'POST', `${API}/orgs/default/recoveries`, { user: 'uma' });
    expect(started.status).toBe(201);
    const id = ((await bodyOf(started)).recovery as { id: string }).id;
    expect((await plainly(uma, 'POST', `/.stepgate/api/me/notices/${id}/dismiss`)).status).toBe(404);
    expect(await notices(uma)).toMatchObject([{ kind: 'recovery', id }]);
  });
});
