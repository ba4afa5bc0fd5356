/**
 * Revocation that works now (docs/admin.md, "Revocation"), in the Workers pool with real D1, the
 * person's Durable Object and the demo origin: a request held on a prompt is refused when its person
 * is revoked mid-wait and never reaches the origin; a grant or approval from before the revocation
 * fails on the very next request (a new step-up afterwards works); the fresh step-up of Stepgate's
 * own endpoints is revoked too; factors revoked take every kind and the grants with them, even
 * while a step-up races the revocation; tokens revoked are refused at once.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { authenticateToken } from '../../edge/admin/api-tokens';
import { parseKeyring } from '../../edge/crypto/keyring';
import { activeFactorCount } from '../../edge/factors/active-factors';
import { issueInvite, useInvite } from '../../edge/factors/invites/invite-store';
import { recoveryCodesLeft } from '../../edge/factors/recovery/recovery-code-store';
import { totpFactors } from '../../edge/factors/totp/totp-store';
import { addWebauthnCredential, webauthnCredentials } from '../../edge/factors/webauthn/passkey-store';
import type { UserState } from '../../edge/user-state/user-state';
import { enrolTotp, factorsStepUp, gw, ORIGIN, type Person, post } from '../support/edge-flow';
import { seedRole } from './seed-roles';

const ring = parseKeyring(env.STEPGATE_KEYS);
const originUrl = inject('originUrl');
const EXT = 'chrome-extension://leldacdejfbkleoogdbophfdkoapmfbd'; // WEBAUTHN_ORIGINS in wrangler.toml
const REVOKE = '/.stepgate/api/admin/orgs/default/people/revoke';

/** What the demo origin received whose URL carries `marker`. */
const seen = async (marker: string) =>
  ((await (await fetch(`${originUrl}/__demo/requests`)).json()) as { method: string; url: string }[]).filter((r) => r.url.includes(marker));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Answer a challenge with the person's next recovery code (ten of them: more step-ups than TOTP time steps allow). */
const answer = (p: Person, challengeId: string, cookie = p.cookie) =>
  post(`/.stepgate/api/challenges/${challengeId}/verify`, cookie, { method: 'recovery', code: p.recovery.pop()! });
const challengeOf = async (r: Response) => ((await r.json()) as { challenge_id: string }).challenge_id;
/** POST /admin/settings (rule admin-writes: a session grant), tagged so the origin's log can be searched. */
const adminWrite = (cookie: string, marker: string, headers: Record<string, string> = {}) =>
  gw(`/admin/settings?m=${marker}`, { method: 'POST', body: '{}', headers: { cookie, 'content-type': 'application/json', ...headers } });
/** A session grant for rule admin-writes: the cookie header with it. */
async function adminWritesGrant(p: Person, marker: string): Promise<string> {
  const first = await adminWrite(p.cookie, marker);
  expect(first.status).toBe(401);
  const ok = await answer(p, await challengeOf(first));
  expect(ok.status).toBe(200);
  return `${p.cookie}; ${ok.headers.get('set-cookie')!.split(';')[0]!}`;
}
/** A fetch marked by the extension: held while its prompt is answered. */
const marked = (p: Person, path: string, method = 'DELETE') =>
  gw(path, {
    method,
    ...(method === 'POST' ? { body: '{}' } : {}),
    headers: {
      cookie: p.cookie,
      'stepgate-extension': '1',
      'sec-fetch-mode': 'cors',
      origin: ORIGIN,
      ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
    },
  });
/** The person's held challenges for `path`, once there are at least `n` of them (the requests are waiting on their prompts). */
const pendingHeld = async (p: Person, path: string, n = 1) => {
  for (let i = 0; i < 200; i++) {
    const r = await gw('/.stepgate/api/challenges', { headers: { cookie: p.cookie } });
    const cs = ((await r.json()) as { challenges: { id: string; held: boolean; action: { path: string } }[] }).challenges.filter(
      (x) => x.held && x.action.path === path,
    );
    if (cs.length >= n) return cs[0]!;
    await sleep(20);
  }
  throw new Error(`no ${n} held challenges for ${path}`);
};

let admin: { cookie: string };
const revoke = (body: Record<string, unknown>) => post(REVOKE, admin.cookie, body);
type Revoked = { user: string; revoked: { factors: number; tokens: number; challenges: number; held: number } };

beforeAll(async () => {
  await seedRole('rv-admin', 'admin');
  const a = await enrolTotp('rv-admin');
  admin = { cookie: await factorsStepUp(a) };
}, 30_000);

