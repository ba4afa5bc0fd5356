/**
 * The admin API (/.stepgate/api/admin/...) in the Workers pool, real D1 and Durable Objects: the
 * bootstrap claim once, then a role × endpoint × same-org/other-org matrix (allowed exactly where
 * the roles say, 403 with the rule's reason elsewhere, 404 naming nothing for an organisation the
 * caller holds no role in), the segregation rules through the API, and every change audited with
 * its organisation and app. Two organisations: "default" (the bundled app on app.test, demo
 * sessions) and "acme" (an app on acme.test, the dev identity source: its people are "acme/<name>").
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { REFUSALS, type Role } from '../../edge/admin/authorization';
import { createOrg } from '../../edge/admin/org-store';
import { grantRole, listRoleGrants } from '../../edge/admin/role-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { as, bodyOf, type Caller, callWith, person as personOn, send } from './admin-callers';
import { seedApp } from './seed-apps';

const ring = parseKeyring(env.STEPGATE_KEYS);
// The shared gateway's bundled app claims app.test only (a `hosts` list), so acme.test and the apps made here are D1's.
const API = '/.stepgate/api/admin';

/** Call `path` on `host` with the headers `plain` (no step-up); writes as same-origin JSON. */
const call = (plain: Record<string, string>, host: string, method: string, path: string, body?: unknown) =>
  callWith(send, plain, host, method, path, body);

/**
 * Sign in, enrol an authenticator app and step up: the default org through demo sessions on
 * app.test, acme through the dev header on acme.test.
 */
const person = (name: string, org: 'default' | 'acme'): Promise<Caller> =>
  personOn(send, name, org === 'default' ? 'app.test' : 'acme.test', { session: `${name}-admin-api` });

const testPolicy = (hosts?: string[]) => ({
  version: 1,
  ...(hosts ? { hosts } : {}),
  rules: [{ id: 'writes', match: { methods: ['POST'], path: '/api/**' }, require: { factors: ['totp'], bind: 'session', maxAge: '5m' } }],
});
const devIdentity = { source: 'dev' };
let hostSeq = 0;
const newAppBody = (name: string) => {
  const host = `app-${++hostSeq}-${name}.example`;
  return { name, hosts: [host], identity: devIdentity, policy: testPolicy() };
};

// People of the default organisation, by the role they will hold.
const ROLE_NAMES: Record<Role | 'none', string> = {
  owner: 'olga',
  admin: 'adam',
  'app-admin': 'apam',
  auditor: 'audrey',
  helpdesk: 'hank',
  none: 'nina',
};
const people = {} as Record<Role | 'none' | 'alice', Caller>;
let acmeBoss: Caller; // owner of acme
let acmeAda: Caller; // admin of acme
let appX: string; // an app of the default org; apam administers it
let appY: string; // another app of the default org, not apam's
let acmeApp: string;
const ACME_HOST = 'acme.test';

/** Every string that would tell a default-org person something about acme. */
const acmeSecrets = () => ['acme', acmeApp, ACME_HOST, 'Acme Corp', 'acme-internal'];

beforeAll(async () => {
  // acme: an organisation with its own app (acme.test) and people, seeded through the stores.
  const now = Date.now();
  const org = await createOrg(env.DB, { id: 'acme', name: 'Acme Corp', now, owner: { ring, sub: 'acme/boss', grantedBy: 'seed' } });
  expect(org.ok).toBe(true);
  acmeApp = (await seedApp({ org: 'acme', name: 'acme-internal', hosts: [ACME_HOST], policy: testPolicy(), createdBy: 'acme/boss', now }))
    .id;
  expect((await grantRole(env.DB, ring, { orgId: 'acme', sub: 'acme/ada', role: 'admin', grantedBy: 'acme/boss', now })).ok).toBe(true);

  people.alice = await person('alice', 'default');
  for (const [role, name] of Object.entries(ROLE_NAMES)) people[role as Role | 'none'] = await person(name, 'default');
  acmeBoss = await person('boss', 'acme');
  acmeAda = await person('ada', 'acme');
}, 60_000);

