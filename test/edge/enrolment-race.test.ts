/**
 * Enrolment is decided when a factor is completed, not when it was started: a registration or
 * pending authenticator app opened while the person had no factor cannot be finished after their
 * first factor without a step-up; racing first enrolments enrol exactly one; an invitation covers
 * only the enrolment it was spent on; and `factor.enrolled` says how the factor really came in.
 */
import { createExecutionContext, env } from 'cloudflare:test';
import { generate } from 'otplib';
import { describe, expect, it } from 'vitest';
import demoPolicy from '../../edge/config/policy.json';
import { listEvents } from '../../edge/audit/audit-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { activeFactorCount } from '../../edge/factors/active-factors';
import { issueInvite } from '../../edge/factors/invites/invite-store';
import { activateTotp, createPendingTotp, totpFactors } from '../../edge/factors/totp/totp-store';
import { addWebauthnCredential } from '../../edge/factors/webauthn/passkey-store';
import { createGateway } from '../../edge/gateway';
import { gw, ORIGIN, post } from '../support/edge-flow';
import { sessionCookie } from '../support/session';
import { SoftAuthenticator } from '../support/soft-authenticator';

const ring = parseKeyring(env.STEPGATE_KEYS);
const now = () => Math.floor(Date.now() / 1000);
const inviteGateway = createGateway(env, { ...demoPolicy, enrolment: 'invite' });
/** A same-origin JSON POST to the gateway whose policy says `"enrolment": "invite"`. */
const postInvite = async (path: string, cookie: string, body: unknown = {}): Promise<Response> =>
  inviteGateway.fetch(
    new Request(`${ORIGIN}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { cookie, origin: ORIGIN, 'content-type': 'application/json' },
    }),
    env,
    createExecutionContext(),
  );
type Post = (path: string, cookie: string, body?: unknown) => Promise<Response>;

const registrationOptions = async (cookie: string, body: unknown = {}, via: Post = post) => {
  const r = await via('/.stepgate/api/factors/webauthn/options', cookie, body);
  expect(r.status).toBe(200);
  return (await r.json()) as { challenge: string };
};
const startTotp = async (cookie: string, body: unknown = {}, via: Post = post) => {
  const r = await via('/.stepgate/api/factors/totp', cookie, body);
  expect(r.status).toBe(201);
  return (await r.json()) as { id: string; secret: string };
};
const confirmTotp = (cookie: string, f: { id: string; secret: string }, epoch = now() - 30, via: Post = post) =>
  generate({ secret: f.secret, epoch }).then((code) => via(`/.stepgate/api/factors/totp/${f.id}/confirm`, cookie, { code }));
const finishRegistration = (cookie: string, response: unknown, via: Post = post) =>
  via('/.stepgate/api/factors/webauthn/verify', cookie, { response, nickname: 'key' });

const factorsOf = async (cookie: string) =>
  (await (await gw('/.stepgate/api/factors', { headers: { cookie } })).json()) as { totp: { id: string }[]; webauthn: { id: string }[] };
const enrolmentEvents = async (user: string) =>
  (await listEvents(env.DB, ring, 'default', { user, types: ['factor.enrolled'] }, { limit: 100, order: 'asc' })).events.map(
    (e) => e.event,
  );

/** A fresh step-up answered with a TOTP code at `epoch`; returns the cookie header with the grant. */
async function grantWithTotp(cookie: string, secret: string, epoch = now(), via: Post = post): Promise<string> {
  const { challenge_id } = (await (await via('/.stepgate/api/factors/step-up', cookie)).json()) as { challenge_id: string };
  const ok = await via(`/.stepgate/api/challenges/${challenge_id}/verify`, cookie, {
    method: 'totp',
    code: await generate({ secret, epoch }),
  });
  expect(ok.status).toBe(200);
  return `${cookie}; ${ok.headers.get('set-cookie')!.split(';')[0]}`;
}

describe('a registration opened before the first factor', () => {
  it('the attack: passkey options taken while factorless are refused after the owner enrols an app, without a step-up', async () => {
    const stolen = await sessionCookie('pia', 'pia-stolen'); // the attacker holds the person's session
    const planted = new SoftAuthenticator(ORIGIN, 'app.test');
    const response = await planted.register(await registrationOptions(stolen));

    // The owner enrols an authenticator app as her first factor, in her own session.
    const owner = await sessionCookie('pia', 'pia-own');
    expect((await confirmTotp(owner, await startTotp(owner))).status).toBe(200);

    // The attacker finishes the old registration, with no factors grant.
    const r = await finishRegistration(stolen, response);
    expect(r.status).toBe(403);
    expect(await r.json()).toMatchObject({ code: 'ERR_FRESH_STEP_UP_REQUIRED' });
    expect((await factorsOf(owner)).webauthn).toEqual([]);
    const events = await enrolmentEvents('pia');
    expect(events.filter((e) => e.factor === 'webauthn')).toEqual([]);
    expect(events.filter((e) => e.factor === 'totp')).toEqual([
      expect.objectContaining({ details: expect.objectContaining({ enrolment: 'first-use', first: true }) }),
    ]);
  });

  it('the registration is dropped when the first factor is activated: even a step-up cannot finish it', async () => {
    const stolen = await sessionCookie('pol', 'pol-stolen');
    const response = await new SoftAuthenticator(ORIGIN, 'app.test').register(await registrationOptions(stolen));
    const owner = await sessionCookie('pol', 'pol-own');
    const app = await startTotp(owner);
    expect((await confirmTotp(owner, app)).status).toBe(200);
    // Even in the same session, with a fresh step-up, the registration is gone.
    const withGrant = await grantWithTotp(stolen, app.secret);
    const r = await finishRegistration(withGrant, response);
    expect(r.status).toBe(400);
    expect((await factorsOf(owner)).webauthn).toEqual([]);
  });

  it('the other order: an app planted before a first passkey is refused without a step-up, and dropped', async () => {
    const stolen = await sessionCookie('pam', 'pam-stolen');
    const planted = await startTotp(stolen);
    const owner = await sessionCookie('pam', 'pam-own');
    const key = new SoftAuthenticator(ORIGIN, 'app.test');
    const r = await finishRegistration(owner, await key.register(await registrationOptions(owner)));
    expect(r.status).toBe(201);
    expect(await r.json()).toMatchObject({ registered: true, recovery_codes: expect.any(Array) });

    const refused = await confirmTotp(stolen, planted);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: 'ERR_FRESH_STEP_UP_REQUIRED' });
    expect(await totpFactors(env.DB, ring, 'pam', 'pending')).toEqual([]);
    expect((await factorsOf(owner)).totp).toEqual([]);
    expect((await enrolmentEvents('pam')).filter((e) => e.factor === 'totp')).toEqual([]);
  });
});

describe('racing first enrolments', () => {
  it('10 concurrent completions (a passkey and nine apps) by a factorless session: exactly one enrols, as first-use', async () => {
    const cookie = await sessionCookie('quinn', 'quinn-1');
    const apps = [];
    for (let i = 0; i < 9; i++) apps.push(await startTotp(cookie));
    const key = new SoftAuthenticator(ORIGIN, 'app.test');
    const response = await key.register(await registrationOptions(cookie));

    const results = await Promise.all([finishRegistration(cookie, response), ...apps.map((f) => confirmTotp(cookie, f, now()))]);
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200 || s === 201)).toHaveLength(1);
    // A person has one pending app at a time: each start replaced the one before, so the passkey
    // races the ninth app, and the first eight are gone (404, or 403 once the winner is stored).
    for (const s of [statuses[0]!, statuses[9]!]) expect([200, 201, 403, 409]).toContain(s);
    for (const s of statuses.slice(1, 9)) expect([403, 404]).toContain(s);

    const factors = await factorsOf(cookie);
    expect(factors.totp.length + factors.webauthn.length).toBe(1);
    const events = (await enrolmentEvents('quinn')).filter((e) => e.factor !== 'recovery');
    expect(events).toEqual([expect.objectContaining({ details: expect.objectContaining({ enrolment: 'first-use', first: true }) })]);
    // One set of recovery codes, with the one first factor.
    expect((await enrolmentEvents('quinn')).filter((e) => e.factor === 'recovery')).toHaveLength(1);
    // Every other pending enrolment is gone.
    expect(await totpFactors(env.DB, ring, 'quinn', 'pending')).toEqual([]);
  });

  it('in the store: of first-factor activations racing (apps and passkeys), exactly one is stored', async () => {
    const apps = await Promise.all(Array.from({ length: 6 }, () => createPendingTotp(env.DB, ring, 'race-store', Date.now(), 'first-use')));
    const key = (i: number) => ({
      id: `race-cred-${i}`,
      publicKey: new Uint8Array([i]),
      counter: 0,
      transports: [],
      deviceType: 'singleDevice',
      backedUp: false,
      nickname: null,
    });
    const stored = await Promise.all([
      ...apps.map((f) => activateTotp(env.DB, ring, 'race-store', f.id, Date.now(), true)),
      ...[1, 2, 3, 4].map((i) => addWebauthnCredential(env.DB, ring, 'race-store', key(i), Date.now(), true)),
    ]);
    expect(stored.filter(Boolean)).toHaveLength(1);
    expect(await activeFactorCount(env.DB, ring, 'race-store')).toBe(1);
    // A later factor (after a step-up) is stored whatever exists.
    expect(await addWebauthnCredential(env.DB, ring, 'race-store', key(5), Date.now())).toBe(true);
  });

  it('the losers are told to step up (409 when they lost the race, 403 once the winner is stored)', async () => {
    const cookie = await sessionCookie('ruth', 'ruth-1');
    // An app and a passkey (one pending app per person: a second app would replace the first).
    const a = await startTotp(cookie);
    const response = await new SoftAuthenticator(ORIGIN, 'app.test').register(await registrationOptions(cookie));
    const [ra, rb] = await Promise.all([confirmTotp(cookie, a, now()), finishRegistration(cookie, response)]);
    const loser = ra.status === 200 ? rb : ra;
    expect([ra.status, rb.status].filter((s) => s === 200 || s === 201)).toHaveLength(1);
    expect([403, 409]).toContain(loser.status);
    expect((await loser.json()) as { detail: string }).toMatchObject({ detail: expect.stringContaining('/.stepgate/api/factors/step-up') });
  });
});

describe('the audit log says how a factor was enrolled', () => {
  it('the first factor is first-use; a second one added with a grant is step-up', async () => {
    const cookie = await sessionCookie('sara', 'sara-1');
    const app = await startTotp(cookie);
    expect((await confirmTotp(cookie, app)).status).toBe(200);
    const withGrant = await grantWithTotp(cookie, app.secret);
    const r = await finishRegistration(
      withGrant,
      await new SoftAuthenticator(ORIGIN, 'app.test').register(await registrationOptions(withGrant)),
    );
    expect(r.status).toBe(201);
    expect(await r.json()).not.toHaveProperty('recovery_codes');

    const events = await enrolmentEvents('sara');
    expect(events.map((e) => [e.factor, e.details])).toEqual([
      ['totp', expect.objectContaining({ enrolment: 'first-use', first: true })],
      ['recovery', { count: 10, regenerated: false }],
      ['webauthn', expect.objectContaining({ enrolment: 'step-up', first: false })],
    ]);
  });
});

describe('invitations are checked again at completion', () => {
  /** An invitation as an administrator would issue it (issuing them is tested in invites.test.ts). */
  const invite = (user: string): Promise<string> => issueInvite(env.DB, ring, user, 'alice', Date.now());

  it('an invited first factor is recorded as invite; an enrolment opened with a second invitation is dropped with it', async () => {
    const cookie = await sessionCookie('uma', 'uma-1');
    const app = await startTotp(cookie, { invite: await invite('uma') }, postInvite);
    const options = await registrationOptions(cookie, { invite: await invite('uma') }, postInvite);
    const response = await new SoftAuthenticator(ORIGIN, 'app.test').register(options);
    expect((await confirmTotp(cookie, app, now() - 30, postInvite)).status).toBe(200);

    // The second invitation belonged to a first enrolment, which it no longer is.
    expect((await finishRegistration(cookie, response, postInvite)).status).toBe(403);
    expect((await factorsOf(cookie)).webauthn).toEqual([]);
    const events = (await enrolmentEvents('uma')).filter((e) => e.factor !== 'recovery');
    expect(events).toEqual([
      expect.objectContaining({ factor: 'totp', details: expect.objectContaining({ enrolment: 'invite', first: true }) }),
    ]);
  });

  it('an enrolment opened without an invitation (before the policy asked for one) is not finished as a first factor', async () => {
    const cookie = await sessionCookie('vic', 'vic-1');
    const app = await startTotp(cookie); // first-use policy
    const response = await new SoftAuthenticator(ORIGIN, 'app.test').register(await registrationOptions(cookie));
    // The policy now says "invite".
    const r1 = await finishRegistration(cookie, response, postInvite);
    expect(r1.status).toBe(403);
    const r2 = await confirmTotp(cookie, app, now() - 30, postInvite);
    expect(r2.status).toBe(403);
    expect(await factorsOf(cookie)).toMatchObject({ totp: [], webauthn: [] });
    expect(await enrolmentEvents('vic')).toEqual([]);
  });

  it('an invited passkey completes as invite', async () => {
    const cookie = await sessionCookie('wes', 'wes-1');
    const options = await registrationOptions(cookie, { invite: await invite('wes') }, postInvite);
    const r = await finishRegistration(cookie, await new SoftAuthenticator(ORIGIN, 'app.test').register(options), postInvite);
    expect(r.status).toBe(201);
    expect((await enrolmentEvents('wes')).filter((e) => e.factor === 'webauthn')).toEqual([
      expect.objectContaining({ details: expect.objectContaining({ enrolment: 'invite', first: true }) }),
    ]);
  });
});

describe('a passkey registered twice', () => {
  it('is refused with 409, never a 500, and stored once', async () => {
    const cookie = await sessionCookie('reg-twice', 'reg-twice-1');
    const app = await startTotp(cookie);
    expect((await confirmTotp(cookie, app)).status).toBe(200);
    const withGrant = await grantWithTotp(cookie, app.secret);
    const key = new SoftAuthenticator(ORIGIN, 'app.test');
    expect((await finishRegistration(withGrant, await key.register(await registrationOptions(withGrant)))).status).toBe(201);
    // An authenticator that ignores excludeCredentials offers the same credential id again.
    const again = await finishRegistration(withGrant, await key.register(await registrationOptions(withGrant)));
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ code: 'ERR_CONFLICT' });
    expect((await factorsOf(cookie)).webauthn).toHaveLength(1);
  });
});
