/**
 * Key rotation of organisation baselines in real D1: who saved the baseline and who proposed its
 * waiting change (an index and sealed) are counted by `keys status` under their key id, moved to
 * the new primary key by re-encryption, and still open once the old key is gone — so the author of a
 * proposal still cannot approve it, and another person still can.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { approveBaseline, saveBaseline } from '../../edge/admin/baseline-writes';
import { createOrg } from '../../edge/admin/org-store';
import { getBaseline } from '../../edge/admin/policy-baseline';
import { keyStatus } from '../../edge/audit/key-status';
import { reencryptBatch } from '../../edge/audit/reencryption';
import { parseKeyring } from '../../edge/crypto/keyring';

const K1 = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));
const K2 = btoa(String.fromCharCode(...new Uint8Array(32).fill(8)));
const ringOld = parseKeyring(JSON.stringify({ primary: 'b1', keys: { b1: K1 } }));
const ringBoth = parseKeyring(JSON.stringify({ primary: 'b2', keys: { b1: K1, b2: K2 } }));
const ringNew = parseKeyring(JSON.stringify({ primary: 'b2', keys: { b2: K2 } }));
const ORG = 'brot';
const COLUMNS = ['org_policy_baselines.updated_by', 'org_policy_baselines.proposed_by_ref', 'org_policy_baselines.proposed_by'];
const rule = { id: 'admin', match: { path: '/admin/**' }, require: { factors: ['webauthn'], bind: 'session' } };

describe('organisation baselines under key rotation', () => {
  it('are counted under the old key, re-encrypted, and open under the new key alone', async () => {
    const now = Date.now();
    expect((await createOrg(env.DB, { id: ORG, name: 'Rotation', now })).ok).toBe(true);
    expect(
      await saveBaseline(env.DB, ringOld, { orgId: ORG, document: { version: 1, rules: [rule] }, by: 'brot/olga', now }),
    ).toMatchObject({
      state: 'active',
    });
    expect(await saveBaseline(env.DB, ringOld, { orgId: ORG, document: { version: 1, rules: [] }, by: 'brot/olga', now })).toMatchObject({
      state: 'proposed',
    });
    const usage = async () => {
      const s = await keyStatus({ db: env.DB, keys: ringBoth, now: () => now });
      return Object.fromEntries(COLUMNS.map((c) => [c, { b1: s.usage.b1?.[c] ?? 0, b2: s.usage.b2?.[c] ?? 0 }]));
    };
    const before = await usage();
    for (const c of COLUMNS) expect(before[c]!.b1).toBeGreaterThanOrEqual(1);
    const moved = await reencryptBatch({ db: env.DB, keys: ringBoth });
    expect(moved.org_policy_baselines).toBeGreaterThanOrEqual(1);
    expect((await reencryptBatch({ db: env.DB, keys: ringBoth })).org_policy_baselines).toBe(0);
    const after = await usage();
    for (const c of COLUMNS) expect(after[c]).toEqual({ b1: 0, b2: before[c]!.b2 + before[c]!.b1 });

    const b = await getBaseline(env.DB, ringNew, ORG);
    expect(b).toMatchObject({ updatedBy: 'brot/olga', proposal: { by: 'brot/olga' } });
    expect(await approveBaseline(env.DB, ringNew, { orgId: ORG, by: 'brot/olga', now })).toMatchObject({ code: 'same-person' });
    expect(await approveBaseline(env.DB, ringNew, { orgId: ORG, by: 'brot/adam', now })).toMatchObject({ ok: true, state: 'active' });
    expect(await getBaseline(env.DB, ringNew, ORG)).toMatchObject({ document: { version: 1, rules: [] }, updatedBy: 'brot/olga' });
  });
});