describe('bootstrap through the API', () => {
  it('is claimed once, by the person BOOTSTRAP_OWNER names, with a fresh step-up; then refused', async () => {
    expect(env.BOOTSTRAP_OWNER).toBe('alice');
    const noStepUp = await call(people.alice.plain, 'app.test', 'POST', `${API}/bootstrap`, {});
    expect(noStepUp.status).toBe(403);
    expect((await bodyOf(noStepUp)).code).toBe('ERR_FRESH_STEP_UP_REQUIRED');
    const other = await as(people.none, 'POST', `${API}/bootstrap`, {});
    expect(other.status).toBe(403);
    expect((await bodyOf(other)).detail).toBe('you are not the person BOOTSTRAP_OWNER names');
    // acme's "boss" is acme/boss: never the default organisation's bootstrap owner, whatever the name.
    expect((await as(acmeBoss, 'POST', `${API}/bootstrap`, {})).status).toBe(403);

    const claimed = await as(people.alice, 'POST', `${API}/bootstrap`, {});
    expect(claimed.status).toBe(201);
    expect(await bodyOf(claimed)).toMatchObject({ org: 'default', role: 'owner', person: 'alice' });
    const again = await as(people.alice, 'POST', `${API}/bootstrap`, {});
    expect(again.status).toBe(409);
    expect((await bodyOf(again)).detail).toMatch(/already has an owner/);

    const me = await bodyOf(await as(people.alice, 'GET', `${API}/me`));
    expect(me).toEqual({
      person: 'alice',
      org: 'default',
      orgs: [{ id: 'default', name: expect.any(String), roles: [{ role: 'owner', app_id: null }] }],
    });
  });

  it('the owner grants the other roles through the API, and creates the apps', async () => {
    for (const role of ['owner', 'admin', 'auditor', 'helpdesk'] as const) {
      const r = await as(people.alice, 'POST', `${API}/orgs/default/roles`, { person: ROLE_NAMES[role], role });
      expect(r.status, role).toBe(201);
    }
    const x = await as(people.admin, 'POST', `${API}/orgs/default/apps`, newAppBody('x'));
    expect(x.status).toBe(201);
    appX = ((await bodyOf(x)).app as { id: string }).id;
    const y = await as(people.admin, 'POST', `${API}/orgs/default/apps`, newAppBody('y'));
    appY = ((await bodyOf(y)).app as { id: string }).id;
    const aa = await as(people.admin, 'POST', `${API}/orgs/default/roles`, { person: 'apam', role: 'app-admin', app_id: appX });
    expect(aa.status).toBe(201);
    expect((await bodyOf(aa)).grant).toMatchObject({ person: 'apam', role: 'app-admin', app_id: appX, granted_by: 'adam' });
    const me = await bodyOf(await as(people['app-admin'], 'GET', `${API}/me`));
    expect(me.orgs).toEqual([{ id: 'default', name: expect.any(String), roles: [{ role: 'app-admin', app_id: appX }] }]);
    expect((await bodyOf(await as(people.none, 'GET', `${API}/me`))).orgs).toEqual([]);
  });
});

type RoleKey = Role | 'none';
const ROLE_KEYS: RoleKey[] = ['owner', 'admin', 'app-admin', 'auditor', 'helpdesk', 'none'];

/** One admin endpoint: how to call it on an organisation (and, for per-app ones, an app), and who may. */
interface Endpoint {
  name: string;
  method: string;
  /** The path on `org`, with `app` for per-app endpoints; `fresh` prepares a throwaway target per call. */
  path: (org: string, app: string, fresh: string) => string;
  body?: (fresh: string) => unknown;
  /** Prepare a throwaway target (an app to delete, a grant to revoke) in the default org; its id. */
  fresh?: () => Promise<string>;
  allowed: RoleKey[];
  status: number;
}

