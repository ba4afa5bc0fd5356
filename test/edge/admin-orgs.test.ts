/**
 * Organisations through the admin API (Workers pool, real D1 and Durable Objects): only an owner of
 * the default organisation (the deployment's operator) creates one, with its first owner in one
 * transaction and optionally its first app; duplicate ids, bad input and a taken host change
 * nothing; racing creations of one id make one organisation with one owner; the new owner enrols a
 * factor before any admin action and then runs only their organisation; GET /orgs shows the
 * operator every organisation and anyone else only their own. Matrix: every role of "default" and
 * another organisation's owner × both endpoints.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { REFUSALS } from '../../edge/admin/authorization';
import { createOrg, getOrg } from '../../edge/admin/org-store';
import { listRoleGrants } from '../../edge/admin/role-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { as, bodyOf, type Caller, callWith, enrol, newGateway, person, stepUp } from './admin-callers';
import { seedApp } from './seed-apps';
import { seedRole } from './seed-roles';

const ring = parseKeyring(env.STEPGATE_KEYS);
const ORGS = '/.stepgate/api/admin/orgs';
const send = newGateway();
const policy = {
  version: 1,
  rules: [{ id: 'w', match: { methods: ['POST'], path: '/api/**' }, require: { factors: ['totp'], bind: 'session' } }],
};
const dev = { source: 'dev' };

let orla: Caller; // owner of default: the operator
const others = {} as Record<'admin' | 'auditor' | 'helpdesk' | 'app-admin' | 'none' | 'acme owner', Caller>;

/** Every organisation and every grant, as stored: what "nothing changed" compares. */
const snapshot = async () => ({
  orgs: (await env.DB.prepare('SELECT * FROM orgs ORDER BY id').all()).results,
  grants: (await env.DB.prepare('SELECT id, org_id, app_id, role FROM role_grants ORDER BY id').all()).results,
  apps: (await env.DB.prepare('SELECT id, org_id FROM apps ORDER BY id').all()).results,
});
const newOrg = (id: string, extra: Record<string, unknown> = {}) => ({ id, name: `${id} Ltd`, owner: 'nora', ...extra });

beforeAll(async () => {
  const now = Date.now();
  const side = await seedApp({ name: 'side', hosts: ['side.test'], policy, now });
  expect((await createOrg(env.DB, { id: 'acme', name: 'Acme', now, owner: { ring, sub: 'acme/boss', grantedBy: 'seed' } })).ok).toBe(true);
  await seedApp({ org: 'acme', name: 'acme-app', hosts: ['acme.test'], policy, createdBy: 'acme/boss', now });
  await seedRole('orla', 'owner');
  await seedRole('odin', 'admin');
  await seedRole('otto', 'auditor');
  await seedRole('oona', 'helpdesk');
  await seedRole('opie', 'app-admin', { appId: side.id });
  [orla, others.admin, others.auditor, others.helpdesk, others['app-admin'], others.none, others['acme owner']] = await Promise.all([
    person(send, 'orla'),
    person(send, 'odin'),
    person(send, 'otto'),
    person(send, 'oona'),
    person(send, 'opie'),
    person(send, 'onyx'),
    person(send, 'boss', 'acme.test'),
  ]);
}, 60_000);

