/**
 * The two rules that must hold under concurrency, in real D1: the bootstrap owner is made exactly
 * once (and only with a factor, only while the default organisation has no owner), and the last
 * owner of an organisation is never removed, however many revocations race.
 */
import { env } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import { claimBootstrapOwner } from '../../edge/admin/bootstrap';
import { createOrg, DEFAULT_ORG } from '../../edge/admin/org-store';
import { grantRole, listRoleGrants, removePersonRoles, revokeRole, rolesOf } from '../../edge/admin/role-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { activateTotp, createPendingTotp } from '../../edge/factors/totp/totp-store';

const ring = parseKeyring(JSON.stringify({ primary: 'k1', keys: { k1: btoa(String.fromCharCode(...new Uint8Array(32).fill(5))) } }));
const now = 1_900_000_000_000;

async function withFactor(sub: string): Promise<void> {
  const f = await createPendingTotp(env.DB, ring, sub, now, 'first-use');
  expect(await activateTotp(env.DB, ring, sub, f.id, now)).toBe(true);
}
const owners = async (orgId: string) =>
  (await listRoleGrants(env.DB, ring, { orgId })).filter((g) => g.role === 'owner').map((g) => g.person);

describe('bootstrap owner', () => {
  beforeEach(async () => {
    await env.DB.prepare('DELETE FROM role_grants WHERE org_id = ?').bind(DEFAULT_ORG).run();
  });

  it('is refused without BOOTSTRAP_OWNER, for anyone else, and before a factor is enrolled', async () => {
    expect(await claimBootstrapOwner(env.DB, ring, { bootstrapOwner: undefined, caller: 'root', now })).toMatchObject({
      outcome: 'refused',
      code: 'not-configured',
    });
    expect(await claimBootstrapOwner(env.DB, ring, { bootstrapOwner: '  ', caller: 'root', now })).toMatchObject({
      code: 'not-configured',
    });
    await withFactor('mallory');
    expect(await claimBootstrapOwner(env.DB, ring, { bootstrapOwner: 'root', caller: 'mallory', now })).toMatchObject({
      code: 'not-bootstrap-owner',
    });
    expect(await claimBootstrapOwner(env.DB, ring, { bootstrapOwner: 'root', caller: 'root', now })).toEqual({
      outcome: 'refused',
      code: 'no-factor',
      reason: 'enrol a factor first: the first owner must be able to step up',
    });
    // a pending (unconfirmed) authenticator app is not a factor
    await createPendingTotp(env.DB, ring, 'root', now, 'first-use');
    expect(await claimBootstrapOwner(env.DB, ring, { bootstrapOwner: 'root', caller: 'root', now })).toMatchObject({ code: 'no-factor' });
    expect(await owners(DEFAULT_ORG)).toEqual([]);
  });

  it('makes the named person the default organisation’s owner once; then the variable is ignored', async () => {
    await withFactor('root2');
    const r = await claimBootstrapOwner(env.DB, ring, { bootstrapOwner: 'root2', caller: 'root2', now });
    expect(r).toMatchObject({ outcome: 'claimed', grant: { orgId: DEFAULT_ORG, person: 'root2', role: 'owner', grantedBy: null } });
    expect(await rolesOf(env.DB, ring, DEFAULT_ORG, 'root2')).toEqual([{ role: 'owner', appId: null }]);
    expect(await claimBootstrapOwner(env.DB, ring, { bootstrapOwner: 'root2', caller: 'root2', now })).toMatchObject({
      code: 'owner-exists',
    });
    // someone else named later claims nothing while an owner exists
    await withFactor('newcomer');
    expect(await claimBootstrapOwner(env.DB, ring, { bootstrapOwner: 'newcomer', caller: 'newcomer', now })).toMatchObject({
      code: 'owner-exists',
    });
    expect(await owners(DEFAULT_ORG)).toEqual(['root2']);
  });

  it('of 20 concurrent claims, exactly one succeeds and one owner row exists', async () => {
    await withFactor('root3');
    const results = await Promise.all(
      Array.from({ length: 20 }, () => claimBootstrapOwner(env.DB, ring, { bootstrapOwner: 'root3', caller: 'root3', now })),
    );
    expect(results.filter((r) => r.outcome === 'claimed')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'refused' && r.code === 'owner-exists')).toHaveLength(19);
    expect(await owners(DEFAULT_ORG)).toEqual(['root3']);
  });

  it('racing claims by two different people (BOOTSTRAP_OWNER changed during a deploy): exactly one owner', async () => {
    await withFactor('first-a');
    await withFactor('first-b');
    const claim = (who: string) => claimBootstrapOwner(env.DB, ring, { bootstrapOwner: who, caller: who, now });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => claim(i % 2 ? 'first-a' : 'first-b')));
    expect(results.filter((r) => r.outcome === 'claimed')).toHaveLength(1);
    expect(await owners(DEFAULT_ORG)).toHaveLength(1);
  });

  it('an owner of another organisation does not stop the default organisation’s bootstrap', async () => {
    await createOrg(env.DB, { id: 'side', name: 'Side', now });
    await grantRole(env.DB, ring, { orgId: 'side', sub: 'side/o', role: 'owner', grantedBy: 'x', now });
    await withFactor('root4');
    expect(await claimBootstrapOwner(env.DB, ring, { bootstrapOwner: 'root4', caller: 'root4', now })).toMatchObject({
      outcome: 'claimed',
    });
  });
});

