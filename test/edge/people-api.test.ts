/**
 * The people endpoints of the admin API (POST …/orgs/:org/people/revoke, GET …/orgs/:org/people/:user)
 * in the Workers pool, real D1 and Durable Objects: who may revoke whom (role × what), nobody revokes
 * their own factors or grants (their own tokens they may), another organisation is 404 and never
 * reached, bad input changes nothing, every revocation is audited with who did it to whom, and an
 * administrator's view of a person (factors, lockout, roles, tokens) shows no secret.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { REFUSALS, type Role } from '../../edge/admin/authorization';
import { createOrg } from '../../edge/admin/org-store';
import { grantRole } from '../../edge/admin/role-store';
import { listEvents } from '../../edge/audit/audit-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { activeFactorCount } from '../../edge/factors/active-factors';
import { bodyOf, type Caller, callWith, person as personOn, send } from './admin-callers';
import { seedApp } from './seed-apps';
import { seedRole } from './seed-roles';

const ring = parseKeyring(env.STEPGATE_KEYS);
const ORG = 'pplco';
const ORG_HOST = 'pplco.test';

/** Call `path` on `host` with `headers`: same-origin JSON for a write (a string body as it is). */
const call = (headers: Record<string, string>, host: string, method: string, path: string, body?: unknown) =>
  callWith(send, headers, host, method, path, body);

/** Sign in (demo session on app.test for default, the dev header on pplco.test), enrol an authenticator app, step up. */
const person = (name: string, org: 'default' | typeof ORG): Promise<Caller> =>
  personOn(send, name, org === 'default' ? 'app.test' : ORG_HOST, { session: `${name}-people` });

const revokeAs = (who: Caller, body: unknown, org = who.host === ORG_HOST ? ORG : 'default') =>
  call(who.stepped, who.host, 'POST', `/.stepgate/api/admin/orgs/${org}/people/revoke`, body);
const viewAs = (who: Caller, user: string, org = 'default') =>
  call(who.stepped, who.host, 'GET', `/.stepgate/api/admin/orgs/${org}/people/${encodeURIComponent(user)}`);

const NAMES: Record<Role | 'none', string> = {
  owner: 'pp-olga',
  admin: 'pp-adam',
  'app-admin': 'pp-apam',
  auditor: 'pp-audrey',
  helpdesk: 'pp-hank',
  none: 'pp-nina',
};
const people = {} as Record<Role | 'none', Caller>;
let orgAdmin: Caller; // admin of pplco
let targetSeq = 0;
/** A fresh person of the default organisation with one authenticator app and ten recovery codes. */
const newTarget = async () => (await person(`pp-target-${++targetSeq}`, 'default')).name;

beforeAll(async () => {
  const now = Date.now();
  expect((await createOrg(env.DB, { id: ORG, name: 'People Co', now, owner: { ring, sub: `${ORG}/boss`, grantedBy: 'seed' } })).ok).toBe(
    true,
  );
  await seedApp({ org: ORG, name: 'pplco-app', hosts: [ORG_HOST], createdBy: `${ORG}/boss`, now });
  expect((await grantRole(env.DB, ring, { orgId: ORG, sub: `${ORG}/ada`, role: 'admin', grantedBy: `${ORG}/boss`, now })).ok).toBe(true);
  const apamApp = await seedApp({ name: 'pp-app', hosts: ['pp-app.example'], now });
  for (const [role, name] of Object.entries(NAMES)) {
    if (role === 'app-admin') await seedRole(name, 'app-admin', { appId: apamApp.id });
    else if (role !== 'none') await seedRole(name, role as Role);
    people[role as Role | 'none'] = await person(name, 'default');
  }
  orgAdmin = await person('ada', ORG);
}, 60_000);