describe('creating an organisation', () => {
  it.each(['admin', 'auditor', 'helpdesk', 'app-admin', 'none', 'acme owner'] as const)(
    'is refused to %s of their organisation: 403 with the rule, nothing created',
    async (who) => {
      const before = await snapshot();
      const r = await as(send, others[who], 'POST', ORGS, newOrg(`by-${others[who].name}`));
      const body = await bodyOf(r);
      expect(r.status, JSON.stringify(body)).toBe(403);
      expect(body).toMatchObject({ code: 'ERR_FORBIDDEN', detail: REFUSALS['operator-only'] });
      expect(await snapshot()).toEqual(before);
    },
  );

  it('needs a fresh step-up, same-origin JSON and a person in a browser (never a token)', async () => {
    const before = await snapshot();
    const plain = await callWith(send, orla.plain, 'app.test', 'POST', ORGS, newOrg('no-step-up'));
    expect(plain.status).toBe(403);
    expect((await bodyOf(plain)).code).toBe('ERR_FRESH_STEP_UP_REQUIRED');
    const crossSite = await send(`http://app.test${ORGS}`, {
      method: 'POST',
      headers: { ...orla.stepped, origin: 'http://evil.example', 'content-type': 'application/json' },
      body: JSON.stringify(newOrg('cross-site')),
    });
    expect(crossSite.status).toBe(403);
    const token = await send(`http://app.test${ORGS}`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer sgt.AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB',
        'content-type': 'application/json',
      },
      body: JSON.stringify(newOrg('by-token')),
    });
    expect(token.status).toBe(403);
    expect((await bodyOf(token)).detail).toMatch(/browser/);
    expect(await snapshot()).toEqual(before);
  });

  it('the operator creates one with its first owner, in one transaction, audited', async () => {
    const r = await as(send, orla, 'POST', ORGS, { id: 'newco', name: ' NewCo Ltd ', owner: 'nora' });
    const body = await bodyOf(r);
    expect(r.status, JSON.stringify(body)).toBe(201);
    expect(body).toEqual({
      org: { id: 'newco', name: 'NewCo Ltd', created_at: expect.any(String) },
      owner: { person: 'nora', role: 'owner', grant: expect.any(String) },
      app: null,
    });
    const grants = await listRoleGrants(env.DB, ring, { orgId: 'newco' });
    expect(grants).toEqual([expect.objectContaining({ person: 'newco/nora', role: 'owner', appId: null, grantedBy: 'orla' })]);
    expect(grants[0]!.id).toBe((body.owner as { grant: string }).grant);

    const events = await as(send, orla, 'GET', '/.stepgate/api/admin/audit/events?type=org.created&limit=10');
    expect(events.status).toBe(200);
    const created = ((await bodyOf(events)).events as { event: Record<string, unknown> }[]).map((e) => e.event);
    expect(created).toContainEqual(
      expect.objectContaining({
        type: 'org.created',
        actor: 'orla',
        target: 'newco/nora',
        details: expect.objectContaining({ org: 'default', created_org: 'newco', name: 'NewCo Ltd', grant: grants[0]!.id }),
      }),
    );
  });

  it('of racing creations of one id, exactly one succeeds, with exactly one owner', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => as(send, orla, 'POST', ORGS, { id: 'race-co', name: 'Race', owner: `racer${i}` })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    const winner = await bodyOf(results.find((r) => r.status === 201)!);
    const grants = await listRoleGrants(env.DB, ring, { orgId: 'race-co' });
    expect(grants.map((g) => [g.person, g.role])).toEqual([[`race-co/${(winner.owner as { person: string }).person}`, 'owner']]);
  });

  it.each([
    ['the default organisation’s id', newOrg('default'), 409],
    ['an existing id', newOrg('acme'), 409],
    ['an id with capitals', newOrg('NewCo'), 400],
    ['an id with "_"', newOrg('new_co'), 400],
    ['an id with "/"', newOrg('new/co'), 400],
    ['a one-letter id', newOrg('n'), 400],
    ['an id starting with "-"', newOrg('-newco'), 400],
    ['an id ending with "-"', newOrg('newco-'), 400],
    ['an id of 33 characters', newOrg('x'.repeat(33)), 400],
    ['an empty name', newOrg('noname', { name: '' }), 400],
    ['a blank name', newOrg('blank', { name: '   ' }), 400],
    ['a name with a control character', newOrg('ctrl', { name: 'bad\u0007name' }), 400],
    ['a name of 101 characters', newOrg('longname', { name: 'n'.repeat(101) }), 400],
    ['an empty owner', newOrg('noowner', { owner: '' }), 400],
    ['no owner', { id: 'noowner', name: 'x' }, 400],
    ['an unknown field', newOrg('extra', { role: 'admin' }), 400],
    ['an id that is not a string', newOrg('x', { id: 42 }), 400],
    ['a first app with bad input', newOrg('badapp', { app: { name: 'a', hosts: ['Not A Host'], identity: {}, policy: {} } }), 400],
    [
      'a first app on a host another organisation serves',
      newOrg('hosttaken', { app: { name: 'a', hosts: ['acme.test'], identity: dev, policy } }),
      409,
    ],
  ])('%s → %i, nothing created or changed', async (_what, body, status) => {
    const before = await snapshot();
    const r = await as(send, orla, 'POST', ORGS, body);
    const text = await r.text();
    expect(r.status, text).toBe(status);
    expect(JSON.parse(text).code).toBe(status === 400 ? 'ERR_BAD_REQUEST' : 'ERR_CONFLICT');
    if (status === 409) expect(text).not.toMatch(/acme-app|"app_id"/); // another organisation's app is never named
    expect(await snapshot()).toEqual(before);
  });

  it('a first app taken away again leaves no organisation behind', async () => {
    expect(await getOrg(env.DB, 'hosttaken')).toBeNull();
    expect(await listRoleGrants(env.DB, ring, { orgId: 'hosttaken' })).toEqual([]);
  });
});

