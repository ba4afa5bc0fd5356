/**
 * Passkeys through the real Worker with a software authenticator: the honest ceremony passes;
 * wrong origin, wrong RP ID, no user verification, a counter going backwards and another
 * user's credential are all refused, and nothing is approved.
 */
import { createExecutionContext, env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { createGateway } from '../../edge/gateway';
import { beforeAll, describe, expect, it } from 'vitest';
import { sessionCookie } from '../support/session';
import { SoftAuthenticator, type Lies } from '../support/soft-authenticator';

const worker = (exports as unknown as { default: Fetcher }).default;
const ORIGIN = 'http://app.test';
const gw = (path: string, init: RequestInit = {}) => worker.fetch(new Request(`${ORIGIN}${path}`, init));
const api = (path: string, cookie: string, body: unknown = {}) =>
  gw(path, { method: 'POST', body: JSON.stringify(body), headers: { cookie, origin: ORIGIN, 'content-type': 'application/json' } });

let wanda: string;
let key: SoftAuthenticator;
let project = 500;

async function enrol(cookie: string, auth: SoftAuthenticator, lies: Lies = {}) {
  const options = (await (await api('/.stepgate/api/factors/webauthn/options', cookie)).json()) as { challenge: string };
  return api('/.stepgate/api/factors/webauthn/verify', cookie, { response: await auth.register(options, lies), nickname: 'test key' });
}

/** Start a step-up for a fresh action and answer it with `respond`; returns the verify response. */
async function stepUp(cookie: string, respond: (options: { challenge: string }) => Promise<unknown>) {
  const held = await gw(`/api/projects/${++project}`, { method: 'DELETE', headers: { cookie } });
  const { challenge_id } = (await held.json()) as { challenge_id: string };
  const options = (await (await api(`/.stepgate/api/challenges/${challenge_id}/webauthn/options`, cookie)).json()) as { challenge: string };
  return api(`/.stepgate/api/challenges/${challenge_id}/verify`, cookie, { method: 'webauthn', response: await respond(options) });
}

beforeAll(async () => {
  wanda = await sessionCookie('wanda', 'w-1');
  key = new SoftAuthenticator(ORIGIN, 'app.test');
  const r = await enrol(wanda, key);
  expect(r.status).toBe(201);
  expect(await r.json()).toMatchObject({ registered: true, recovery_codes: expect.any(Array) });
});

describe('registration', () => {
  it.each<[string, Lies]>([
    ['wrong origin', { origin: 'https://evil.test' }],
    ['wrong RP ID', { rpId: 'evil.test' }],
    ['no user verification', { userVerified: false }],
  ])('refuses %s', async (_n, lies) => {
    const c = await sessionCookie(`reg-${Math.random()}`, 's');
    const r = await enrol(c, new SoftAuthenticator(ORIGIN, 'app.test'), lies);
    expect(r.status).toBe(400);
    expect(await (await gw('/.stepgate/api/factors', { headers: { cookie: c } })).json()).toMatchObject({ webauthn: [] });
  });

  it('refuses a registration without options first (no challenge in progress)', async () => {
    const c = await sessionCookie('reg-none', 's');
    const r = await api('/.stepgate/api/factors/webauthn/verify', c, {
      response: await new SoftAuthenticator(ORIGIN, 'app.test').register({ challenge: 'AAAA' }),
    });
    expect(r.status).toBe(400);
  });
});

describe('step-up with a passkey', () => {
  it('approves with the honest authenticator, and lists the credential', async () => {
    const r = await stepUp(wanda, (o) => key.authenticate(o));
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ approved: true });
    const factors = (await (await gw('/.stepgate/api/factors', { headers: { cookie: wanda } })).json()) as {
      webauthn: { nickname: string; last_used_at: string | null }[];
    };
    expect(factors.webauthn).toEqual([expect.objectContaining({ nickname: 'test key', last_used_at: expect.any(String) })]);
  });

  it.each<[string, Lies]>([
    ['a wrong origin', { origin: 'https://evil.test' }],
    ['a wrong RP ID', { rpId: 'evil.test' }],
    ['no user verification', { userVerified: false }],
    ['a counter that went backwards (a cloned key)', { counter: 1 }],
  ])('refuses %s', async (_n, lies) => {
    const r = await stepUp(wanda, (o) => key.authenticate(o, lies));
    expect(r.status).toBe(401);
    expect(await r.json()).toMatchObject({ code: 'ERR_FACTOR_INVALID' });
  });

  it('refuses a replayed assertion (the ceremony challenge is single use)', async () => {
    let saved: unknown;
    const first = await stepUp(wanda, async (o) => (saved = await key.authenticate(o)));
    expect(first.status).toBe(200);
    const replay = await stepUp(wanda, async () => saved);
    expect(replay.status).toBe(401);
  });

  it('refuses another user’s passkey, even signed by its real key', async () => {
    const xavier = await sessionCookie('xavier', 'x-1');
    const own = new SoftAuthenticator(ORIGIN, 'app.test');
    expect((await enrol(xavier, own)).status).toBe(201);
    // Xavier answers his own challenge with Wanda's credential id and key.
    const r = await stepUp(xavier, (o) => key.authenticate(o));
    expect(r.status).toBe(401);
  });
});

