/**
 * @module An organisation's webhook in D1 (`org_webhooks`, migration 0017): one per organisation, its
 * URL and signing secret sealed (edge/audit/webhook-reencryption.ts says why the URL too), who set it
 * sealed beside. The secret is made here and given to the caller once; nothing reads it back out
 * except the delivery (approval-notifier.ts), which signs with it.
 */
import { open, seal } from '../crypto/aead';
import { base64url } from '../crypto/base64';
import type { Keyring } from '../crypto/keyring';
import { webhookEditorAad, webhookSecretAad, webhookUrlAad } from '../audit/webhook-reencryption';

export type WebhookFormat = 'json' | 'slack';
export const WEBHOOK_FORMATS: readonly WebhookFormat[] = ['json', 'slack'];

/** What an administrator reads of the webhook: never its secret. */
export interface WebhookView {
  url: string;
  format: WebhookFormat;
  createdAt: number;
  updatedAt: number;
  /** Stepgate's key for who set it, or null when it does not open. */
  updatedBy: string | null;
}

/** What a delivery needs: where, in which shape, and the secret it signs with. */
export interface WebhookTarget {
  url: string;
  format: WebhookFormat;
  secret: string;
}

interface Row {
  url: string;
  format: WebhookFormat;
  secret_sealed: string;
  created_at: number;
  updated_at: number;
  updated_by_sealed: string | null;
}

/** A new signing secret: `whsec_` and 32 random bytes, base64url. */
export const newWebhookSecret = (): string => `whsec_${base64url(crypto.getRandomValues(new Uint8Array(32)))}`;

const readRow = (db: D1Database, org: string) =>
  db
    .prepare('SELECT url, format, secret_sealed, created_at, updated_at, updated_by_sealed FROM org_webhooks WHERE org_id = ?')
    .bind(org)
    .first<Row>();

/** Whether the organisation has a webhook: one primary-key read. */
export async function hasWebhook(db: D1Database, org: string): Promise<boolean> {
  return (await db.prepare('SELECT 1 AS x FROM org_webhooks WHERE org_id = ?').bind(org).first()) !== null;
}

/**
 * The organisation's webhook as administrators read it, or null.
 *
 * @throws {Error} when its URL does not open (edited in D1 without the keyring, or a retired key)
 */
export async function getWebhook(db: D1Database, ring: Keyring, org: string): Promise<WebhookView | null> {
  const r = await readRow(db, org);
  if (!r) return null;
  const updatedBy =
    r.updated_by_sealed === null ? null : await open(ring, 'factor-metadata', r.updated_by_sealed, webhookEditorAad(org)).catch(() => null);
  return {
    url: await open(ring, 'factor-metadata', r.url, webhookUrlAad(org)),
    format: r.format,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    updatedBy,
  };
}

/**
 * Where and how to deliver, with the secret opened; null when there is no webhook; 'unreadable' when
 * it does not open (moved between organisations, edited without the keyring, its key retired):
 * nothing is then sent, never unsigned. A D1 failure throws (the caller retries later).
 */
export async function webhookTarget(db: D1Database, ring: Keyring, org: string): Promise<WebhookTarget | null | 'unreadable'> {
  const r = await readRow(db, org);
  if (!r) return null;
  try {
    return {
      url: await open(ring, 'factor-metadata', r.url, webhookUrlAad(org)),
      format: r.format,
      secret: await open(ring, 'factor-metadata', r.secret_sealed, webhookSecretAad(org)),
    };
  } catch {
    return 'unreadable';
  }
}

/** Set the organisation's webhook (a new secret every time: the answer of this call is the only place it is shown). */
export async function putWebhook(
  db: D1Database,
  ring: Keyring,
  o: { org: string; url: string; format: WebhookFormat; by: string; now: number },
): Promise<{ secret: string; created: boolean }> {
  const secret = newWebhookSecret();
  const sealedUrl = await seal(ring, 'factor-metadata', o.url, webhookUrlAad(o.org));
  const sealedSecret = await seal(ring, 'factor-metadata', secret, webhookSecretAad(o.org));
  const sealedBy = await seal(ring, 'factor-metadata', o.by, webhookEditorAad(o.org));
  const before = await db.prepare('SELECT 1 AS x FROM org_webhooks WHERE org_id = ?').bind(o.org).first();
  // One statement decides it, so racing PUTs leave exactly one webhook (the last one written) and one secret that signs.
  await db
    .prepare(
      'INSERT INTO org_webhooks (org_id, url, format, secret_sealed, created_at, updated_at, updated_by_sealed) ' +
        'VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6) ON CONFLICT (org_id) DO UPDATE SET url = excluded.url, format = excluded.format, ' +
        'secret_sealed = excluded.secret_sealed, updated_at = excluded.updated_at, updated_by_sealed = excluded.updated_by_sealed',
    )
    .bind(o.org, sealedUrl, o.format, sealedSecret, o.now, sealedBy)
    .run();
  return { secret, created: before === null };
}

/** Remove the organisation's webhook; whether there was one. Its undelivered notices are given up by the notifier. */
export async function deleteWebhook(db: D1Database, org: string): Promise<boolean> {
  const r = await db.prepare('DELETE FROM org_webhooks WHERE org_id = ?').bind(org).run();
  return r.meta.changes > 0;
}