describe('the first owner of a new organisation', () => {
  it('enrols a factor before any admin action, then runs their organisation and nothing else', async () => {
    const r = await as(send, orla, 'POST', ORGS, {
      id: 'shopco',
      name: 'ShopCo',
      owner: 'sam',
      app: { name: 'shop', hosts: ['shop.test'], identity: dev, policy },
    });
    const body = await bodyOf(r);
    expect(r.status, JSON.stringify(body)).toBe(201);
    const appId = (body.app as { id: string }).id;

    const send2 = newGateway(); // a new registry: it serves shop.test from its first request
    const sam = { 'stepgate-dev-user': 'sam' };
    for (const path of [`${ORGS}/shopco/apps`, `${ORGS}/shopco/roles`, '/.stepgate/api/admin/me', ORGS]) {
      const refused = await callWith(send2, sam, 'shop.test', 'GET', path);
      expect(refused.status, path).toBe(403);
      expect((await bodyOf(refused)).code, path).toBe('ERR_FRESH_STEP_UP_REQUIRED');
    }
    // No factor, no fresh step-up: the owner role alone gives nothing.
    expect((await callWith(send2, sam, 'shop.test', 'POST', '/.stepgate/api/factors/step-up', {})).status).toBe(400);

    const secret = await enrol(send2, 'shop.test', sam);
    const stepped = await stepUp(send2, 'shop.test', sam, secret);
    const apps = await callWith(send2, stepped, 'shop.test', 'GET', `${ORGS}/shopco/apps`);
    expect(apps.status).toBe(200);
    expect(((await bodyOf(apps)).apps as { id: string }[]).map((a) => a.id)).toEqual([appId]);
    expect(await bodyOf(await callWith(send2, stepped, 'shop.test', 'GET', '/.stepgate/api/admin/me'))).toMatchObject({
      person: 'sam',
      org: 'shopco',
      orgs: [{ id: 'shopco', name: 'ShopCo', roles: [{ role: 'owner', app_id: null }] }],
    });
    // Their organisation only: the default organisation is not theirs, and they are no operator.
    expect((await callWith(send2, stepped, 'shop.test', 'GET', `${ORGS}/default/apps`)).status).toBe(404);
    const create = await callWith(send2, stepped, 'shop.test', 'POST', ORGS, newOrg('by-sam'));
    expect(create.status).toBe(403);
    expect((await bodyOf(create)).detail).toBe(REFUSALS['operator-only']);
    // The grant they act on was made by the operator, and they may grant in turn.
    expect((await callWith(send2, stepped, 'shop.test', 'POST', `${ORGS}/shopco/roles`, { person: 'sid', role: 'admin' })).status).toBe(
      201,
    );
  });
});

describe('listing organisations', () => {
  const ids = async (who: Caller) => {
    const r = await as(send, who, 'GET', ORGS);
    expect(r.status).toBe(200);
    const text = await r.text();
    return { ids: (JSON.parse(text).orgs as { id: string }[]).map((o) => o.id), text };
  };

  it('the operator sees every organisation', async () => {
    expect((await ids(orla)).ids).toEqual(expect.arrayContaining(['acme', 'default', 'newco', 'shopco']));
  });

  it('anyone else sees only their own: another organisation’s owner never sees the others', async () => {
    const acme = await ids(others['acme owner']);
    expect(acme.ids).toEqual(['acme']);
    for (const s of ['default', 'newco', 'shopco', 'NewCo', 'ShopCo']) expect(acme.text).not.toContain(s);
    expect((await ids(others.admin)).ids).toEqual(['default']);
    expect((await ids(others.auditor)).ids).toEqual(['default']);
    expect((await ids(others['app-admin'])).ids).toEqual(['default']);
    expect((await ids(others.none)).ids).toEqual([]);
  });

  it('needs a fresh step-up', async () => {
    const r = await callWith(send, orla.plain, 'app.test', 'GET', ORGS);
    expect(r.status).toBe(403);
    expect((await bodyOf(r)).code).toBe('ERR_FRESH_STEP_UP_REQUIRED');
  });
});