async function freshApp(): Promise<string> {
  const r = await as(people.alice, 'POST', `${API}/orgs/default/apps`, newAppBody('tmp'));
  expect(r.status).toBe(201);
  return ((await bodyOf(r)).app as { id: string }).id;
}
let graneeSeq = 0;
async function freshGrant(): Promise<string> {
  const r = await as(people.alice, 'POST', `${API}/orgs/default/roles`, { person: `grantee-${++graneeSeq}`, role: 'auditor' });
  expect(r.status).toBe(201);
  return ((await bodyOf(r)).grant as { id: string }).id;
}

const ENDPOINTS: Endpoint[] = [
  { name: 'list apps', method: 'GET', path: (o) => `${API}/orgs/${o}/apps`, allowed: ['owner', 'admin', 'app-admin'], status: 200 },
  {
    name: 'create app',
    method: 'POST',
    path: (o) => `${API}/orgs/${o}/apps`,
    body: () => newAppBody('made'),
    allowed: ['owner', 'admin'],
    status: 201,
  },
  { name: 'get app', method: 'GET', path: (o, a) => `${API}/orgs/${o}/apps/${a}`, allowed: ['owner', 'admin', 'app-admin'], status: 200 },
  {
    name: 'update app',
    method: 'PATCH',
    path: (o, a) => `${API}/orgs/${o}/apps/${a}`,
    body: () => ({ name: `renamed-${++hostSeq}` }),
    allowed: ['owner', 'admin'],
    status: 200,
  },
  {
    name: 'delete app',
    method: 'DELETE',
    path: (o, _a, fresh) => `${API}/orgs/${o}/apps/${fresh}`,
    fresh: freshApp,
    allowed: ['owner', 'admin'],
    status: 200,
  },
  {
    name: 'get policy',
    method: 'GET',
    path: (o, a) => `${API}/orgs/${o}/apps/${a}/policy`,
    allowed: ['owner', 'admin', 'app-admin'],
    status: 200,
  },
  {
    name: 'put policy',
    method: 'PUT',
    path: (o, a) => `${API}/orgs/${o}/apps/${a}/policy`,
    body: () => ({ policy: testPolicy() }),
    allowed: ['owner', 'admin', 'app-admin'],
    status: 200,
  },
  { name: 'list roles', method: 'GET', path: (o) => `${API}/orgs/${o}/roles`, allowed: ['owner', 'admin'], status: 200 },
  {
    name: 'grant role',
    method: 'POST',
    path: (o) => `${API}/orgs/${o}/roles`,
    body: () => ({ person: `new-${++graneeSeq}`, role: 'helpdesk' }),
    allowed: ['owner', 'admin'],
    status: 201,
  },
  {
    name: 'revoke role',
    method: 'DELETE',
    path: (o, _a, fresh) => `${API}/orgs/${o}/roles/${fresh}`,
    fresh: freshGrant,
    allowed: ['owner', 'admin'],
    status: 200,
  },
];

/** What a default-org owner sees of the organisation: apps (with policies) and grants. */
const snapshot = async (org = 'default') => {
  const apps = await env.DB.prepare(
    'SELECT a.*, p.hash FROM apps a LEFT JOIN app_policies p ON p.app_id = a.id WHERE a.org_id = ? ORDER BY a.id',
  )
    .bind(org)
    .all();
  const grants = (await listRoleGrants(env.DB, ring, { orgId: org })).map((g) => `${g.person} ${g.role} ${g.appId}`).sort();
  return { apps: apps.results, grants };
};