describe('who may revoke whom', () => {
  const matrix: [Role | 'none', number, number][] = [
    // role, factors/grants, tokens
    ['owner', 200, 200],
    ['admin', 200, 200],
    ['app-admin', 403, 403],
    ['auditor', 403, 403],
    ['helpdesk', 403, 403],
    ['none', 404, 404],
  ];
  for (const [role, factorsStatus, tokensStatus] of matrix) {
    it(`${role}: factors ${factorsStatus}, grants ${factorsStatus}, tokens ${tokensStatus}`, async () => {
      for (const [what, want] of [
        [{ factors: true }, factorsStatus],
        [{ grants: true }, factorsStatus],
        [{ tokens: true }, tokensStatus],
      ] as const) {
        const user = await newTarget();
        const r = await revokeAs(people[role], { user, ...what });
        expect(r.status, JSON.stringify(what)).toBe(want);
        // A refusal changed nothing.
        expect(await activeFactorCount(env.DB, ring, user)).toBe(want === 200 && 'factors' in what ? 0 : 1);
        if (want === 403) expect((await bodyOf(r)).code).toBe('ERR_FORBIDDEN');
      }
    });
  }

  it('nobody revokes their own factors or grants; their own tokens they may', async () => {
    const adam = people.admin;
    for (const what of [{ factors: true }, { grants: true }, { factors: true, tokens: true }]) {
      const r = await revokeAs(adam, { user: adam.name, ...what });
      expect(r.status).toBe(403);
      expect((await bodyOf(r)).detail).toBe(REFUSALS['own-factors']);
    }
    expect(await activeFactorCount(env.DB, ring, adam.name)).toBe(1);
    const own = await revokeAs(adam, { user: adam.name, tokens: true });
    expect(own.status).toBe(200);
    // Their step-up still works: revoking tokens touched no grant.
    expect((await viewAs(adam, 'pp-nina')).status).toBe(200);
  });

  it('another organisation is 404 naming nothing, both ways, and its people are never reached', async () => {
    const user = await newTarget();
    // pplco's admin, on the default organisation (through their own app, or naming it in the path).
    const cross = await revokeAs(orgAdmin, { user, factors: true }, 'default');
    expect(cross.status).toBe(404);
    expect(JSON.stringify(await bodyOf(cross))).not.toContain(user);
    // The default organisation's admin, on pplco.
    expect((await revokeAs(people.admin, { user: 'ada', factors: true }, ORG)).status).toBe(404);
    expect((await viewAs(people.admin, 'ada', ORG)).status).toBe(404);
    // A subject with "/" in default would be another organisation's person: refused, not revoked.
    const slash = await revokeAs(people.admin, { user: `${ORG}/ada`, factors: true });
    expect(slash.status).toBe(400);
    expect(await activeFactorCount(env.DB, ring, `${ORG}/ada`)).toBe(1);
    // pplco's admin revoking "pp-target-N" reaches pplco's person of that name, never default's.
    const own = await revokeAs(orgAdmin, { user, factors: true });
    expect(own.status).toBe(200);
    expect(((await bodyOf(own)).revoked as { factors: number }).factors).toBe(0);
    expect(await activeFactorCount(env.DB, ring, user)).toBe(1);
  });

  it('needs a fresh step-up and a same-origin JSON request', async () => {
    const user = await newTarget();
    const plain = await call(people.admin.plain, 'app.test', 'POST', '/.stepgate/api/admin/orgs/default/people/revoke', {
      user,
      factors: true,
    });
    expect(plain.status).toBe(403);
    expect((await bodyOf(plain)).code).toBe('ERR_FRESH_STEP_UP_REQUIRED');
    const crossSite = await send('http://app.test/.stepgate/api/admin/orgs/default/people/revoke', {
      method: 'POST',
      headers: { ...people.admin.stepped, origin: 'https://evil.example', 'content-type': 'application/json' },
      body: JSON.stringify({ user, factors: true }),
    });
    expect(crossSite.status).toBe(403);
    expect(await activeFactorCount(env.DB, ring, user)).toBe(1);
  });
});

describe('bad input', () => {
  it('is a 400 naming the field, and changes nothing', async () => {
    const user = await newTarget();
    for (const body of [
      {},
      { user },
      { user, factors: false, grants: false, tokens: false },
      { user, factors: 'yes' },
      { user, factors: true, extra: 1 },
      { user: '', factors: true },
      { user: 'x'.repeat(257), factors: true },
      '{"user":',
    ]) {
      const r = await revokeAs(people.admin, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect((await bodyOf(r)).code).toBe('ERR_BAD_REQUEST');
    }
    expect((await revokeAs(people.admin, { user })).status).toBe(400);
    expect(((await bodyOf(await revokeAs(people.admin, { user }))).detail as string).toLowerCase()).toContain('factors');
    expect(await activeFactorCount(env.DB, ring, user)).toBe(1);
  });
});

describe('the record', () => {
  it('audits every revocation with who did it, to whom, what and how much; and every refusal', async () => {
    const user = await newTarget();
    expect((await revokeAs(people.owner, { user, factors: true, tokens: true })).status).toBe(200);
    const { events } = await listEvents(env.DB, ring, 'default', { types: ['person.revoked'] }, { limit: 50, order: 'desc' });
    const e = events.find((x) => x.event.target === user)!.event;
    expect(e).toMatchObject({
      actor: 'pp-olga',
      via: 'session',
      target: user,
      outcome: 'success',
      details: {
        org: 'default',
        factors: true,
        grants: true,
        tokens: true,
        factors_revoked: 11,
        totp: 1,
        recovery_codes: 10,
        passkeys: 0,
        invites: 0,
        tokens_revoked: 0,
      },
    });
    const other = await newTarget();
    expect((await revokeAs(people.helpdesk, { user: other, grants: true })).status).toBe(403);
    const refused = await listEvents(env.DB, ring, 'default', { types: ['admin.refused'] }, { limit: 50, order: 'desc' });
    expect(refused.events.find((x) => x.event.target === other)?.event).toMatchObject({
      actor: 'pp-hank',
      details: { action: 'person.revoke-factors', code: 'not-allowed' },
    });
  });
});

describe('looking a person up', () => {
  it('shows factors, lockout, roles and tokens to owners and admins, and no secret', async () => {
    const user = await newTarget();
    const r = await viewAs(people.admin, user);
    expect(r.status).toBe(200);
    const body = await bodyOf(r);
    expect(body).toMatchObject({
      user,
      factors: [
        { kind: 'totp', created_at: expect.any(String) },
        { kind: 'recovery-codes', label: '10 left' },
      ],
      locked: { consecutive_failures: 0, backoff_until: null, locked_out: false },
      roles: [],
      tokens: [],
      recovery: null,
    });
    expect(JSON.stringify(body)).not.toMatch(/secret|sealed|_ref/);
    const auditor = await bodyOf(await viewAs(people.admin, NAMES.auditor));
    expect(auditor.roles).toEqual([{ role: 'auditor', app_id: null, grant: expect.any(String) }]);
    // After a revocation: nothing left to list.
    await revokeAs(people.admin, { user, factors: true });
    expect((await bodyOf(await viewAs(people.admin, user))).factors).toEqual([]);
  });

  it('is refused to other roles (403) and to people with no role (404)', async () => {
    expect((await viewAs(people.owner, NAMES.none)).status).toBe(200);
    for (const role of ['app-admin', 'auditor', 'helpdesk'] as const) expect((await viewAs(people[role], NAMES.none)).status).toBe(403);
    expect((await viewAs(people.none, NAMES.owner)).status).toBe(404);
    expect((await viewAs(people.admin, `${ORG}/ada`)).status).toBe(400);
  });
});
