/**
 * A subject with "/" in the default organisation (Workers pool, real D1 and Durable Objects): its key
 * would be another organisation's person (`acme/boss`), so every admin endpoint that takes a person
 * from its input refuses it — 400 naming the field — before anything is read or changed, even for
 * the default organisation's owner. And one organisation's recovery never blocks another's: the
 * one-open-recovery rule is per organisation (migration 0013).
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { startRecovery } from '../../edge/admin/recovery-store';
import { grantRole } from '../../edge/admin/role-store';
import { activeFactorCount } from '../../edge/factors/active-factors';
import type { UserState } from '../../edge/user-state/user-state';
import { API, as, bodyOf, type Caller, person, ring, seedAcme } from './recovery-flow';
import { seedRole } from './seed-roles';

const TARGET = 'acme/boss';
let olga: Caller; // owner of default
let hank: Caller; // helpdesk of default
let olive: Caller; // second owner of acme

const stateOf = (sub: string) => env.USER_STATE.get(env.USER_STATE.idFromName(`user:${sub}`)) as DurableObjectStub<UserState>;

/** Every endpoint that takes a person from its input, asked about `acme/boss` from the default organisation. */
const ENDPOINTS: { name: string; field: string; who: () => Caller; method: string; path: string; body?: unknown; code?: string }[] = [
  { name: 'invite', field: 'user', who: () => olga, method: 'POST', path: `${API}/invites`, body: { user: TARGET } },
  { name: 'unlock', field: 'user', who: () => hank, method: 'POST', path: `${API}/unlock`, body: { user: TARGET } },
  { name: 'unlock (owner)', field: 'user', who: () => olga, method: 'POST', path: `${API}/unlock`, body: { user: TARGET } },
  {
    name: 'grant a role',
    field: 'person',
    who: () => olga,
    method: 'POST',
    path: `${API}/orgs/default/roles`,
    body: { person: TARGET, role: 'auditor' },
  },
  {
    name: 'start a recovery',
    field: 'user',
    who: () => hank,
    method: 'POST',
    path: `${API}/orgs/default/recoveries`,
    body: { user: TARGET },
  },
  {
    name: 'start a recovery (owner)',
    field: 'user',
    who: () => olga,
    method: 'POST',
    path: `${API}/orgs/default/recoveries`,
    body: { user: TARGET },
  },
  {
    name: 'revoke factors',
    field: 'user',
    who: () => olga,
    method: 'POST',
    path: `${API}/orgs/default/people/revoke`,
    body: { user: TARGET, factors: true, tokens: true },
  },
  // In a path the "/" arrives encoded, which the gateway refuses before any endpoint reads it.
  {
    name: 'look a person up',
    field: '',
    who: () => olga,
    method: 'GET',
    path: `${API}/orgs/default/people/${encodeURIComponent(TARGET)}`,
    code: 'ERR_AMBIGUOUS_REQUEST',
  },
  {
    name: 'create an organisation whose owner is in default',
    field: 'owner',
    who: () => olga,
    method: 'POST',
    path: `${API}/orgs`,
    body: { id: 'default', name: 'Again', owner: TARGET },
  },
];

/** What any of those endpoints could change, as a snapshot. */
async function snapshot() {
  const count = async (table: string) => (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>())!.n;
  const lock = await stateOf(TARGET).lockState();
  return {
    invites: await count('enrolment_invites'),
    grants: await count('role_grants'),
    recoveries: await count('recoveries'),
    orgs: await count('orgs'),
    revokedTokens: (await env.DB.prepare('SELECT COUNT(*) AS n FROM api_tokens WHERE revoked_at IS NOT NULL').first<{ n: number }>())!.n,
    factors: await activeFactorCount(env.DB, ring, TARGET),
    lock: { consecutive: lock.consecutive, lockedUntil: lock.lockedUntil },
    notices: (await stateOf(TARGET).notices()).length,
    revokedAt: await stateOf(TARGET).grantsRevokedAt(),
  };
}

beforeAll(async () => {
  await seedAcme();
  const r = await grantRole(env.DB, ring, { orgId: 'acme', sub: 'acme/olive', role: 'owner', grantedBy: 'acme/boss', now: Date.now() });
  if (!r.ok) throw new Error('acme second owner');
  await seedRole('olga', 'owner');
  await seedRole('hank', 'helpdesk');
  [olga, hank, olive] = await Promise.all([person('olga'), person('hank'), person('olive', 'acme')]);
  // acme's owner has a factor and a lockout that a reach across organisations would remove.
  await person('boss', 'acme');
  await stateOf(TARGET).lockState();
  await runInDurableObject(stateOf(TARGET), async (_o, state) => {
    state.storage.sql.exec('INSERT OR REPLACE INTO failures (id, consecutive, locked_until) VALUES (1, 7, ?)', Date.now() + 3_600_000);
  });
}, 60_000);

describe('a subject with "/" in the default organisation', () => {
  it.each(ENDPOINTS.map((e) => [e.name, e] as const))('%s: 400 naming the field, nothing changed', async (_name, e) => {
    const before = await snapshot();
    expect(before.factors).toBe(1);
    expect(before.lock.consecutive).toBe(7);
    const r = await as(e.who(), e.method, e.path, e.body);
    const body = await bodyOf(r);
    expect([r.status, body.code]).toEqual([400, e.code ?? 'ERR_BAD_REQUEST']);
    if (e.field) expect(body.detail).toMatch(new RegExp(`^${e.field}: `));
    expect(await snapshot()).toEqual(before);
  });

  it('the same subject without "/" is still a person of the default organisation', async () => {
    expect((await as(olga, 'POST', `${API}/unlock`, { user: 'boss' })).status).toBe(200);
  });
});

describe('one open recovery per person of an organisation', () => {
  it('acme recovers its own owner after the default organisation asked for the same key', async () => {
    expect((await as(hank, 'POST', `${API}/orgs/default/recoveries`, { user: TARGET })).status).toBe(400);
    // A row of the default organisation under acme's person's key (as one started before the
    // refusal existed would be) does not block acme either.
    const stray = await startRecovery(env.DB, ring, { orgId: 'default', person: TARGET, startedBy: 'hank', now: Date.now() });
    expect(stray.ok).toBe(true);
    const own = await as(olive, 'POST', `${API}/orgs/acme/recoveries`, { user: 'boss' });
    expect(own.status).toBe(201);
    const listed = await bodyOf(await as(olive, 'GET', `${API}/orgs/acme/recoveries`));
    expect((listed.recoveries as { user: string }[]).map((x) => x.user)).toEqual(['boss']);
    // Within one organisation the rule holds: a second start is refused.
    expect((await as(olive, 'POST', `${API}/orgs/acme/recoveries`, { user: 'boss' })).status).toBe(409);
  });
});