describe('the matrix: role × endpoint × same organisation / other organisation', () => {
  for (const e of ENDPOINTS) {
    for (const role of ROLE_KEYS) {
      const allowed = e.allowed.includes(role);
      it(`${e.name} — ${role} in its own organisation: ${allowed ? e.status : role === 'none' ? 404 : 403}`, async () => {
        const fresh = e.fresh ? await e.fresh() : '';
        const before = allowed ? null : await snapshot();
        const r = await as(people[role], e.method, e.path('default', appX, fresh), e.body?.(fresh));
        const body = await bodyOf(r);
        if (allowed) {
          expect(r.status, JSON.stringify(body)).toBe(e.status);
          return;
        }
        expect(r.status, JSON.stringify(body)).toBe(role === 'none' ? 404 : 403);
        expect(body.code).toBe(role === 'none' ? 'ERR_NOT_FOUND' : 'ERR_FORBIDDEN');
        if (role !== 'none') expect(Object.values(REFUSALS).some((reason) => body.detail!.startsWith(reason))).toBe(true);
        expect(await snapshot()).toEqual(before); // nothing changed
      });

      it(`${e.name} — ${role} of default on acme: 404, naming nothing of acme, nothing changed`, async () => {
        const before = await snapshot('acme');
        const r = await as(people[role], e.method, e.path('acme', acmeApp, acmeApp), e.body?.(acmeApp));
        const text = await r.text();
        expect(r.status, text).toBe(404);
        expect(JSON.parse(text)).toMatchObject({ code: 'ERR_NOT_FOUND' });
        for (const s of acmeSecrets()) expect(text).not.toContain(s);
        expect(await snapshot('acme')).toEqual(before);
      });
    }

    it(`${e.name} — acme's owner and admin on the default organisation: 404, nothing changed`, async () => {
      const fresh = e.fresh ? await e.fresh() : '';
      const before = await snapshot();
      for (const who of [acmeBoss, acmeAda]) {
        // Through their own host (their own identity), and the path naming the other organisation.
        const r = await as(who, e.method, e.path('default', appX, fresh), e.body?.(fresh));
        expect(r.status).toBe(404);
        const text = await r.text();
        for (const s of ['alice', 'olga', appX, fresh || appX]) expect(text).not.toContain(s);
      }
      expect(await snapshot()).toEqual(before);
    });

    it(`${e.name} — acme's owner on acme: allowed (the 404s above are not the route's)`, async () => {
      let target = acmeApp;
      if (e.name === 'delete app') {
        const r = await as(acmeBoss, 'POST', `${API}/orgs/acme/apps`, {
          ...newAppBody('acme-tmp'),
        });
        expect(r.status).toBe(201);
        target = ((await bodyOf(r)).app as { id: string }).id;
      }
      if (e.name === 'revoke role') {
        const r = await as(acmeBoss, 'POST', `${API}/orgs/acme/roles`, { person: `tmp-${++graneeSeq}`, role: 'auditor' });
        target = ((await bodyOf(r)).grant as { id: string }).id;
      }
      const r = await as(acmeBoss, e.method, e.path('acme', acmeApp, target), e.body?.(target));
      expect(r.status, await r.clone().text()).toBe(e.status);
    });

    it(`${e.name} — needs a fresh step-up (an owner without one is refused)`, async () => {
      const fresh = e.fresh ? await e.fresh() : '';
      const r = await call(people.owner.plain, 'app.test', e.method, e.path('default', appX, fresh), e.body?.(fresh));
      expect(r.status).toBe(403);
      expect((await bodyOf(r)).code).toBe('ERR_FRESH_STEP_UP_REQUIRED');
    });
  }

  it('an app-admin sees only their app: the list, and 404 for the org’s other app', async () => {
    const list = (await bodyOf(await as(people['app-admin'], 'GET', `${API}/orgs/default/apps`))).apps as { id: string }[];
    expect(list.map((a) => a.id)).toEqual([appX]);
    const all = (await bodyOf(await as(people.admin, 'GET', `${API}/orgs/default/apps`))).apps as { id: string }[];
    expect(all.map((a) => a.id)).toEqual(expect.arrayContaining([appX, appY]));
    for (const path of [`${API}/orgs/default/apps/${appY}`, `${API}/orgs/default/apps/${appY}/policy`]) {
      const r = await as(people['app-admin'], 'GET', path);
      expect(r.status).toBe(404);
      expect(await r.text()).not.toContain(appY);
    }
    expect((await as(people['app-admin'], 'PUT', `${API}/orgs/default/apps/${appY}/policy`, { policy: testPolicy() })).status).toBe(404);
  });

  it('writes need same-origin JSON', async () => {
    const r = await send(`http://app.test${API}/orgs/default/roles`, {
      method: 'POST',
      headers: { ...people.owner.stepped, origin: 'http://evil.example', 'content-type': 'application/json' },
      body: JSON.stringify({ person: 'x', role: 'auditor' }),
    });
    expect(r.status).toBe(403);
    const form = await send(`http://app.test${API}/orgs/default/roles`, {
      method: 'POST',
      headers: { ...people.owner.stepped, origin: 'http://app.test', 'content-type': 'text/plain' },
      body: JSON.stringify({ person: 'x', role: 'auditor' }),
    });
    expect(form.status).toBe(415);
  });

  it('invalid input is 400 with every problem; a host of another organisation is a conflict not naming its app', async () => {
    const bad = await as(people.admin, 'POST', `${API}/orgs/default/apps`, {
      name: 'bad',
      hosts: ['Not A Host'],
      identity: {},
      policy: {},
    });
    expect(bad.status).toBe(400);
    expect(((await bodyOf(bad)).problems as string[]).length).toBeGreaterThan(1);
    const taken = await as(people.admin, 'POST', `${API}/orgs/default/apps`, { ...newAppBody('dup'), hosts: [ACME_HOST] });
    expect(taken.status).toBe(409);
    const text = await taken.text();
    expect(text).not.toContain(acmeApp);
    expect(JSON.parse(text).hosts).toEqual([{ host: ACME_HOST, app_id: null }]);
  });
});