describe('the last owner', () => {
  const setup = async (orgId: string, n: number) => {
    await createOrg(env.DB, { id: orgId, name: orgId, now });
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const g = await grantRole(env.DB, ring, { orgId, sub: `${orgId}/owner-${i}`, role: 'owner', grantedBy: 'x', now });
      if (!g.ok) throw new Error('setup');
      ids.push(g.grant.id);
    }
    return ids;
  };

  it('two owners revoking each other at once: exactly one revocation succeeds, one owner remains', async () => {
    const ids = await setup('duel', 2);
    const results = await Promise.all(ids.map((grantId) => revokeRole(env.DB, ring, { orgId: 'duel', grantId })));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok && r.code === 'last-owner')).toHaveLength(1);
    expect(await owners('duel')).toHaveLength(1);
  });

  it('every owner revoked at once, several times over: one always remains', async () => {
    for (let round = 0; round < 5; round++) {
      const org = `crowd-${round}`;
      const ids = await setup(org, 6);
      const results = await Promise.all(
        [...ids, ...ids].map((grantId) => revokeRole(env.DB, ring, { orgId: org, grantId })), // each twice
      );
      expect(results.filter((r) => r.ok)).toHaveLength(5);
      expect(await owners(org)).toHaveLength(1);
    }
  });

  it('people removed at once (all their roles): the last owner and their other roles stay', async () => {
    const ids = await setup('leave', 3);
    await grantRole(env.DB, ring, { orgId: 'leave', sub: 'leave/owner-0', role: 'auditor', grantedBy: 'x', now });
    await grantRole(env.DB, ring, { orgId: 'leave', sub: 'leave/owner-1', role: 'auditor', grantedBy: 'x', now });
    await grantRole(env.DB, ring, { orgId: 'leave', sub: 'leave/owner-2', role: 'auditor', grantedBy: 'x', now });
    const results = await Promise.all(ids.map((_, i) => removePersonRoles(env.DB, ring, { orgId: 'leave', sub: `leave/owner-${i}` })));
    expect(results.filter((r) => r.ok)).toHaveLength(2);
    const left = await owners('leave');
    expect(left).toHaveLength(1);
    expect(await rolesOf(env.DB, ring, 'leave', left[0]!)).toEqual([
      { role: 'auditor', appId: null },
      { role: 'owner', appId: null },
    ]);
  });

  it('revocations mixed with removals and revocations of other roles: an owner always remains', async () => {
    const ids = await setup('mixed', 4);
    const admin = await grantRole(env.DB, ring, { orgId: 'mixed', sub: 'mixed/admin', role: 'admin', grantedBy: 'x', now });
    if (!admin.ok) throw new Error('setup');
    const results = await Promise.all([
      ...ids.map((grantId) => revokeRole(env.DB, ring, { orgId: 'mixed', grantId })),
      ...ids.map((_, i) => removePersonRoles(env.DB, ring, { orgId: 'mixed', sub: `mixed/owner-${i}` })),
      revokeRole(env.DB, ring, { orgId: 'mixed', grantId: admin.grant.id }),
    ]);
    expect(results.at(-1)).toMatchObject({ ok: true });
    expect(await owners('mixed')).toHaveLength(1);
  });
});
