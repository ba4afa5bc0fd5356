/**
 * @module AuditSequencer: one Durable Object per tenant assigns audit sequence numbers and chain
 * hashes, so concurrent writers can never fork the chain. A record is durable (in D1) before
 * `append` resolves; if D1 refuses it, `append` throws and the caller fails closed.
 */
import { DurableObject } from 'cloudflare:workers';
import { seal } from '../crypto/aead';
import { blindIndex } from '../crypto/blind-index';
import { parseKeyring, type Keyring } from '../crypto/keyring';
import { chainHash, GENESIS, type AuditRow } from './audit-chain';

/** One decision to record. `details` are sealed; only type, outcome, time and the actor's blind index stay searchable. */
export interface AuditInput {
  type: string;
  outcome: 'success' | 'failure' | 'denied' | 'info';
  /** The person (user id); stored only as a blind index. */
  actor?: string;
  details: Record<string, unknown>;
  /** Milliseconds; defaults to now. */
  ts?: number;
}

interface SequencerEnv {
  DB: D1Database;
  STEPGATE_KEYS?: string;
}

export class AuditSequencer extends DurableObject<SequencerEnv> {
  private head: { seq: number; hash: string } | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private ring: Keyring | null = null;

  /** Append events in order; resolves with their sequence numbers once they are in D1. */
  append(tenant: string, events: AuditInput[]): Promise<number[]> {
    // Why: D1 calls are I/O, during which the object takes other calls; a queue keeps one writer.
    const run = this.queue.then(() => this.appendNow(tenant, events));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async appendNow(tenant: string, events: AuditInput[]): Promise<number[]> {
    const db = this.env.DB;
    this.ring ??= parseKeyring(this.env.STEPGATE_KEYS);
    const ring = this.ring;
    if (!this.head) {
      const last = await db.prepare('SELECT seq, hash FROM audit_events WHERE tenant = ? ORDER BY seq DESC LIMIT 1').bind(tenant).first<{ seq: number; hash: string }>();
      this.head = last ?? { seq: 0, hash: GENESIS };
    }
    let { seq, hash } = this.head;
    const rows: AuditRow[] = [];
    for (const e of events) {
      seq += 1;
      const base = {
        tenant,
        seq,
        ts: e.ts ?? Date.now(),
        type: e.type,
        outcome: e.outcome,
        actor_ref: e.actor === undefined ? null : await blindIndex(ring, 'user', e.actor),
        kid: ring.primary,
        sealed: await seal(ring, 'audit-encryption', JSON.stringify(e.details), `${tenant}|${seq}|${e.type}`),
        prev_hash: hash,
      };
      hash = await chainHash(ring, base);
      rows.push({ ...base, hash });
    }
    try {
      await db.batch(
        rows.map((r) =>
          db
            .prepare('INSERT INTO audit_events (tenant, seq, ts, type, outcome, actor_ref, kid, sealed, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
            .bind(r.tenant, r.seq, r.ts, r.type, r.outcome, r.actor_ref, r.kid, r.sealed, r.prev_hash, r.hash),
        ),
      );
    } catch (err) {
      // Re-read the head from D1 next time: it is the system of record.
      this.head = null;
      throw err;
    }
    this.head = { seq, hash };
    return rows.map((r) => r.seq);
  }
}