describe('segregation of duties, through the API', () => {
  const grantsOf = async (name: string) => (await listRoleGrants(env.DB, ring, { orgId: 'default', sub: name })).map((g) => g);
  const reasonOf = async (r: Response) => (await bodyOf(r)).detail;

  it('nobody grants or revokes their own roles (an owner stepping down included)', async () => {
    const self = await as(people.admin, 'POST', `${API}/orgs/default/roles`, { person: 'adam', role: 'auditor' });
    expect(self.status).toBe(403);
    expect(await reasonOf(self)).toBe(REFUSALS['own-roles']);
    const [adminGrant] = await grantsOf('adam');
    const revokeSelf = await as(people.admin, 'DELETE', `${API}/orgs/default/roles/${adminGrant!.id}`, {});
    expect(revokeSelf.status).toBe(403);
    expect(await reasonOf(revokeSelf)).toBe(REFUSALS['own-roles']);
    const [ownerGrant] = await grantsOf('olga');
    const stepDown = await as(people.owner, 'DELETE', `${API}/orgs/default/roles/${ownerGrant!.id}`, {});
    expect(stepDown.status).toBe(403);
    expect(await reasonOf(stepDown)).toBe(REFUSALS['own-roles']);
    expect((await grantsOf('adam')).map((g) => g.role)).toEqual(['admin']);
    expect((await grantsOf('olga')).map((g) => g.role)).toEqual(['owner']);
  });

  it('only an owner grants or revokes owner', async () => {
    const byAdmin = await as(people.admin, 'POST', `${API}/orgs/default/roles`, { person: 'nina', role: 'owner' });
    expect(byAdmin.status).toBe(403);
    expect(await reasonOf(byAdmin)).toBe(REFUSALS['owner-only']);
    const [ownerGrant] = await grantsOf('olga');
    const revokeByAdmin = await as(people.admin, 'DELETE', `${API}/orgs/default/roles/${ownerGrant!.id}`, {});
    expect(revokeByAdmin.status).toBe(403);
    expect(await reasonOf(revokeByAdmin)).toBe(REFUSALS['owner-only']);
    expect(await grantsOf('nina')).toEqual([]);
    // An admin grants the roles below owner; an owner grants owner.
    const byOwner = await as(people.owner, 'POST', `${API}/orgs/default/roles`, { person: 'owen', role: 'owner' });
    expect(byOwner.status).toBe(201);
    const revoked = await as(
      people.alice,
      'DELETE',
      `${API}/orgs/default/roles/${((await bodyOf(byOwner)).grant as { id: string }).id}`,
      {},
    );
    expect(revoked.status).toBe(200);
  });

  it('the last owner stays: of two owners revoking each other at once, exactly one owner remains', async () => {
    const now = Date.now();
    const bea = await grantRole(env.DB, ring, { orgId: 'acme', sub: 'acme/bea', role: 'owner', grantedBy: 'acme/boss', now });
    if (!bea.ok) throw new Error('bea');
    const beaCaller = await person('bea', 'acme');
    const boss = (await listRoleGrants(env.DB, ring, { orgId: 'acme', sub: 'acme/boss' })).find((x) => x.role === 'owner')!;
    const [a, b] = await Promise.all([
      as(acmeBoss, 'DELETE', `${API}/orgs/acme/roles/${bea.grant.id}`, {}),
      as(beaCaller, 'DELETE', `${API}/orgs/acme/roles/${boss.id}`, {}),
    ]);
    const statuses = [a.status, b.status].sort();
    expect(statuses[0]).toBe(200);
    expect([403, 404]).toContain(statuses[1]);
    const loser = a.status === 200 ? b : a;
    if (loser.status === 403) expect(await reasonOf(loser)).toBe(REFUSALS['last-owner']);
    const owners = (await listRoleGrants(env.DB, ring, { orgId: 'acme' })).filter((x) => x.role === 'owner');
    expect(owners).toHaveLength(1);
    // Either may win the race; the tests after this one need boss to be acme's owner, as before it.
    if (owners[0]!.person !== 'acme/boss') {
      expect((await grantRole(env.DB, ring, { orgId: 'acme', sub: 'acme/boss', role: 'owner', grantedBy: 'acme/bea', now })).ok).toBe(true);
    }
  });

  it('invites and unlocks follow the roles: never oneself; helpdesk unlocks, not invites; an app-admin through their app', async () => {
    const unlock = (who: Caller, user: string) => as(who, 'POST', '/.stepgate/api/admin/unlock', { user });
    const invite = (who: Caller, user: string) => as(who, 'POST', '/.stepgate/api/admin/invites', { user });
    const self = await unlock(people.admin, 'adam');
    expect(self.status).toBe(403);
    expect(await reasonOf(self)).toBe(REFUSALS['own-factors']);
    expect((await unlock(people.helpdesk, 'tara')).status).toBe(200);
    const hdInvite = await invite(people.helpdesk, 'tara');
    expect(hdInvite.status).toBe(403);
    expect(await reasonOf(hdInvite)).toMatch(/^none of your roles allows this action/);
    expect((await invite(people.admin, 'tara')).status).toBe(201);
    expect((await unlock(people.auditor, 'tara')).status).toBe(403);
    expect((await unlock(people.none, 'tara')).status).toBe(403);
    // apam administers appX, not the bundled app that app.test serves.
    const aa = await invite(people['app-admin'], 'tara');
    expect(aa.status).toBe(403);
    expect(await reasonOf(aa)).toBe(REFUSALS['not-your-app']);
  });
});

