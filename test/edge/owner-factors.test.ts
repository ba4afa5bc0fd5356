/**
 * Only an owner acts on an owner's factors or tokens, and "revoke, then invite" is never a recovery
 * by one person (docs/admin.md, "Rules" and "Revocation"), in the Workers pool with real D1 and
 * Durable Objects: an admin or helpdesk is refused on an owner (revoke, invite, start or approve
 * recovery, revoke tokens), unlocking an owner stays allowed; whoever revoked a person's factors
 * cannot invite them back — someone else can, and a racing invite never survives the revocation;
 * the person finds a notice of the revocation in their Durable Object.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { REFUSALS } from '../../edge/admin/authorization';
import { blindIndexes } from '../../edge/crypto/blind-index';
import { parseKeyring } from '../../edge/crypto/keyring';
import { activeFactorCount } from '../../edge/factors/active-factors';
import { as, type Caller, person } from './admin-callers';
import { seedRole } from './seed-roles';

const ring = parseKeyring(env.STEPGATE_KEYS);
const ORGS = '/.stepgate/api/admin/orgs/default';
const stateOf = (sub: string) => env.USER_STATE.get(env.USER_STATE.idFromName(`user:${sub}`));
const detail = async (r: Response) => ((await r.json()) as { detail?: string }).detail ?? '';
/** Unspent invitations of `sub` (revocation marks are not invitations). */
const openInvites = async (sub: string) => {
  const refs = await blindIndexes(ring, 'user', sub);
  const row = await env.DB.prepare(
    'SELECT COUNT(*) AS n FROM enrolment_invites WHERE used_at IS NULL AND code_hash NOT LIKE ' +
      `'revoked:%' AND user_ref IN (${refs.map(() => '?').join(', ')})`,
  )
    .bind(...refs)
    .first<{ n: number }>();
  return row!.n;
};

let olga: Caller; // owner
let otto: Caller; // a second owner
let adam: Caller; // admin
let abby: Caller; // a second admin
let hugo: Caller; // helpdesk

beforeAll(async () => {
  [olga, otto, adam, abby, hugo] = await Promise.all([
    person('of-olga'),
    person('of-otto'),
    person('of-adam'),
    person('of-abby'),
    person('of-hugo'),
  ]);
  await seedRole('of-olga', 'owner');
  await seedRole('of-otto', 'owner');
  await seedRole('of-adam', 'admin');
  await seedRole('of-abby', 'admin');
  await seedRole('of-hugo', 'helpdesk');
});

describe('an owner’s factors and tokens are for owners only', () => {
  it('an admin revoking an owner’s factors, grants or tokens is refused, and nothing changes', async () => {
    for (const what of [{ factors: true }, { grants: true }, { tokens: true }]) {
      const r = await as(adam, 'POST', `${ORGS}/people/revoke`, { user: 'of-olga', ...what });
      expect(r.status).toBe(403);
      expect(await detail(r)).toBe(REFUSALS['owner-target']);
    }
    expect(await activeFactorCount(env.DB, ring, 'of-olga')).toBeGreaterThan(0);
    // Olga's fresh step-up still works: her grants were not revoked.
    expect((await as(olga, 'GET', `${ORGS}/people/of-adam`)).status).toBe(200);
  });

  it('an admin inviting an owner is refused; an owner inviting one is not', async () => {
    const r = await as(adam, 'POST', '/.stepgate/api/admin/invites', { user: 'of-olga' });
    expect(r.status).toBe(403);
    expect(await detail(r)).toBe(REFUSALS['owner-target']);
    expect((await as(otto, 'POST', '/.stepgate/api/admin/invites', { user: 'of-olga' })).status).toBe(201);
  });

  it('neither helpdesk nor an admin starts a recovery of an owner, nor approves one an owner started', async () => {
    for (const who of [adam, hugo]) {
      const r = await as(who, 'POST', `${ORGS}/recoveries`, { user: 'of-olga' });
      expect(r.status).toBe(403);
      expect(await detail(r)).toBe(REFUSALS['owner-target']);
    }
    const started = await as(otto, 'POST', `${ORGS}/recoveries`, { user: 'of-olga' });
    expect(started.status).toBe(201);
    const { recovery } = (await started.json()) as { recovery: { id: string } };
    const approve = await as(adam, 'POST', `${ORGS}/recoveries/${recovery.id}/approve`, {});
    expect(approve.status).toBe(403);
    expect(await detail(approve)).toBe(REFUSALS['owner-target']);
    expect((await as(adam, 'POST', `${ORGS}/recoveries/${recovery.id}/cancel`, {})).status).toBe(403);
    expect((await as(otto, 'POST', `${ORGS}/recoveries/${recovery.id}/cancel`, {})).status).toBe(200);
  });

  it('helpdesk still unlocks an owner (unlocking gives no one a way in)', async () => {
    expect((await as(hugo, 'POST', '/.stepgate/api/admin/unlock', { user: 'of-olga' })).status).toBe(200);
  });
});