describe('a request held on a prompt', () => {
  it('is refused when its person is revoked while it waits, and never reaches the origin (action rule)', async () => {
    const p = await enrolTotp('rv-held-1');
    const held = marked(p, '/api/projects/71?m=rv-held-action');
    const c = await pendingHeld(p, '/api/projects/71');
    // Revoked while the request is held: both at once.
    const [res, r] = await Promise.all([held, revoke({ user: p.user, grants: true })]);
    expect(r.status).toBe(200);
    const body = (await r.json()) as Revoked;
    expect(body.revoked.held).toBe(1);
    expect(body.revoked.challenges).toBeGreaterThanOrEqual(1);
    expect(res.status).toBe(401);
    expect(await seen('rv-held-action')).toEqual([]);
    // The prompt is gone: approving it now finds nothing, and nothing is carried out later.
    expect(
      (await post(`/.stepgate/api/challenges/${c.id}/verify`, p.cookie, { method: 'recovery', code: p.recovery[0]! }, { origin: EXT }))
        .status,
    ).toBe(404);
    await sleep(100);
    expect(await seen('rv-held-action')).toEqual([]);
  });

  it('is refused for a session rule too, however the revocation and the wait interleave', async () => {
    const p = await enrolTotp('rv-held-2');
    const held = [0, 1, 2].map((i) => marked(p, `/admin/settings?m=rv-held-session-${i}`, 'POST'));
    await pendingHeld(p, '/admin/settings', 3);
    const r = await revoke({ user: p.user, grants: true });
    expect(r.status).toBe(200);
    expect(((await r.json()) as Revoked).revoked.held).toBe(3);
    for (const res of await Promise.all(held)) expect(res.status).toBe(401);
    expect(await seen('rv-held-session')).toEqual([]);
  });
});

describe('a grant from before the revocation', () => {
  it('stops working on the very next request; a new step-up afterwards works again', async () => {
    const p = await enrolTotp('rv-grant');
    const withGrant = await adminWritesGrant(p, 'rv-grant-0');
    expect((await adminWrite(withGrant, 'rv-grant-1')).status).toBe(200);
    expect(await revoke({ user: p.user, grants: true }).then((r) => r.status)).toBe(200);
    const next = await adminWrite(withGrant, 'rv-grant-2');
    expect(next.status).toBe(401);
    expect(await seen('rv-grant-2')).toEqual([]);
    // A step-up in the same second as the revocation is refused too (the safe side): a second later, a new one works.
    await sleep(1100);
    const again = await adminWritesGrant(p, 'rv-grant-3');
    expect((await adminWrite(again, 'rv-grant-4')).status).toBe(200);
    expect(await seen('rv-grant-4')).toHaveLength(1);
    // …and the old grant stays revoked.
    expect((await adminWrite(withGrant, 'rv-grant-5')).status).toBe(401);
  });

  it('an approval of one exact action, not yet spent, is dropped', async () => {
    const p = await enrolTotp('rv-approval');
    const first = await gw('/api/projects/72?m=rv-approval', { method: 'DELETE', headers: { cookie: p.cookie } });
    expect(first.status).toBe(401);
    expect((await answer(p, await challengeOf(first))).status).toBe(200);
    const r = await revoke({ user: p.user, grants: true });
    expect(((await r.json()) as { revoked: { approvals: number } }).revoked.approvals).toBe(1);
    expect((await gw('/api/projects/72?m=rv-approval', { method: 'DELETE', headers: { cookie: p.cookie } })).status).toBe(401);
    expect(await seen('rv-approval')).toEqual([]);
  });

  it('the fresh step-up of Stepgate’s own endpoints is revoked too: an administrator’s included', async () => {
    await seedRole('rv-admin2', 'admin');
    const p = await enrolTotp('rv-admin2');
    const stepped = await factorsStepUp(p);
    const me = (cookie: string) => gw('/.stepgate/api/admin/orgs/default/roles', { headers: { cookie } });
    expect((await me(stepped)).status).toBe(200);
    expect((await revoke({ user: p.user, grants: true })).status).toBe(200);
    const refused = await me(stepped);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: 'ERR_FRESH_STEP_UP_REQUIRED' });
    expect((await post('/.stepgate/api/recovery-codes', stepped)).status).toBe(403);
  });

  it('concurrent requests with the grant: every one answered after the revocation is refused', async () => {
    const p = await enrolTotp('rv-race');
    const withGrant = await adminWritesGrant(p, 'rv-race-0');
    const during = Array.from({ length: 4 }, (_, i) => adminWrite(withGrant, `rv-race-d${i}`));
    expect((await revoke({ user: p.user, grants: true })).status).toBe(200);
    // Each was answered either before the revocation (200) or after it (401).
    for (const r of await Promise.all(during)) expect([200, 401]).toContain(r.status);
    const after = await Promise.all(Array.from({ length: 4 }, (_, i) => adminWrite(withGrant, `rv-race-a${i}`)));
    expect(after.map((r) => r.status)).toEqual(Array(4).fill(401));
    expect(await seen('rv-race-a')).toEqual([]);
  });
});

