/**
 * Key rotation of the administration tables in real D1: role grants (person index, sealed person,
 * sealed grantor) and who saved each app policy are counted by `keys status` under their key id,
 * moved to the new primary key by re-encryption, and still open — and still grant — once the old
 * key is gone.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../edge/admin/app-store';
import { getAppPolicy } from '../../edge/admin/app-policy-store';
import { claimBootstrapOwner } from '../../edge/admin/bootstrap';
import { createOrg, DEFAULT_ORG } from '../../edge/admin/org-store';
import { grantRole, listRoleGrants, revokeRole, rolesOf } from '../../edge/admin/role-store';
import { keyStatus } from '../../edge/audit/key-status';
import { reencryptBatch } from '../../edge/audit/reencryption';
import { parseKeyring } from '../../edge/crypto/keyring';
import { activateTotp, createPendingTotp } from '../../edge/factors/totp/totp-store';

const K1 = btoa(String.fromCharCode(...new Uint8Array(32).fill(1)));
const K2 = btoa(String.fromCharCode(...new Uint8Array(32).fill(2)));
const ringOld = parseKeyring(JSON.stringify({ primary: 'k1', keys: { k1: K1 } }));
const ringBoth = parseKeyring(JSON.stringify({ primary: 'k2', keys: { k1: K1, k2: K2 } }));
const ringNew = parseKeyring(JSON.stringify({ primary: 'k2', keys: { k2: K2 } }));
const now = 1_900_000_000_000;
const ADMIN_COLUMNS = ['role_grants.person_ref', 'role_grants.person_sealed', 'role_grants.granted_by', 'app_policies.updated_by'];

describe('administration tables under key rotation', () => {
  it('are counted under the old key, re-encrypted, and open (and grant) under the new key alone', async () => {
    // The bootstrap owner needs a factor; factors rotate too (their own tests), so the usage below
    // is compared on the administration columns only.
    const f = await createPendingTotp(env.DB, ringOld, 'boss', now, 'first-use');
    await activateTotp(env.DB, ringOld, 'boss', f.id, now);
    expect(await claimBootstrapOwner(env.DB, ringOld, { bootstrapOwner: 'boss', caller: 'boss', now })).toMatchObject({
      outcome: 'claimed',
    });
    await createOrg(env.DB, { id: 'rot', name: 'Rot', now });
    const app = await createApp(env.DB, ringOld, {
      orgId: 'rot',
      name: 'App',
      hosts: ['rot.example'],
      originUrl: null,
      identity: { source: 'cloudflareAccess', teamDomain: 'https://rot.cloudflareaccess.com', audience: 'aud' },
      policy: { version: 1, rules: [] },
      createdBy: 'rot/owner',
      now,
    });
    if (!app.ok) throw new Error('setup');
    await grantRole(env.DB, ringOld, { orgId: 'rot', sub: 'rot/owner', role: 'owner', grantedBy: 'boss', now });
    await grantRole(env.DB, ringOld, { orgId: 'rot', appId: app.app.id, sub: 'rot/dev', role: 'app-admin', grantedBy: 'rot/owner', now });

    const before = await keyStatus({ db: env.DB, keys: ringBoth, now: () => now });
    for (const c of ADMIN_COLUMNS) expect(before.usage.k1?.[c], c).toBeGreaterThan(0);
    expect(before.usage.k1!['role_grants.person_ref']).toBe(3);
    expect(before.usage.k1!['role_grants.granted_by']).toBe(2); // the bootstrap owner was granted by nobody

    const moved = await reencryptBatch({ db: env.DB, keys: ringBoth });
    expect(moved).toMatchObject({ role_grants: 3, app_policies: 1 });
    expect(await reencryptBatch({ db: env.DB, keys: ringBoth })).toMatchObject({ role_grants: 0, app_policies: 0 });

    const after = await keyStatus({ db: env.DB, keys: ringBoth, now: () => now });
    for (const c of ADMIN_COLUMNS) expect(after.usage.k1?.[c], c).toBeUndefined();
    expect(after.usage.k2).toMatchObject({ 'role_grants.person_ref': 3, 'app_policies.updated_by': 1 });

    // The old key retired: everything opens, and the grants still grant.
    expect(await rolesOf(env.DB, ringNew, DEFAULT_ORG, 'boss')).toEqual([{ role: 'owner', appId: null }]);
    expect(await rolesOf(env.DB, ringNew, 'rot', 'rot/dev')).toEqual([{ role: 'app-admin', appId: app.app.id }]);
    expect((await listRoleGrants(env.DB, ringNew, { orgId: 'rot' })).map((g) => [g.person, g.grantedBy])).toEqual([
      ['rot/dev', 'rot/owner'],
      ['rot/owner', 'boss'],
    ]);
    expect(await getAppPolicy(env.DB, ringNew, { orgId: 'rot', appId: app.app.id })).toMatchObject({ updatedBy: 'rot/owner' });
    // and the last-owner rule still holds on re-keyed rows
    const owner = (await listRoleGrants(env.DB, ringNew, { orgId: 'rot', sub: 'rot/owner' }))[0]!;
    expect(await revokeRole(env.DB, ringNew, { orgId: 'rot', grantId: owner.id })).toEqual({ ok: false, code: 'last-owner' });
    // a grant re-made after rotation is not a second row for the same person
    expect(await grantRole(env.DB, ringBoth, { orgId: 'rot', sub: 'rot/owner', role: 'owner', grantedBy: 'boss', now })).toMatchObject({
      ok: false,
      code: 'exists',
    });
  });

  it('a person granted under the old key is found under both keys before re-encryption, and not granted twice', async () => {
    await createOrg(env.DB, { id: 'mid', name: 'Mid', now });
    await grantRole(env.DB, ringOld, { orgId: 'mid', sub: 'mid/p', role: 'auditor', grantedBy: 'x', now });
    expect(await rolesOf(env.DB, ringBoth, 'mid', 'mid/p')).toEqual([{ role: 'auditor', appId: null }]);
    expect(await grantRole(env.DB, ringBoth, { orgId: 'mid', sub: 'mid/p', role: 'auditor', grantedBy: 'x', now })).toMatchObject({
      ok: false,
      code: 'exists',
    });
  });
});
