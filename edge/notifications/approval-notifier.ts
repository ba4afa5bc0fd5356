/**
 * @module ApprovalNotifier: one Durable Object per organisation, the single writer of its webhook
 * deliveries (docs/admin.md, "Webhooks"). `enqueue` stores a notice in D1 (`webhook_deliveries`) and
 * sets the alarm; the alarm delivers what is due, records each attempt and, for a retryable failure,
 * its next time (2 s, 10 s, 1 min, 5 min, 30 min; 6 attempts), then sets itself for the next due row.
 * Everything waiting is in D1 and the alarm in the object's storage, so an eviction or restart loses
 * nothing. Every attempt, and every notice given up without one, is an audit event; an event the
 * audit log could not take is kept in storage and written by the next alarm.
 */
import { DurableObject } from 'cloudflare:workers';
import type { AuditInput } from '../audit/events';
import { type Keyring, parseKeyring } from '../crypto/keyring';
import { newId } from '../crypto/random-id';
import { attemptDelivery, retryAt } from './delivery-attempt';
import { type AttemptAudit, attemptEvent, type NotifierAuditEnv, writeAudit } from './delivery-audit';
import {
  type DeliveryRow,
  dueDeliveries,
  insertDelivery,
  MAX_UNDELIVERED,
  nextDue,
  overCap,
  pruneFinished,
  settleAttempt,
  undelivered,
} from './delivery-store';
import { boundedFacts, type NoticeFacts } from './webhook-payload';
import { hasWebhook, webhookTarget } from './webhook-store';
import { takeTestSlot } from './webhook-test-rate';

interface NotifierEnv extends NotifierAuditEnv {
  DB: D1Database;
  STEPGATE_KEYS?: string;
}

/** Rows attempted per alarm; more due ones run in the next alarm, set at once. */
const PER_ALARM = 10;
/** Audit events kept for a later write when the log is down: bounded, the oldest dropped (and logged). */
const MAX_UNAUDITED = 1000;
/** How soon an alarm comes back to write kept audit events when nothing else is due. */
const AUDIT_RETRY_MS = 60_000;

const parseFacts = (row: DeliveryRow): NoticeFacts | null => {
  try {
    return JSON.parse(row.payload_json) as NoticeFacts;
  } catch {
    return null;
  }
};

export class ApprovalNotifier extends DurableObject<NotifierEnv> {
  private ring: Keyring | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  /** Clock, milliseconds. */
  now: () => number = () => Date.now();

  private get keys(): Keyring {
    this.ring ??= parseKeyring(this.env.STEPGATE_KEYS);
    return this.ring;
  }

