/**
 * What an app-admin may not do through the admin API (Workers pool, real D1 and Durable Objects):
 * invite or unlock a person who holds a role beyond their app (an owner, admin, auditor or helpdesk
 * of the organisation, or another app's app-admin), or change how their app's people enrol (the
 * policy's `enrolment`) — each refused 403 with the rule, audited, nothing changed — while they
 * still invite and unlock the app's other people and change the rest of its policy.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { REFUSALS } from '../../edge/admin/authorization';
import { as, bodyOf, type Caller, newGateway, person } from './admin-callers';
import { seedApp } from './seed-apps';
import { seedRole } from './seed-roles';

const send = newGateway();
const rule = (id: string) => ({ id, match: { methods: ['POST'], path: `/api/${id}/**` }, require: { factors: ['totp'], bind: 'session' } });
const policy = { version: 1, rules: [rule('w')] };

let sideApp: string;
let opie: Caller; // app-admin of side, through side.test
let odin: Caller; // admin of default
let orla: Caller; // owner of default

const invitesOf = async () => Number((await env.DB.prepare('SELECT count(*) AS n FROM enrolment_invites').first<{ n: number }>())!.n);
const policyPath = () => `/.stepgate/api/admin/orgs/default/apps/${sideApp}/policy`;
const storedPolicy = async () =>
  (await bodyOf(await as(send, odin, 'GET', policyPath()))) as { policy: Record<string, unknown>; hash: string };

beforeAll(async () => {
  const now = Date.now();
  const made = async (name: string, host: string) => (await seedApp({ name, hosts: [host], policy, now })).id;
  sideApp = await made('side', 'side.test');
  const otherApp = await made('other', 'other.test');
  await seedRole('orla', 'owner');
  await seedRole('odin', 'admin');
  await seedRole('otto', 'auditor');
  await seedRole('oona', 'helpdesk');
  await seedRole('opie', 'app-admin', { appId: sideApp });
  await seedRole('pia', 'app-admin', { appId: sideApp });
  await seedRole('opal', 'app-admin', { appId: otherApp });
  [opie, odin, orla] = await Promise.all([person(send, 'opie', 'side.test'), person(send, 'odin'), person(send, 'orla')]);
}, 60_000);

describe('an app-admin acts only on people within their app', () => {
  const act = (who: Caller, what: 'invites' | 'unlock', user: string) => as(send, who, 'POST', `/.stepgate/api/admin/${what}`, { user });

  it.each([
    ['an owner', 'orla'],
    ['an admin', 'odin'],
    ['an auditor', 'otto'],
    ['a helpdesk', 'oona'],
    ['another app’s app-admin', 'opal'],
  ])('never invites or unlocks %s of the organisation: 403 with the rule, nothing issued', async (_who, user) => {
    const before = await invitesOf();
    for (const what of ['invites', 'unlock'] as const) {
      const r = await act(opie, what, user);
      const body = await bodyOf(r);
      expect(r.status, `${what} ${user}: ${JSON.stringify(body)}`).toBe(403);
      expect(body).toMatchObject({ code: 'ERR_FORBIDDEN', detail: REFUSALS['person-beyond-app'] });
    }
    expect(await invitesOf()).toBe(before);
  });

  it('invites and unlocks people with no role, and the app’s other app-admins; never themselves', async () => {
    expect((await act(opie, 'invites', 'tara')).status).toBe(201);
    expect((await act(opie, 'unlock', 'tara')).status).toBe(200);
    expect((await act(opie, 'unlock', 'pia')).status).toBe(200);
    const self = await act(opie, 'unlock', 'opie');
    expect(self.status).toBe(403);
    expect((await bodyOf(self)).detail).toBe(REFUSALS['own-factors']);
  });

  it('an owner or admin still acts on anyone but themselves', async () => {
    expect((await act(odin, 'unlock', 'orla')).status).toBe(200);
    expect((await act(orla, 'invites', 'otto')).status).toBe(201);
  });

  it('each refusal is audited with the rule, and no unlock was recorded for the people refused', async () => {
    const r = await as(send, orla, 'GET', '/.stepgate/api/admin/audit/events?type=admin.refused,user.unlocked,invite.created&limit=500');
    expect(r.status).toBe(200);
    const events = (
      (await bodyOf(r)).events as { event: { type: string; actor: string; target?: string; details: Record<string, unknown> } }[]
    ).map((e) => e.event);
    for (const target of ['orla', 'odin', 'otto', 'oona', 'opal']) {
      expect(events).toContainEqual(
        expect.objectContaining({
          type: 'admin.refused',
          actor: 'opie',
          target,
          details: expect.objectContaining({ code: 'person-beyond-app', action: 'person.unlock' }),
        }),
      );
      expect(events.filter((e) => e.type !== 'admin.refused' && e.actor === 'opie' && e.target === target)).toEqual([]);
    }
  });
});

describe('an app-admin changes their app’s policy, never its enrolment', () => {
  const put = (who: Caller, doc: unknown) => as(send, who, 'PUT', policyPath(), { policy: doc });

  it('refuses a change of enrolment with the rule and keeps the stored policy; allows the rest', async () => {
    const before = await storedPolicy();
    expect(before.policy.enrolment).toBeUndefined(); // the default, "first-use"
    const r = await put(opie, { ...policy, enrolment: 'invite' });
    expect(r.status).toBe(403);
    expect(await bodyOf(r)).toMatchObject({ code: 'ERR_FORBIDDEN', detail: REFUSALS['enrolment-owner-admin'] });
    expect((await storedPolicy()).hash).toBe(before.hash);

    const rules = await put(opie, { version: 1, rules: [rule('w'), rule('x')] });
    expect(rules.status).toBe(200);
    expect((await storedPolicy()).policy.rules).toHaveLength(2);
    // naming the enrolment it already has is no change (rules only added: a removal would wait for a second person)
    expect((await put(opie, { version: 1, enrolment: 'first-use', rules: [rule('w'), rule('x'), rule('y')] })).status).toBe(200);
  });

  it('once an admin sets it, the app-admin can neither drop it nor change it back, but keeps it while editing rules', async () => {
    const kept = [rule('w'), rule('x'), rule('y')]; // the rules stored: keeping them, each change below strengthens
    expect((await put(odin, { version: 1, enrolment: 'invite', rules: kept })).status).toBe(200);
    const invite = await storedPolicy();
    for (const doc of [policy, { ...policy, enrolment: 'first-use' }]) {
      const r = await put(opie, doc);
      expect(r.status).toBe(403);
      expect((await bodyOf(r)).detail).toBe(REFUSALS['enrolment-owner-admin']);
    }
    expect((await storedPolicy()).hash).toBe(invite.hash);
    expect((await put(opie, { version: 1, enrolment: 'invite', rules: [...kept, rule('z')] })).status).toBe(200);
    expect((await storedPolicy()).policy).toMatchObject({
      enrolment: 'invite',
      rules: [{ id: 'w' }, { id: 'x' }, { id: 'y' }, { id: 'z' }],
    });
    // an owner changes it back: that weakens, so it is a proposal until a second person (an admin) approves it
    const back = await put(orla, policy);
    expect(back.status).toBe(202);
    const approved = await as(send, odin, 'POST', `${policyPath()}/versions/${(await bodyOf(back)).version}/approve`, {});
    expect(approved.status).toBe(200);
    expect((await storedPolicy()).policy.enrolment).toBeUndefined();
  });
});
