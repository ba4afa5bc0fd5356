/**
 * Key rotation of organisation webhooks in real D1: the sealed URL, signing secret and who set it are
 * counted by `keys status` under their key id, moved to the new primary key by re-encryption (a PUT
 * racing it is never overwritten), and still open once the old key is gone — the same secret, so
 * receivers notice nothing.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createOrg } from '../../edge/admin/org-store';
import { keyStatus } from '../../edge/audit/key-status';
import { reencryptBatch } from '../../edge/audit/reencryption';
import { parseKeyring } from '../../edge/crypto/keyring';
import { getWebhook, putWebhook, webhookTarget } from '../../edge/notifications/webhook-store';

const K1 = btoa(String.fromCharCode(...new Uint8Array(32).fill(3)));
const K2 = btoa(String.fromCharCode(...new Uint8Array(32).fill(4)));
const ringOld = parseKeyring(JSON.stringify({ primary: 'w1', keys: { w1: K1 } }));
const ringBoth = parseKeyring(JSON.stringify({ primary: 'w2', keys: { w1: K1, w2: K2 } }));
const ringNew = parseKeyring(JSON.stringify({ primary: 'w2', keys: { w2: K2 } }));
const COLUMNS = ['org_webhooks.url', 'org_webhooks.secret', 'org_webhooks.updated_by'];
const URL_ = 'https://hooks.example.com/rot';

describe('organisation webhooks under key rotation', () => {
  it('are counted under the old key, re-encrypted, and open under the new key alone with the same secret', async () => {
    const now = Date.now();
    expect((await createOrg(env.DB, { id: 'wrot', name: 'Rotation', now })).ok).toBe(true);
    const { secret } = await putWebhook(env.DB, ringOld, { org: 'wrot', url: URL_, format: 'slack', by: 'wrot/olga', now });
    const usage = async () => {
      const s = await keyStatus({ db: env.DB, keys: ringBoth, now: () => now });
      return Object.fromEntries(COLUMNS.map((c) => [c, { w1: s.usage.w1?.[c] ?? 0, w2: s.usage.w2?.[c] ?? 0 }]));
    };
    for (const c of COLUMNS) expect((await usage())[c]).toEqual({ w1: 1, w2: 0 });
    expect((await reencryptBatch({ db: env.DB, keys: ringBoth })).org_webhooks).toBe(1);
    expect((await reencryptBatch({ db: env.DB, keys: ringBoth })).org_webhooks).toBe(0);
    for (const c of COLUMNS) expect((await usage())[c]).toEqual({ w1: 0, w2: 1 });
    expect(await webhookTarget(env.DB, ringNew, 'wrot')).toEqual({ url: URL_, format: 'slack', secret });
    expect(await getWebhook(env.DB, ringNew, 'wrot')).toMatchObject({ url: URL_, updatedBy: 'wrot/olga' });
    expect(await webhookTarget(env.DB, ringOld, 'wrot')).toBe('unreadable');
  });
});