describe('revoke, then invite, is not a recovery by one person', () => {
  it('whoever revoked a person’s factors cannot invite them; someone else can', async () => {
    await person('of-vic');
    const revoked = await as(adam, 'POST', `${ORGS}/people/revoke`, { user: 'of-vic', factors: true });
    expect(revoked.status).toBe(200);
    expect(await activeFactorCount(env.DB, ring, 'of-vic')).toBe(0);
    const mine = await as(adam, 'POST', '/.stepgate/api/admin/invites', { user: 'of-vic' });
    expect(mine.status).toBe(403);
    expect(await detail(mine)).toMatch(/you revoked this person’s factors, so someone else must invite them/);
    expect(await openInvites('of-vic')).toBe(0);
    const theirs = await as(abby, 'POST', '/.stepgate/api/admin/invites', { user: 'of-vic' });
    expect(theirs.status).toBe(201);
    expect(await openInvites('of-vic')).toBe(1);
  });

  it('a revoker’s invitation racing the revocation never outlives it', async () => {
    for (let i = 0; i < 4; i++) {
      const name = `of-race-${i}`;
      await person(name);
      const [rev, inv] = await Promise.all([
        as(adam, 'POST', `${ORGS}/people/revoke`, { user: name, factors: true }),
        as(adam, 'POST', '/.stepgate/api/admin/invites', { user: name }),
      ]);
      expect(rev.status).toBe(200);
      expect([201, 403]).toContain(inv.status);
      // Invited first: the revocation deleted it. Revoked first: refused. Either way nothing is left to use.
      expect(await openInvites(name)).toBe(0);
      expect((await as(adam, 'POST', '/.stepgate/api/admin/invites', { user: name })).status).toBe(403);
    }
  });

  it('revoking a subject with no factor bars no one (and stores no mark)', async () => {
    expect((await as(adam, 'POST', `${ORGS}/people/revoke`, { user: 'of-nobody', factors: true })).status).toBe(200);
    expect((await as(adam, 'POST', '/.stepgate/api/admin/invites', { user: 'of-nobody' })).status).toBe(201);
  });

  it('the person is told: a notice of the revocation in their Durable Object', async () => {
    await person('of-nina');
    const before = Date.now();
    expect((await as(abby, 'POST', `${ORGS}/people/revoke`, { user: 'of-nina', factors: true })).status).toBe(200);
    const notices = await stateOf('of-nina').notices();
    const n = notices.find((x) => x.kind === 'factors-revoked');
    expect(n).toMatchObject({ id: 'factors-revoked', kind: 'factors-revoked' });
    expect(n && n.kind === 'factors-revoked' ? n.revokedAt : 0).toBeGreaterThanOrEqual(before);
    // Revoking only grants or tokens is not a revocation of factors: no notice for that.
    await person('of-gil');
    expect((await as(abby, 'POST', `${ORGS}/people/revoke`, { user: 'of-gil', grants: true })).status).toBe(200);
    expect((await stateOf('of-gil').notices()).some((x) => x.kind === 'factors-revoked')).toBe(false);
  });
});