describe('the audit log', () => {
  type Event = { type: string; actor: string; target?: string; reason?: string; details: Record<string, unknown> };
  const events = async (types: string): Promise<Event[]> => {
    const r = await as(people.auditor, 'GET', `/.stepgate/api/admin/audit/events?type=${types}&limit=500`);
    expect(r.status).toBe(200);
    return ((await bodyOf(r)).events as { event: Event }[]).map((e) => e.event);
  };

  it('records every change with who did it, to whom, the organisation and the app', async () => {
    const changes = await events('org.owner_claimed,role.granted,role.revoked,app.created,app.updated,app.deleted,app.policy_updated');
    expect(changes.filter((e) => e.type === 'org.owner_claimed')).toEqual([
      expect.objectContaining({ actor: 'alice', details: expect.objectContaining({ org: 'default' }) }),
    ]);
    expect(changes).toContainEqual(
      expect.objectContaining({
        type: 'role.granted',
        actor: 'adam',
        target: 'apam',
        details: expect.objectContaining({ org: 'default', app_id: appX, role: 'app-admin' }),
      }),
    );
    expect(changes).toContainEqual(
      expect.objectContaining({ type: 'app.created', actor: 'adam', details: expect.objectContaining({ org: 'default', app_id: appX }) }),
    );
    for (const t of ['app.updated', 'app.deleted', 'app.policy_updated', 'role.revoked']) {
      expect(changes.filter((e) => e.type === t).length, t).toBeGreaterThan(0);
    }
    // Every change names its organisation, and its app (null for org-wide grants).
    for (const e of changes) {
      expect(e.details.org, e.type).toEqual(expect.any(String));
      expect(Object.hasOwn(e.details, 'app_id') || e.type === 'org.owner_claimed', e.type).toBe(true);
      if (e.type.startsWith('role.')) expect(e.target, e.type).toEqual(expect.any(String));
    }
    // acme's changes are recorded under acme's people and organisation: in acme's log, not this one.
    expect(changes.filter((e) => e.details.org === 'acme')).toEqual([]);
    const acmeRead = await as(acmeBoss, 'GET', '/.stepgate/api/admin/audit/events?type=role.revoked&limit=500');
    expect(((await bodyOf(acmeRead)).events as { event: Event }[]).map((e) => e.event)).toContainEqual(
      expect.objectContaining({ type: 'role.revoked', details: expect.objectContaining({ org: 'acme', role: 'owner' }) }),
    );
    const unlocks = await events('user.unlocked,invite.created');
    expect(unlocks).toContainEqual(
      expect.objectContaining({
        type: 'user.unlocked',
        actor: 'hank',
        target: 'tara',
        details: expect.objectContaining({ org: 'default', app_id: 'bundled' }),
      }),
    );
  });

  it('records the refusals of signed-in people with the rule', async () => {
    const refused = await events('admin.refused');
    expect(refused).toContainEqual(
      expect.objectContaining({
        actor: 'adam',
        target: 'adam',
        reason: REFUSALS['own-roles'],
        details: expect.objectContaining({ code: 'own-roles', org: 'default' }),
      }),
    );
    expect(refused).toContainEqual(
      expect.objectContaining({ actor: 'nina', details: expect.objectContaining({ code: 'no-role', org: 'acme' }) }),
    );
    expect(refused).toContainEqual(expect.objectContaining({ actor: 'nina', details: expect.objectContaining({ action: 'bootstrap' }) }));
  });

  it('is read by owners, admins and auditors, each of their own organisation only', async () => {
    const read = (who: Caller) => as(who, 'GET', '/.stepgate/api/admin/audit/events?limit=1');
    expect((await read(people.owner)).status).toBe(200);
    expect((await read(people.admin)).status).toBe(200);
    expect((await read(people.auditor)).status).toBe(200);
    expect((await read(people.helpdesk)).status).toBe(403);
    expect((await read(people['app-admin'])).status).toBe(403);
    expect((await read(people.none)).status).toBe(403);
    // acme's owner reads acme's events only (test/edge/audit-org-scope.test.ts has the rest).
    const acme = await read(acmeBoss);
    expect(acme.status).toBe(200);
    for (const { event } of (await bodyOf(acme)).events as { event: { org: string } }[]) expect(event.org).toBe('acme');
  });

  it('a personal token reads with its owner’s roles at the moment of use: revoking the role stops it at once', async () => {
    const made = await as(people.auditor, 'POST', '/.stepgate/api/tokens', { scopes: ['audit:read'], label: 'admin-api' });
    expect(made.status).toBe(201);
    const bearer = { authorization: `Bearer ${(await bodyOf(made)).token as string}` };
    const read = () => send(`http://app.test/.stepgate/api/admin/audit/events?limit=1`, { headers: bearer });
    expect((await read()).status).toBe(200);
    // An audit:read token reads the audit log only: the admin API wants admin:read (test/edge/admin-tokens.test.ts).
    expect((await send(`http://app.test${API}/orgs/default/roles`, { headers: bearer })).status).toBe(403);
    const [grant] = await listRoleGrants(env.DB, ring, { orgId: 'default', sub: 'audrey' });
    expect((await as(people.alice, 'DELETE', `${API}/orgs/default/roles/${grant!.id}`, {})).status).toBe(200);
    expect((await read()).status).toBe(403);
  });
});