describe('revoking factors', () => {
  it('removes every kind (passkey, authenticator app, recovery codes, invitation) and revokes the grants', async () => {
    const p = await enrolTotp('rv-factors');
    const now = Date.now();
    const stored = await addWebauthnCredential(
      env.DB,
      ring,
      p.user,
      {
        id: 'rv-factors-passkey',
        publicKey: crypto.getRandomValues(new Uint8Array(65)),
        counter: 0,
        transports: ['internal'],
        deviceType: 'singleDevice',
        backedUp: false,
        nickname: 'laptop',
      },
      now,
    );
    expect(stored).toBe(true);
    const invite = await issueInvite(env.DB, ring, p.user, 'rv-admin', now);
    // A pending authenticator app too: it could otherwise be confirmed afterwards.
    const pending = await post('/.stepgate/api/factors/totp', await factorsStepUp(p));
    expect(pending.status).toBe(201);
    const withGrant = await adminWritesGrant(p, 'rv-factors-0');
    expect(await activeFactorCount(env.DB, ring, p.user)).toBe(2);

    const r = await revoke({ user: p.user, factors: true });
    expect(r.status).toBe(200);
    const body = (await r.json()) as Revoked;
    // 1 passkey + 2 authenticator apps (active, pending) + 9 recovery codes left of 10, all stored + 1 invitation
    expect(body).toMatchObject({ user: 'rv-factors', revoked: { factors: 1 + 2 + 10 + 1, tokens: 0 } });
    expect(await activeFactorCount(env.DB, ring, p.user)).toBe(0);
    expect(await webauthnCredentials(env.DB, ring, p.user)).toEqual([]);
    expect(await recoveryCodesLeft(env.DB, ring, p.user)).toBe(0);
    expect(await useInvite(env.DB, ring, p.user, invite, Date.now())).toBe(false);
    expect(await totpFactors(env.DB, ring, p.user, 'pending')).toEqual([]);
    // Grants went with them.
    expect((await adminWrite(withGrant, 'rv-factors-1')).status).toBe(401);
    expect(await seen('rv-factors-1')).toEqual([]);
    // With no factor left, a step-up cannot even begin.
    expect((await post('/.stepgate/api/factors/step-up', p.cookie)).status).toBe(400);
  });

  it('a step-up racing the revocation leaves no grant that works', async () => {
    for (let round = 0; round < 3; round++) {
      const p = await enrolTotp(`rv-factor-race-${round}`);
      const first = await adminWrite(p.cookie, `rv-fr-${round}-0`);
      const id = await challengeOf(first);
      const [ok, r] = await Promise.all([answer(p, id), revoke({ user: p.user, factors: true })]);
      expect(r.status).toBe(200);
      const grant = ok.status === 200 ? ok.headers.get('set-cookie')!.split(';')[0]! : null;
      if (grant) expect((await adminWrite(`${p.cookie}; ${grant}`, `rv-fr-${round}-1`)).status).toBe(401);
      expect(await seen(`rv-fr-${round}-1`)).toEqual([]);
      expect(await activeFactorCount(env.DB, ring, p.user)).toBe(0);
    }
  });
});

describe('revoking tokens', () => {
  it('refuses every token of the person at once', async () => {
    await seedRole('rv-tokens', 'auditor');
    const p = await enrolTotp('rv-tokens');
    const stepped = await factorsStepUp(p);
    const tokens: string[] = [];
    for (const label of ['ci', 'laptop']) {
      const t = await post('/.stepgate/api/tokens', stepped, { scopes: ['audit:read'], label });
      expect(t.status).toBe(201);
      tokens.push(((await t.json()) as { token: string }).token);
    }
    const read = (token: string) => gw('/.stepgate/api/admin/audit/events?limit=1', { headers: { authorization: `Bearer ${token}` } });
    expect((await read(tokens[0]!)).status).toBe(200);
    const r = await revoke({ user: p.user, tokens: true });
    expect(((await r.json()) as Revoked).revoked).toMatchObject({ tokens: 2, factors: 0 });
    for (const t of tokens) {
      expect((await read(t)).status).toBe(401);
      expect(await authenticateToken(env.DB, ring, t, Date.now())).toBeNull();
    }
    // Tokens alone leave the factors and grants alone.
    expect(await activeFactorCount(env.DB, ring, p.user)).toBe(1);
    expect((await post('/.stepgate/api/recovery-codes', stepped)).status).toBe(201);
  });
});

describe('UserState.revokeEverything', () => {
  it('only moves the revocation time forward, and wakes every waiting request "gone"', async () => {
    const stub = env.USER_STATE.get(env.USER_STATE.idFromName('rv-direct'));
    await runInDurableObject(stub, async (instance) => {
      const us = instance as UserState;
      const ch = await us.createChallenge({
        sid: 's1',
        rule: 'r',
        bind: 'session',
        factors: ['totp'],
        maxAgeSeconds: 60,
        actionDigest: null,
        action: { method: 'POST', host: 'app.test', path: '/x', query: '', bodySha256: '' },
        matchedMethod: 'POST',
      });
      const waiting = us.awaitDecision(ch.id, 's1', 10_000);
      expect(await us.grantsRevokedAt()).toBe(0);
      const later = Date.now() + 60_000;
      expect(await us.revokeEverything(later)).toEqual({ challenges: 1, held: 1, approvals: 0 });
      expect(await waiting).toEqual({ kind: 'gone' });
      await us.revokeEverything(Date.now());
      expect(await us.grantsRevokedAt()).toBe(later);
    });
  });
});
