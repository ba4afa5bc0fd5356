/**
 * What a personal API token may do in the admin API (Workers pool, real D1 and Durable Objects): it
 * acts as its owner with their roles at the moment of use, in its own organisation only (another
 * organisation answers 404 naming nothing, as for sessions), within its scopes (admin:read reads,
 * admin:write writes), and never does what a person must do in a browser (roles, unlocking,
 * revocation, recovery, revoking tokens) — each refusal a 403 that says so, with nothing changed.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp, listApps } from '../../edge/admin/app-store';
import { ADMIN_ACTIONS } from '../../edge/admin/authorization';
import { createOrg } from '../../edge/admin/org-store';
import { listRoleGrants } from '../../edge/admin/role-store';
import { SCOPE_ACTIONS, tokenMayDo, TOKEN_SCOPES } from '../../edge/admin/token-scopes';
import { parseKeyring } from '../../edge/crypto/keyring';
import { as, type Caller, makeToken, person, withToken } from './admin-callers';
import { seedRole } from './seed-roles';

const ring = parseKeyring(env.STEPGATE_KEYS);
const API = '/.stepgate/api/admin';
const BETA = 'beta.test';
const policy = {
  version: 1,
  rules: [{ id: 'w', match: { methods: ['POST'], path: '/api/**' }, require: { factors: ['totp'], bind: 'session' } }],
};
let seq = 0;
const appBody = () => ({ name: `app-${++seq}`, hosts: [`tok-${seq}.example`], identity: { source: 'dev' }, policy });

let olga: Caller; // owner of default
let apam: Caller; // app-admin of appX
let betaBoss: Caller; // owner of beta
let appX: string;
let appY: string;
const tokens = {} as Record<'all' | 'read' | 'write' | 'audit' | 'apam' | 'beta', string>;
const bodyOf = async (r: Response) => (await r.json()) as { code?: string; detail?: string; [k: string]: unknown };

beforeAll(async () => {
  const now = Date.now();
  expect((await createOrg(env.DB, { id: 'beta', name: 'Beta Ltd', now, owner: { ring, sub: 'beta/boss', grantedBy: 'seed' } })).ok).toBe(
    true,
  );
  const b = await createApp(env.DB, ring, {
    orgId: 'beta',
    ...appBody(),
    hosts: [BETA],
    originUrl: null,
    createdBy: 'beta/boss',
    now,
    development: true,
  });
  expect(b.ok).toBe(true);
  for (const id of ['x', 'y']) {
    const a = await createApp(env.DB, ring, { orgId: 'default', ...appBody(), originUrl: null, createdBy: 'seed', now, development: true });
    if (!a.ok) throw new Error('app');
    if (id === 'x') appX = a.app.id;
    else appY = a.app.id;
  }
  await seedRole('olga', 'owner');
  await seedRole('apam', 'app-admin', { appId: appX });
  [olga, apam, betaBoss] = await Promise.all([person('olga'), person('apam'), person('boss', BETA)]);
  tokens.all = (await makeToken(olga, ['admin:read', 'admin:write', 'audit:read'])).token;
  tokens.read = (await makeToken(olga, ['admin:read'])).token;
  tokens.write = (await makeToken(olga, ['admin:write'])).token;
  tokens.audit = (await makeToken(olga, ['audit:read'])).token;
  tokens.apam = (await makeToken(apam, ['admin:read', 'admin:write'])).token;
  tokens.beta = (await makeToken(betaBoss, ['admin:read', 'admin:write'])).token;
}, 60_000);

describe('a token works in its own organisation only', () => {
  it('another organisation answers 404 with the body a session gets, through any host', async () => {
    const sessionAnswer = await bodyOf(await as(olga, 'GET', `${API}/orgs/beta/apps`));
    expect(sessionAnswer).toMatchObject({ code: 'ERR_NOT_FOUND', detail: 'No such organisation, or you hold no role in it.' });
    for (const [token, org] of [
      [tokens.beta, 'default'],
      [tokens.all, 'beta'],
      [tokens.beta, 'no-such-org'],
    ] as const) {
      for (const host of ['app.test', BETA]) {
        for (const [method, path, body] of [
          ['GET', `${API}/orgs/${org}/apps`, undefined],
          ['GET', `${API}/orgs/${org}/roles`, undefined],
          ['POST', `${API}/orgs/${org}/apps`, appBody()],
          ['GET', `${API}/orgs/${org}/apps/${appX}/policy`, undefined],
        ] as const) {
          const r = await withToken(token, host, method, path, body);
          expect([method, path, host, r.status]).toEqual([method, path, host, 404]);
          expect(await bodyOf(r)).toEqual(sessionAnswer);
        }
      }
    }
    expect((await listApps(env.DB, 'beta')).length).toBe(1);
    // In its own organisation, through either host, it works.
    expect((await withToken(tokens.beta, 'app.test', 'GET', `${API}/orgs/beta/apps`)).status).toBe(200);
    expect((await withToken(tokens.beta, BETA, 'GET', `${API}/orgs/beta/roles`)).status).toBe(200);
  });
});

describe('scopes', () => {
  it('admin:read reads apps, policies and roles, and cannot write: nothing changes', async () => {
    expect((await withToken(tokens.read, 'app.test', 'GET', `${API}/orgs/default/apps`)).status).toBe(200);
    expect((await withToken(tokens.read, 'app.test', 'GET', `${API}/orgs/default/apps/${appX}/policy`)).status).toBe(200);
    expect((await withToken(tokens.read, 'app.test', 'GET', `${API}/orgs/default/roles`)).status).toBe(200);
    const before = await listApps(env.DB, 'default');
    for (const [method, path, body] of [
      ['POST', `${API}/orgs/default/apps`, appBody()],
      ['PATCH', `${API}/orgs/default/apps/${appX}`, { name: 'renamed' }],
      ['DELETE', `${API}/orgs/default/apps/${appY}`, {}],
      ['PUT', `${API}/orgs/default/apps/${appX}/policy`, { policy }],
    ] as const) {
      const r = await withToken(tokens.read, 'app.test', method, path, body);
      expect([method, path, r.status]).toEqual([method, path, 403]);
      expect((await bodyOf(r)).detail).toMatch(/^this token does not have the admin:write scope/);
    }
    expect(await listApps(env.DB, 'default')).toEqual(before);
  });

  it('audit:read is not an admin credential; admin:write alone writes but does not read', async () => {
    for (const path of [`${API}/orgs/default/apps`, `${API}/orgs/default/roles`]) {
      const r = await withToken(tokens.audit, 'app.test', 'GET', path);
      expect(r.status).toBe(403);
      expect((await bodyOf(r)).detail).toBe('this token does not have the admin:read scope');
    }
    expect((await withToken(tokens.write, 'app.test', 'GET', `${API}/orgs/default/apps`)).status).toBe(403);
    const made = await withToken(tokens.write, 'app.test', 'POST', `${API}/orgs/default/apps`, appBody());
    expect(made.status).toBe(201);
    const id = ((await bodyOf(made)).app as { id: string }).id;
    expect((await withToken(tokens.write, 'app.test', 'PUT', `${API}/orgs/default/apps/${id}/policy`, { policy })).status).toBe(200);
    expect((await withToken(tokens.write, 'app.test', 'DELETE', `${API}/orgs/default/apps/${id}`, {})).status).toBe(200);
    // A write with a token still carries JSON.
    const form = await withToken(tokens.write, 'app.test', 'POST', `${API}/orgs/default/apps`);
    expect(form.status).toBe(415);
  });

  it('a change made with a token is audited as the token’s owner, by token', async () => {
    const made = await withToken(tokens.all, 'app.test', 'POST', `${API}/orgs/default/apps`, appBody());
    expect(made.status).toBe(201);
    const r = await withToken(tokens.all, 'app.test', 'GET', '/.stepgate/api/admin/audit/events?type=app.created&limit=1');
    expect(r.status).toBe(200);
    const [e] = ((await r.json()) as { events: { event: { actor: string; via: string; details: Record<string, unknown> } }[] }).events;
    expect(e!.event).toMatchObject({ actor: 'olga', via: 'token', details: { token: expect.any(String) } });
  });

  it('an app-admin’s token acts on their app only: another app is not confirmed to exist', async () => {
    expect((await withToken(tokens.apam, 'app.test', 'GET', `${API}/orgs/default/apps/${appX}/policy`)).status).toBe(200);
    expect((await withToken(tokens.apam, 'app.test', 'PUT', `${API}/orgs/default/apps/${appX}/policy`, { policy })).status).toBe(200);
    const other = await withToken(tokens.apam, 'app.test', 'PUT', `${API}/orgs/default/apps/${appY}/policy`, { policy });
    expect(other.status).toBe(404);
    const apps = (await bodyOf(await withToken(tokens.apam, 'app.test', 'GET', `${API}/orgs/default/apps`))).apps as { id: string }[];
    expect(apps.map((a) => a.id)).toEqual([appX]);
    expect((await withToken(tokens.apam, 'app.test', 'POST', `${API}/orgs/default/apps`, appBody())).status).toBe(403);
  });
});

describe('what a person must do in a browser', () => {
  it('no scope names roles, unlocking, revocation, recovery or revoking tokens: a token is never enough', () => {
    const sessionOnly = ADMIN_ACTIONS.filter((a) => tokenMayDo(TOKEN_SCOPES, a) === 'session-only');
    expect(sessionOnly.sort()).toEqual(
      [
        'person.revoke-factors',
        'person.unlock',
        'recovery.approve',
        'recovery.start',
        'role.grant',
        'role.revoke',
        'token.revoke',
        // Approving a weakening is the second person's own decision, in a browser after their own step-up.
        'policy.approve',
        // In no scope: in admin:read it would let an auditor (who may read the baseline) make an admin:read token.
        'baseline.read',
        // Where approvals are announced, and the secret that signs them (docs/admin.md, "Webhooks").
        'webhook.manage',
      ].sort(),
    );
    for (const s of TOKEN_SCOPES) for (const a of SCOPE_ACTIONS[s]) expect(sessionOnly).not.toContain(a);
  });

  it('is refused 403 “in the browser” to an owner’s token of every scope, and nothing changes', async () => {
    await seedRole('nick', 'auditor');
    const [grant] = await listRoleGrants(env.DB, ring, { orgId: 'default', sub: 'nick' });
    const grantsBefore = await listRoleGrants(env.DB, ring, { orgId: 'default' });
    const attempts: [string, string, unknown][] = [
      ['POST', `${API}/orgs/default/roles`, { person: 'nina', role: 'admin' }],
      ['DELETE', `${API}/orgs/default/roles/${grant!.id}`, {}],
      ['POST', `${API}/unlock`, { user: 'nick' }],
      ['POST', `${API}/invites`, { user: 'nick' }],
      ['POST', `${API}/orgs/default/people/revoke`, { user: 'nick', factors: true }],
      ['POST', `${API}/orgs/default/people/revoke`, { user: 'nick', grants: true }],
      ['POST', `${API}/orgs/default/people/revoke`, { user: 'nick', tokens: true }],
      ['POST', `${API}/orgs/default/recoveries`, { user: 'nick' }],
      ['POST', '/.stepgate/api/tokens/AAAAAAAAAAAAAAAA/revoke', {}],
    ];
    for (const [method, path, body] of attempts) {
      for (const token of [tokens.all, tokens.read]) {
        const r = await withToken(token, 'app.test', method, path, body);
        expect([method, path, r.status]).toEqual([method, path, 403]);
        expect((await bodyOf(r)).detail).toMatch(/a person must do this in the browser, with a fresh step-up/);
      }
    }
    expect(await listRoleGrants(env.DB, ring, { orgId: 'default' })).toEqual(grantsBefore);
  });
});
