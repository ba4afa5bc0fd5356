/**
 * The administration stores in real D1: organisations, apps (hosts, identity, policy), role grants.
 * One app per host (a second claim is a conflict, racing ones too), every query scoped by the
 * organisation, people stored only as blind indexes with the person sealed and checked on read.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { appByHost, createApp, deleteApp, getApp, listApps, updateApp } from '../../edge/admin/app-store';
import { AppInputError } from '../../edge/admin/app-input';
import { getAppPolicy, setAppPolicy } from '../../edge/admin/app-policy-store';
import { createOrg, DEFAULT_ORG, getOrg, orgsOf } from '../../edge/admin/org-store';
import { grantRole, listRoleGrants, removePersonRoles, revokeRole, rolesOf } from '../../edge/admin/role-store';
import { parseKeyring } from '../../edge/crypto/keyring';

const ring = parseKeyring(JSON.stringify({ primary: 'k1', keys: { k1: btoa(String.fromCharCode(...new Uint8Array(32).fill(9))) } }));
const now = 1_900_000_000_000;
const identity = { source: 'jwt', cookie: 'session', jwksUrl: 'https://id.example/jwks', issuer: 'https://id.example', audience: 'app' };
const policy = {
  version: 1,
  rules: [
    {
      id: 'admin-writes',
      match: { methods: ['POST'], path: '/admin/**' },
      require: { factors: ['totp'], bind: 'session', maxAge: '5m' },
    },
  ],
};
const newApp = (orgId: string, hosts: string[], over: Record<string, unknown> = {}) =>
  createApp(env.DB, ring, {
    orgId,
    name: 'Shop',
    hosts,
    originUrl: 'https://origin.example',
    identity,
    policy,
    createdBy: 'owner',
    now,
    ...over,
  });
const created = async (orgId: string, hosts: string[]) => {
  const r = await newApp(orgId, hosts);
  if (!r.ok) throw new Error(`not created: ${JSON.stringify(r)}`);
  return r.app;
};
const dump = async (table: string) => JSON.stringify((await env.DB.prepare(`SELECT * FROM ${table}`).all()).results);

describe('organisations', () => {
  it('the default organisation exists; others are created once, with a valid id', async () => {
    expect(await getOrg(env.DB, DEFAULT_ORG)).toMatchObject({ id: 'default' });
    expect(await createOrg(env.DB, { id: 'acme', name: ' Acme Corp ', now })).toEqual({
      ok: true,
      org: { id: 'acme', name: 'Acme Corp', createdAt: now },
      ownerGrantId: null,
    });
    expect(await createOrg(env.DB, { id: 'acme', name: 'Other', now })).toMatchObject({ ok: false, code: 'exists' });
    expect(await getOrg(env.DB, 'acme')).toEqual({ id: 'acme', name: 'Acme Corp', createdAt: now });
    for (const id of ['a', 'Acme', 'ac/me', '-acme', 'acme-', 'x'.repeat(33), 'ac me']) {
      await expect(createOrg(env.DB, { id, name: 'X', now })).rejects.toThrow(/organisation id/);
    }
    await expect(createOrg(env.DB, { id: 'ok-id', name: 'bad\u0000name', now })).rejects.toThrow(/organisation name/);
    // the table refuses a bad id even from SQL that skips the store
    await expect(env.DB.prepare("INSERT INTO orgs (id, name, created_at) VALUES ('A/B', 'x', 0)").run()).rejects.toThrow(/CHECK/);
  });

  it('is created with its first owner in one transaction, and never gives an existing one a new owner', async () => {
    const owner = { ring, sub: 'founded/ann', grantedBy: 'operator' };
    const r = await createOrg(env.DB, { id: 'founded', name: 'Founded', now, owner });
    expect(r).toMatchObject({ ok: true, ownerGrantId: expect.any(String) });
    expect(await rolesOf(env.DB, ring, 'founded', 'founded/ann')).toEqual([{ role: 'owner', appId: null }]);
    expect((await listRoleGrants(env.DB, ring, { orgId: 'founded' }))[0]).toMatchObject({ grantedBy: 'operator' });
    // an existing (even ownerless) organisation: nothing changes
    await createOrg(env.DB, { id: 'ownerless', name: 'Ownerless', now });
    const again = await createOrg(env.DB, {
      id: 'ownerless',
      name: 'Mine now',
      now,
      owner: { ring, sub: 'ownerless/eve', grantedBy: 'eve' },
    });
    expect(again).toMatchObject({ ok: false, code: 'exists' });
    expect(await listRoleGrants(env.DB, ring, { orgId: 'ownerless' })).toEqual([]);
    expect(await getOrg(env.DB, 'ownerless')).toMatchObject({ name: 'Ownerless' });
  });

  it('lists the organisations in which a person holds a role', async () => {
    await createOrg(env.DB, { id: 'org-a', name: 'A', now });
    await createOrg(env.DB, { id: 'org-b', name: 'B', now });
    await grantRole(env.DB, ring, { orgId: 'org-a', sub: 'pat', role: 'auditor', grantedBy: 'x', now });
    await grantRole(env.DB, ring, { orgId: 'org-b', sub: 'pat', role: 'admin', grantedBy: 'x', now });
    await grantRole(env.DB, ring, { orgId: 'org-b', sub: 'pat', role: 'helpdesk', grantedBy: 'x', now });
    expect((await orgsOf(env.DB, ring, 'pat')).map((o) => o.id)).toEqual(['org-a', 'org-b']);
    expect(await orgsOf(env.DB, ring, 'nobody')).toEqual([]);
  });
});

describe('apps', () => {
  it('creates an app with its hosts, identity and policy; finds it by host; lists it in its organisation only', async () => {
    await createOrg(env.DB, { id: 'shop-org', name: 'Shop', now });
    await createOrg(env.DB, { id: 'elsewhere', name: 'Else', now });
    const r = await newApp('shop-org', ['Shop.Example.com', 'www.shop.example.com']);
    expect(r).toMatchObject({ ok: true, app: { orgId: 'shop-org', hosts: ['shop.example.com', 'www.shop.example.com'] } });
    if (!r.ok) return;
    expect(r.policyHash).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await appByHost(env.DB, 'shop.example.com')).toEqual(r.app);
    expect(await appByHost(env.DB, 'SHOP.example.com')).toEqual(r.app);
    expect(await appByHost(env.DB, 'nope.example.com')).toBeNull();
    expect(await listApps(env.DB, 'shop-org')).toEqual([r.app]);
    expect(await listApps(env.DB, 'elsewhere')).toEqual([]);
    expect(await getApp(env.DB, 'elsewhere', r.app.id)).toBeNull();
    expect(await getAppPolicy(env.DB, ring, { orgId: 'shop-org', appId: r.app.id })).toMatchObject({
      policy,
      hash: r.policyHash,
      updatedBy: 'owner',
    });
    expect(await getAppPolicy(env.DB, ring, { orgId: 'elsewhere', appId: r.app.id })).toBeNull();
    // who saved the policy is sealed, never plain
    expect(await dump('app_policies')).not.toContain('owner');
  });

  it('a host belongs to one app: a second claim is a conflict that changes nothing, and names no other organisation’s app', async () => {
    await createOrg(env.DB, { id: 'org-one', name: '1', now });
    await createOrg(env.DB, { id: 'org-two', name: '2', now });
    const first = await created('org-one', ['a.example', 'b.example']);
    const sameOrg = await newApp('org-one', ['c.example', 'b.example']);
    expect(sameOrg).toEqual({
      ok: false,
      code: 'host-taken',
      hosts: [{ host: 'b.example', appId: first.id }],
      reason: 'already served by another app: b.example',
    });
    const otherOrg = await newApp('org-two', ['a.example']);
    expect(otherOrg).toMatchObject({ ok: false, code: 'host-taken', hosts: [{ host: 'a.example', appId: null }] });
    // all or nothing: c.example was not taken, and no half-created app is left
    expect(await appByHost(env.DB, 'c.example')).toBeNull();
    expect(await listApps(env.DB, 'org-one')).toHaveLength(1);
    expect(await listApps(env.DB, 'org-two')).toHaveLength(0);
    const policies = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM app_policies p JOIN apps a ON a.id = p.app_id WHERE a.org_id IN ('org-one', 'org-two')",
    ).first<{ n: number }>();
    expect(policies!.n).toBe(1);
    // an update claiming another app's host is refused the same way, and leaves the app as it was
    const second = await created('org-one', ['c.example']);
    expect(await updateApp(env.DB, { orgId: 'org-one', appId: second.id, hosts: ['d.example', 'a.example'], now })).toMatchObject({
      ok: false,
      code: 'host-taken',
      hosts: [{ host: 'a.example', appId: first.id }],
    });
    expect((await getApp(env.DB, 'org-one', second.id))!.hosts).toEqual(['c.example']);
    expect(await appByHost(env.DB, 'd.example')).toBeNull();
  });

  it('of ten racing claims of one host, exactly one app gets it', async () => {
    await createOrg(env.DB, { id: 'race', name: 'Race', now });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => newApp('race', ['contested.example', `own-${i}.example`])));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok && r.code === 'host-taken')).toHaveLength(9);
    expect(await listApps(env.DB, 'race')).toHaveLength(1);
    const { n } = (await env.DB.prepare("SELECT COUNT(*) AS n FROM app_hosts WHERE host LIKE 'own-%'").first<{ n: number }>())!;
    expect(n).toBe(1);
  });

  it('refuses invalid input, naming every problem', async () => {
    await createOrg(env.DB, { id: 'bad', name: 'Bad', now });
    const err = await newApp('bad', ['*.wild.example', 'host:8080', 'dup.example', 'dup.example', 'trailing.example.'], {
      name: '',
      originUrl: 'ftp://origin.example',
      identity: { source: 'jwt', cookie: 'x' },
      policy: { version: 1, rules: [{ id: 'stepgate-x', match: { path: 'no-slash' }, require: { factors: [], bind: 'session' } }] },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppInputError);
    const problems = (err as AppInputError).problems.join('\n');
    expect(problems).toContain('app name');
    expect(problems).toContain('"*.wild.example" is not a host name');
    expect(problems).toContain('"host:8080" is not a host name');
    expect(problems).toContain('"trailing.example." is not a host name');
    expect(problems).toContain('dup.example is listed twice');
    expect(problems).toContain('originUrl: must be https:');
    expect(problems).toMatch(/identity: .*issuer/);
    expect(problems).toMatch(/policy of : rule "stepgate-x": match\.path/);
    // an app's own rules: a jwt source needs its own keys, the origin is bare, the policy serves every host
    await expect(newApp('bad', ['hs.example'], { identity: { source: 'jwt', cookie: 's', issuer: 'i', audience: 'a' } })).rejects.toThrow(
      /needs a jwksUrl/,
    );
    await expect(newApp('bad', ['path.example'], { originUrl: 'https://origin.example/app' })).rejects.toThrow(/bare origin/);
    await expect(newApp('bad', ['one.example', 'two.example'], { policy: { ...policy, hosts: ['one.example'] } })).rejects.toThrow(
      /do not include two\.example/,
    );
    await expect(newApp('bad', [])).rejects.toThrow(/at least one host/);
    // the dev identity source and an http origin only in development
    await expect(newApp('bad', ['dev.example'], { identity: { source: 'dev' } })).rejects.toThrow(/development only/);
    await expect(newApp('bad', ['dev.example'], { originUrl: 'http://127.0.0.1:8788' })).rejects.toThrow(/https/);
    expect(
      await newApp('bad', ['dev.example'], { identity: { source: 'dev' }, originUrl: 'http://127.0.0.1:8788', development: true }),
    ).toMatchObject({
      ok: true,
    });
    expect(await newApp('nowhere', ['orphan.example'])).toMatchObject({ ok: false, code: 'no-such-org' });
    expect(await appByHost(env.DB, 'orphan.example')).toBeNull();
  });

  it('updates, replaces the policy, and deletes only within the organisation', async () => {
    await createOrg(env.DB, { id: 'mine', name: 'Mine', now });
    await createOrg(env.DB, { id: 'theirs', name: 'Theirs', now });
    const app = await created('mine', ['mine.example']);
    // another organisation can neither change, re-host, re-policy nor delete it
    expect(await updateApp(env.DB, { orgId: 'theirs', appId: app.id, name: 'Hijacked', hosts: ['evil.example'], now })).toEqual({
      ok: false,
      code: 'not-found',
    });
    expect(await setAppPolicy(env.DB, ring, { orgId: 'theirs', appId: app.id, policy, by: 'eve', now })).toEqual({
      ok: false,
      code: 'not-found',
    });
    expect(await deleteApp(env.DB, { orgId: 'theirs', appId: app.id })).toBe(false);
    expect(await getApp(env.DB, 'mine', app.id)).toEqual(app);
    expect(await appByHost(env.DB, 'evil.example')).toBeNull();

    const u = await updateApp(env.DB, {
      orgId: 'mine',
      appId: app.id,
      name: 'Renamed',
      hosts: ['mine.example', 'new.example'],
      now: now + 1,
    });
    expect(u).toMatchObject({ ok: true, app: { name: 'Renamed', hosts: ['mine.example', 'new.example'], updatedAt: now + 1 } });
    // a policy naming hosts must name the app's, and a host added must be one the policy names
    await expect(
      setAppPolicy(env.DB, ring, { orgId: 'mine', appId: app.id, policy: { ...policy, hosts: ['mine.example'] }, by: 'editor', now }),
    ).rejects.toThrow(/do not include new\.example/);
    const changed = { ...policy, hosts: ['mine.example', 'new.example'], rules: [{ ...policy.rules[0]!, id: 'changed' }] };
    const p = await setAppPolicy(env.DB, ring, { orgId: 'mine', appId: app.id, policy: changed, by: 'editor', now: now + 2 });
    expect(p).toMatchObject({ ok: true });
    expect(await getAppPolicy(env.DB, ring, { orgId: 'mine', appId: app.id })).toMatchObject({
      policy: changed,
      updatedBy: 'editor',
      updatedAt: now + 2,
    });
    await expect(setAppPolicy(env.DB, ring, { orgId: 'mine', appId: app.id, policy: { version: 2 }, by: 'editor', now })).rejects.toThrow(
      AppInputError,
    );
    await expect(updateApp(env.DB, { orgId: 'mine', appId: app.id, hosts: ['mine.example', 'third.example'], now })).rejects.toThrow(
      /do not include third\.example/,
    );

    await grantRole(env.DB, ring, { orgId: 'mine', appId: app.id, sub: 'mine/appadmin', role: 'app-admin', grantedBy: 'x', now });
    expect(await deleteApp(env.DB, { orgId: 'mine', appId: app.id })).toBe(true);
    expect(await appByHost(env.DB, 'new.example')).toBeNull();
    expect(await getAppPolicy(env.DB, ring, { orgId: 'mine', appId: app.id })).toBeNull();
    expect(await rolesOf(env.DB, ring, 'mine', 'mine/appadmin')).toEqual([]); // its app-admin grants went with it
    // the host is free again
    expect(await newApp('theirs', ['mine.example'])).toMatchObject({ ok: true });
  });
});

describe('role grants', () => {
  it('stores the person only as a blind index and sealed; lists by organisation, app and person', async () => {
    await createOrg(env.DB, { id: 'roles', name: 'Roles', now });
    const app = await created('roles', ['roles.example']);
    const g = await grantRole(env.DB, ring, { orgId: 'roles', sub: 'roles/alice@example.com', role: 'admin', grantedBy: 'roles/bob', now });
    expect(g).toMatchObject({ ok: true, grant: { orgId: 'roles', appId: null, person: 'roles/alice@example.com', role: 'admin' } });
    await grantRole(env.DB, ring, { orgId: 'roles', appId: app.id, sub: 'roles/carol', role: 'app-admin', grantedBy: 'roles/bob', now });
    const stored = await dump('role_grants');
    expect(stored).not.toContain('alice');
    expect(stored).not.toContain('carol');
    expect(stored).not.toContain('bob');

    const listed = (await listRoleGrants(env.DB, ring, { orgId: 'roles' })).map((x) => [x.person, x.role, x.appId, x.grantedBy]);
    expect(listed.sort((x, y) => String(x[0]).localeCompare(String(y[0])))).toEqual([
      ['roles/alice@example.com', 'admin', null, 'roles/bob'],
      ['roles/carol', 'app-admin', app.id, 'roles/bob'],
    ]);
    expect((await listRoleGrants(env.DB, ring, { orgId: 'roles', appId: app.id })).map((x) => x.person)).toEqual(['roles/carol']);
    expect((await listRoleGrants(env.DB, ring, { orgId: 'roles', sub: 'roles/alice@example.com' })).map((x) => x.role)).toEqual(['admin']);
    expect(await rolesOf(env.DB, ring, 'roles', 'roles/carol')).toEqual([{ role: 'app-admin', appId: app.id }]);
    expect(await rolesOf(env.DB, ring, 'other', 'roles/carol')).toEqual([]);
  });

  it('holds a role once; app-admin only for an app of the same organisation; org-wide roles without one', async () => {
    await createOrg(env.DB, { id: 'once', name: 'Once', now });
    await createOrg(env.DB, { id: 'foreign', name: 'Foreign', now });
    const foreignApp = await created('foreign', ['foreign.example']);
    const base = { orgId: 'once', sub: 'once/dan', grantedBy: 'x', now };
    expect(await grantRole(env.DB, ring, { ...base, role: 'auditor' })).toMatchObject({ ok: true });
    expect(await grantRole(env.DB, ring, { ...base, role: 'auditor' })).toMatchObject({ ok: false, code: 'exists' });
    expect(await grantRole(env.DB, ring, { ...base, role: 'app-admin', appId: foreignApp.id })).toMatchObject({
      ok: false,
      code: 'no-such-app',
    });
    await expect(grantRole(env.DB, ring, { ...base, role: 'app-admin' })).rejects.toThrow(/name it/);
    await expect(grantRole(env.DB, ring, { ...base, role: 'admin', appId: foreignApp.id })).rejects.toThrow(/whole organisation/);
    await expect(grantRole(env.DB, ring, { ...base, role: 'root' as never })).rejects.toThrow(/unknown role/);
    // racing duplicate grants: one row
    const race = await Promise.all(Array.from({ length: 8 }, () => grantRole(env.DB, ring, { ...base, role: 'helpdesk' })));
    expect(race.filter((r) => r.ok)).toHaveLength(1);
    expect(await rolesOf(env.DB, ring, 'once', 'once/dan')).toEqual([
      { role: 'auditor', appId: null },
      { role: 'helpdesk', appId: null },
    ]);
  });

  it('a grant edited in D1 without the keyring grants nothing: moved role, moved org, or another person’s index', async () => {
    await createOrg(env.DB, { id: 'tamper', name: 'T', now });
    await createOrg(env.DB, { id: 'tamper2', name: 'T2', now });
    const a = await grantRole(env.DB, ring, { orgId: 'tamper', sub: 'tamper/eve', role: 'auditor', grantedBy: 'x', now });
    const b = await grantRole(env.DB, ring, { orgId: 'tamper', sub: 'tamper/gus', role: 'admin', grantedBy: 'x', now });
    if (!a.ok || !b.ok) throw new Error('setup');
    // eve's row promoted to owner
    await env.DB.prepare("UPDATE role_grants SET role = 'owner' WHERE id = ?").bind(a.grant.id).run();
    expect(await rolesOf(env.DB, ring, 'tamper', 'tamper/eve')).toEqual([]);
    // eve's index copied onto gus's admin row
    await env.DB.prepare('UPDATE role_grants SET person_ref = (SELECT person_ref FROM role_grants WHERE id = ?) WHERE id = ?')
      .bind(a.grant.id, b.grant.id)
      .run();
    expect(await rolesOf(env.DB, ring, 'tamper', 'tamper/eve')).toEqual([]);
    // a grant moved to another organisation
    const c = await grantRole(env.DB, ring, { orgId: 'tamper', sub: 'tamper/fay', role: 'admin', grantedBy: 'x', now });
    if (!c.ok) throw new Error('setup');
    await env.DB.prepare("UPDATE role_grants SET org_id = 'tamper2' WHERE id = ?").bind(c.grant.id).run();
    expect(await rolesOf(env.DB, ring, 'tamper2', 'tamper/fay')).toEqual([]);
  });

  it('revokes by id within the organisation only; never the last owner; removing a person is all or nothing', async () => {
    await createOrg(env.DB, { id: 'rev', name: 'Rev', now });
    await createOrg(env.DB, { id: 'rev2', name: 'Rev2', now });
    const o1 = await grantRole(env.DB, ring, { orgId: 'rev', sub: 'rev/o1', role: 'owner', grantedBy: 'x', now });
    const adm = await grantRole(env.DB, ring, { orgId: 'rev', sub: 'rev/o1', role: 'admin', grantedBy: 'x', now });
    if (!o1.ok || !adm.ok) throw new Error('setup');
    expect(await revokeRole(env.DB, ring, { orgId: 'rev2', grantId: adm.grant.id })).toEqual({ ok: false, code: 'not-found' });
    expect(await revokeRole(env.DB, ring, { orgId: 'rev', grantId: o1.grant.id })).toEqual({ ok: false, code: 'last-owner' });
    expect(await removePersonRoles(env.DB, ring, { orgId: 'rev', sub: 'rev/o1' })).toEqual({ ok: false, code: 'last-owner' });
    expect(await rolesOf(env.DB, ring, 'rev', 'rev/o1')).toHaveLength(2); // nothing removed
    expect(await revokeRole(env.DB, ring, { orgId: 'rev', grantId: adm.grant.id })).toMatchObject({
      ok: true,
      grant: { person: 'rev/o1', role: 'admin' },
    });
    expect(await revokeRole(env.DB, ring, { orgId: 'rev', grantId: adm.grant.id })).toEqual({ ok: false, code: 'not-found' });
    // with a second owner, the first may go
    await grantRole(env.DB, ring, { orgId: 'rev', sub: 'rev/o2', role: 'owner', grantedBy: 'rev/o1', now });
    await grantRole(env.DB, ring, { orgId: 'rev', sub: 'rev/o1', role: 'auditor', grantedBy: 'x', now });
    expect(await removePersonRoles(env.DB, ring, { orgId: 'rev', sub: 'rev/o1' })).toEqual({ ok: true, removed: 2 });
    expect(await rolesOf(env.DB, ring, 'rev', 'rev/o1')).toEqual([]);
    // an owner of another organisation does not count as "another owner"
    await grantRole(env.DB, ring, { orgId: 'rev2', sub: 'rev2/o', role: 'owner', grantedBy: 'x', now });
    const last = (await listRoleGrants(env.DB, ring, { orgId: 'rev', sub: 'rev/o2' }))[0]!;
    expect(await revokeRole(env.DB, ring, { orgId: 'rev', grantId: last.id })).toEqual({ ok: false, code: 'last-owner' });
  });
});
