/**
 * @module An organisation's webhook deliveries in D1 (`webhook_deliveries`, migration 0017): each
 * notice is a row from the moment it is queued, with its attempts, its next attempt time (NULL once
 * delivered or given up) and its last status, so a restart of the notifier loses nothing. Only the
 * organisation's ApprovalNotifier (one per organisation, the single writer of these rows) calls this.
 * Bounded: at most MAX_UNDELIVERED waiting per organisation (the oldest is given up for a new one),
 * and finished rows are kept FINISHED_DAYS and at most MAX_FINISHED per organisation. "Oldest" is the
 * order of queueing: `created_at`, then `rowid` (insertion order) for notices queued in the same millisecond.
 */
import type { NoticeFacts } from './webhook-payload';

export const MAX_UNDELIVERED = 100;
const FINISHED_DAYS = 7;
const MAX_FINISHED = 500;

export interface DeliveryRow {
  id: string;
  org_id: string;
  event: string;
  approval_id: string | null;
  payload_json: string;
  attempts: number;
  next_attempt_at: number | null;
  last_status: string | null;
  created_at: number;
}

/** Queue a notice, due at once. */
export async function insertDelivery(db: D1Database, o: { id: string; org: string; facts: NoticeFacts; now: number }): Promise<void> {
  await db
    .prepare(
      'INSERT INTO webhook_deliveries (id, org_id, event, approval_id, payload_json, attempts, next_attempt_at, last_status, created_at) ' +
        'VALUES (?, ?, ?, ?, ?, 0, ?, NULL, ?)',
    )
    .bind(o.id, o.org, o.facts.event, o.facts.approval.id, JSON.stringify(o.facts), o.now, o.now)
    .run();
}

/** The undelivered rows beyond the newest `keep`, oldest first: the ones to give up before a new one is queued. */
export async function overCap(db: D1Database, org: string, keep: number): Promise<DeliveryRow[]> {
  const { results } = await db
    .prepare(
      'SELECT * FROM webhook_deliveries WHERE org_id = ? AND next_attempt_at IS NOT NULL ' +
        'ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?',
    )
    .bind(org, keep)
    .all<DeliveryRow>();
  return results.reverse();
}

/** Rows due at `now`, oldest first, at most `limit`. */
export async function dueDeliveries(db: D1Database, org: string, now: number, limit: number): Promise<DeliveryRow[]> {
  const { results } = await db
    .prepare(
      'SELECT * FROM webhook_deliveries WHERE org_id = ? AND next_attempt_at IS NOT NULL AND next_attempt_at <= ? ' +
        'ORDER BY next_attempt_at, created_at, rowid LIMIT ?',
    )
    .bind(org, now, limit)
    .all<DeliveryRow>();
  return results;
}

/** Every undelivered row (at most MAX_UNDELIVERED), e.g. to give them up when the webhook is gone. */
export async function undelivered(db: D1Database, org: string): Promise<DeliveryRow[]> {
  const { results } = await db
    .prepare('SELECT * FROM webhook_deliveries WHERE org_id = ? AND next_attempt_at IS NOT NULL ORDER BY created_at, rowid LIMIT ?')
    .bind(org, MAX_UNDELIVERED * 2)
    .all<DeliveryRow>();
  return results;
}

/**
 * Record an attempt (or a give-up): compare-and-swap on the attempts seen, and only while it waits,
 * so a row is never written twice for one attempt and a row given up stays given up. `next` null:
 * delivered or given up.
 */
export async function settleAttempt(
  db: D1Database,
  row: Pick<DeliveryRow, 'id' | 'attempts'>,
  o: { attempts: number; next: number | null; status: string },
): Promise<boolean> {
  const r = await db
    .prepare(
      'UPDATE webhook_deliveries SET attempts = ?, next_attempt_at = ?, last_status = ? ' +
        'WHERE id = ? AND attempts = ? AND next_attempt_at IS NOT NULL',
    )
    .bind(o.attempts, o.next, o.status.slice(0, 200), row.id, row.attempts)
    .run();
  return r.meta.changes > 0;
}

/** When the organisation's next attempt is due, or null when nothing waits. */
export async function nextDue(db: D1Database, org: string): Promise<number | null> {
  const r = await db
    .prepare('SELECT MIN(next_attempt_at) AS t FROM webhook_deliveries WHERE org_id = ? AND next_attempt_at IS NOT NULL')
    .bind(org)
    .first<{ t: number | null }>();
  return r?.t ?? null;
}

/** Forget finished rows older than FINISHED_DAYS, and beyond the newest MAX_FINISHED (their attempts are in the audit log). */
export async function pruneFinished(db: D1Database, org: string, now: number): Promise<void> {
  await db.batch([
    db
      .prepare('DELETE FROM webhook_deliveries WHERE org_id = ? AND next_attempt_at IS NULL AND created_at < ?')
      .bind(org, now - FINISHED_DAYS * 86_400_000),
    db
      .prepare(
        'DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries WHERE org_id = ? AND next_attempt_at IS NULL ' +
          'ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?)',
      )
      .bind(org, MAX_FINISHED),
  ]);
}
