/**
 * @module Organisation webhooks (`org_webhooks`, migration 0017, edge/notifications/) under the primary
 * key: what each sealed column is bound to, and their re-encryption, a batch per maintenance run
 * (reencryption.ts calls it). The URL is sealed as well as the signing secret, because a chat tool's
 * incoming-webhook URL is itself a credential. Each row is moved by compare-and-swap on its sealed
 * values, so a PUT racing it is never lost.
 */
import { open, seal } from '../crypto/aead';
import type { Keyring } from '../crypto/keyring';
import { sealedKidSql } from './key-status';

/** The webhook's signing secret (`org_webhooks.secret_sealed`), bound to the organisation: it cannot be moved to another. */
export const webhookSecretAad = (org: string): string => `webhook-secret|${org}`;
/** The webhook's URL (`org_webhooks.url`), bound to the organisation. */
export const webhookUrlAad = (org: string): string => `webhook-url|${org}`;
/** Who set the webhook (`org_webhooks.updated_by_sealed`), bound to the organisation. */
export const webhookEditorAad = (org: string): string => `webhook-by|${org}`;

/** Rows moved per run. */
const BATCH = 200;

interface Row {
  org_id: string;
  url: string;
  secret_sealed: string;
  updated_by_sealed: string | null;
}

/** Move a batch of webhooks to the primary key; `known` is the SQL list of the ring's key ids. Returns the rows moved. */
export async function rekeyWebhooks(rt: { db: D1Database; keys: Keyring }, known: string): Promise<number> {
  const { db, keys } = rt;
  const { results } = await db
    .prepare(
      'SELECT org_id, url, secret_sealed, updated_by_sealed FROM org_webhooks ' +
        `WHERE ${sealedKidSql('url')} IN (${known}) AND ${sealedKidSql('secret_sealed')} IN (${known}) ` +
        `AND (updated_by_sealed IS NULL OR ${sealedKidSql('updated_by_sealed')} IN (${known})) ` +
        'AND (url NOT LIKE ?1 OR secret_sealed NOT LIKE ?1 OR updated_by_sealed NOT LIKE ?1) LIMIT ?2',
    )
    .bind(`v1.${keys.primary}.%`, BATCH)
    .all<Row>();
  let n = 0;
  for (const r of results) {
    try {
      const reseal = async (sealed: string, aad: string) =>
        seal(keys, 'factor-metadata', await open(keys, 'factor-metadata', sealed, aad), aad);
      const moved = await db
        .prepare(
          'UPDATE org_webhooks SET url = ?, secret_sealed = ?, updated_by_sealed = ? ' +
            'WHERE org_id = ? AND url = ? AND secret_sealed = ? AND updated_by_sealed IS ?',
        )
        .bind(
          await reseal(r.url, webhookUrlAad(r.org_id)),
          await reseal(r.secret_sealed, webhookSecretAad(r.org_id)),
          r.updated_by_sealed === null ? null : await reseal(r.updated_by_sealed, webhookEditorAad(r.org_id)),
          r.org_id,
          r.url,
          r.secret_sealed,
          r.updated_by_sealed,
        )
        .run();
      n += moved.meta.changes;
    } catch (err) {
      console.error('stepgate: re-encryption skipped an org_webhooks row:', err instanceof Error ? err.message : 'non-error');
    }
  }
  return n;
}