  /** Queue a notice for the organisation's webhook; null when it has none (nothing stored). */
  enqueue(org: string, facts: NoticeFacts): Promise<{ delivery: string } | null> {
    // One queueing at a time: the cap is counted and applied without another one in between.
    const run = this.tail.then(() => this.queueOne(org, facts));
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Queue a test notice (`POST …/webhook/test`), at most TESTS_PER_MINUTE a minute per organisation:
   * `retryAfter` (seconds) when over it, counted in this queue so racing tests cannot all pass.
   */
  enqueueTest(org: string, facts: NoticeFacts): Promise<{ delivery: string } | { retryAfter: number } | null> {
    const run = this.tail.then(async () => {
      await this.bindOrg(org);
      const wait = await takeTestSlot(this.ctx.storage, this.now());
      return wait > 0 ? { retryAfter: wait } : this.queueOne(org, facts);
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Deliver (or give up) whatever is due now: after the webhook changed or was deleted. */
  async wake(org: string): Promise<void> {
    await this.bindOrg(org);
    await this.ctx.storage.setAlarm(this.now());
  }

  override async alarm(): Promise<void> {
    const org = await this.ctx.storage.get<string>('org');
    if (!org) return;
    await this.flushKept();
    await this.deliverDue(org);
    const next = await nextDue(this.env.DB, org);
    const stillKept = ((await this.ctx.storage.get<AuditInput[]>('unaudited')) ?? []).length > 0;
    const at = [next, stillKept ? this.now() + AUDIT_RETRY_MS : null].filter((t): t is number => t !== null);
    if (at.length > 0) await this.ctx.storage.setAlarm(Math.max(Math.min(...at), this.now()));
  }

  private async bindOrg(org: string): Promise<void> {
    const bound = await this.ctx.storage.get<string>('org');
    if (bound === undefined) await this.ctx.storage.put('org', org);
    // Why: one object per organisation (idFromName), so a second name here is a programming error, never served.
    else if (bound !== org) throw new Error('ApprovalNotifier: another organisation’s object');
  }

  private async queueOne(org: string, facts: NoticeFacts): Promise<{ delivery: string } | null> {
    await this.bindOrg(org);
    const db = this.env.DB;
    if (!(await hasWebhook(db, org))) return null;
    const now = this.now();
    const events: AuditInput[] = [];
    for (const r of await overCap(db, org, MAX_UNDELIVERED - 1)) {
      const error = `given up: ${MAX_UNDELIVERED} notices undelivered`;
      if (await settleAttempt(db, r, { attempts: r.attempts, next: null, status: error }))
        events.push(attemptEvent(org, r, parseFacts(r), { sent: false, attempt: r.attempts, error, retryAt: null }));
    }
    const id = newId();
    await insertDelivery(db, { id, org, facts: boundedFacts(facts), now });
    await pruneFinished(db, org, now);
    await this.audit(events);
    await this.ctx.storage.setAlarm(now);
    return { delivery: id };
  }

  /** Attempt what is due; with no webhook (deleted) or one that does not open, give every waiting notice up. */
  private async deliverDue(org: string): Promise<void> {
    const db = this.env.DB;
    // A D1 failure here throws: the alarm is retried, and nothing is given up for it.
    const target = await webhookTarget(db, this.keys, org);
    if (target === null || target === 'unreadable') {
      // Fail closed: a secret that does not open signs nothing.
      const why = target === null ? 'no webhook' : 'the webhook does not open (edited without the keyring, or its key retired)';
      const events: AuditInput[] = [];
      for (const r of await undelivered(db, org)) {
        if (await settleAttempt(db, r, { attempts: r.attempts, next: null, status: `given up: ${why}` }))
          events.push(attemptEvent(org, r, parseFacts(r), { sent: false, attempt: r.attempts, error: `given up: ${why}`, retryAt: null }));
      }
      await this.audit(events);
      return;
    }
    for (const row of await dueDeliveries(db, org, this.now(), PER_ALARM)) {
      const facts = parseFacts(row);
      const attempt = row.attempts + 1;
      let a: AttemptAudit;
      if (!facts) a = { sent: false, attempt, error: 'stored notice does not read', retryAt: null };
      else {
        const o = await attemptDelivery(target, facts, row.id, this.now());
        if (o.delivered) a = { sent: true, attempt, status: o.status };
        else {
          const { status, error } = o;
          a = {
            sent: false,
            attempt,
            ...(status === undefined ? {} : { status }),
            ...(error === undefined ? {} : { error }),
            retryAt: o.retryable ? retryAt(attempt, this.now()) : null,
          };
        }
      }
      const status = a.sent ? `delivered ${a.status}` : `failed ${a.status ?? a.error ?? ''}${a.retryAt === null ? ', given up' : ''}`;
      await settleAttempt(db, row, { attempts: attempt, next: a.sent ? null : a.retryAt, status });
      // The attempt happened whatever the row says now (a give-up may have raced it): it is audited.
      await this.audit([attemptEvent(org, row, facts, a)]);
    }
  }

  /** Write events to the audit log; when it fails, keep them for the next alarm (never lost silently, never unbounded). */
  private async audit(events: AuditInput[]): Promise<void> {
    if (events.length === 0) return;
    try {
      await writeAudit(this.env, events);
    } catch (err) {
      console.error(
        'stepgate: notification audit not written yet (kept for the next alarm):',
        err instanceof Error ? err.message : 'non-error',
      );
      const kept = [...((await this.ctx.storage.get<AuditInput[]>('unaudited')) ?? []), ...events];
      if (kept.length > MAX_UNAUDITED) console.error(`stepgate: ${kept.length - MAX_UNAUDITED} notification audit events dropped`);
      await this.ctx.storage.put('unaudited', kept.slice(-MAX_UNAUDITED));
    }
  }

  /** Write the events kept from a failed audit write (they stay kept when it fails again). */
  private async flushKept(): Promise<void> {
    const kept = (await this.ctx.storage.get<AuditInput[]>('unaudited')) ?? [];
    if (kept.length === 0) return;
    try {
      await writeAudit(this.env, kept);
      await this.ctx.storage.delete('unaudited');
    } catch {
      // Kept; the alarm comes back in AUDIT_RETRY_MS.
    }
  }
}