describe('managing factors', () => {
  it('adding a second factor and removing one both need a fresh step-up; the last factor cannot be removed', async () => {
    const c = await sessionCookie('yara', 'y-1');
    const first = new SoftAuthenticator(ORIGIN, 'app.test');
    expect((await enrol(c, first)).status).toBe(201);
    // A second factor without a step-up: refused.
    expect((await api('/.stepgate/api/factors/webauthn/options', c)).status).toBe(403);

    // Step up for factor management with the first passkey.
    const { challenge_id } = (await (await api('/.stepgate/api/factors/step-up', c)).json()) as { challenge_id: string };
    const options = (await (await api(`/.stepgate/api/challenges/${challenge_id}/webauthn/options`, c)).json()) as { challenge: string };
    const granted = await api(`/.stepgate/api/challenges/${challenge_id}/verify`, c, {
      method: 'webauthn',
      response: await first.authenticate(options),
    });
    expect(granted.status).toBe(200);
    const grant = granted.headers.get('set-cookie')!.split(';')[0]!;
    const withGrant = `${c}; ${grant}`;

    const second = new SoftAuthenticator(ORIGIN, 'app.test');
    const r = await enrol(withGrant, second);
    expect(r.status).toBe(201);
    expect(await r.json()).not.toHaveProperty('recovery_codes'); // only with the first factor

    expect((await api('/.stepgate/api/factors/remove', c, { kind: 'webauthn', id: first.id })).status).toBe(403); // no grant
    // Wanda's, not Yara's
    expect((await api('/.stepgate/api/factors/remove', withGrant, { kind: 'webauthn', id: key.id })).status).toBe(404);
    expect((await api('/.stepgate/api/factors/remove', withGrant, { kind: 'webauthn', id: first.id })).status).toBe(200);
    const last = await api('/.stepgate/api/factors/remove', withGrant, { kind: 'webauthn', id: second.id });
    expect(last.status).toBe(409);
  });
});

describe('backup-state changes', () => {
  it('are accepted and flagged by default, and refused when configured', async () => {
    const c = await sessionCookie('zoe', 'zoe-1');
    const k = new SoftAuthenticator(ORIGIN, 'app.test');
    expect((await enrol(c, k)).status).toBe(201);
    expect((await stepUp(c, (o) => k.authenticate(o, { backedUp: true }))).status).toBe(200); // default: flag

    const strict = createGateway({ ...env, WEBAUTHN_BACKUP_CHANGE: 'refuse' });
    const strictEnv = { ...env, WEBAUTHN_BACKUP_CHANGE: 'refuse' };
    const call = (path: string, init: RequestInit) =>
      strict.fetch(new Request(`${ORIGIN}${path}`, init), strictEnv, createExecutionContext());
    const held = await call(`/api/projects/${++project}`, { method: 'DELETE', headers: { cookie: c } });
    const { challenge_id } = (await held.json()) as { challenge_id: string };
    const json = { cookie: c, origin: ORIGIN, 'content-type': 'application/json' };
    const options = (await (
      await call(`/.stepgate/api/challenges/${challenge_id}/webauthn/options`, { method: 'POST', body: '{}', headers: json })
    ).json()) as { challenge: string };
    // The stored state is now "backed up"; an assertion saying "not backed up" is a change.
    const r = await call(`/.stepgate/api/challenges/${challenge_id}/verify`, {
      method: 'POST',
      body: JSON.stringify({ method: 'webauthn', response: await k.authenticate(options) }),
      headers: json,
    });
    expect(r.status).toBe(401);
  });
});
