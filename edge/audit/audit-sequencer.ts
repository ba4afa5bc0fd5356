/**
 * @module AuditSequencer: one Durable Object per tenant, the single writer of its audit chain. It
 * assigns sequence numbers and chain hashes, seals each event, and resolves an append only once the
 * rows are in D1 — so concurrent writers never fork the chain, and a caller that sees `append`
 * fail does not forward. Appends that arrive while a write is in flight are committed together
 * in the next D1 batch (group commit), which is what keeps throughput up under load; while appends
 * keep coming, the next batch waits `GROUP_COMMIT_LINGER_MS` for those already on their way.
 *
 * Denials that forward nothing are folded rather than stored one by one (`DenialFolding`, in
 * denial-folding.ts); the alarm writes each closed window's summaries and retries until they are
 * durable.
 */
import { DurableObject } from 'cloudflare:workers';
import { base64url } from '../crypto/base64';
import { parseKeyring, type Keyring } from '../crypto/keyring';
import { DEFAULT_AUDIT_ORG, eventHash, GENESIS, orgColumn, sealedColumns, type AuditRow, type ChainPoint } from './audit-chain';
import { boundInput } from './bounds';
import type { CheckpointKind } from './checkpoint';
import { checkpointStatement, latestCheckpointSeq } from './checkpoint-store';
import { DenialFolding, isFoldedDenial } from './denial-folding';
import type { AuditEvent, AuditInput } from './events';

/** A count checkpoint is signed into the same batch whenever the chain crosses a multiple of this. */
export const CHECKPOINT_EVERY = 1000;
/** At most this many events per D1 batch; more wait for the next. */
const MAX_BATCH = 100;
/**
 * When a batch is committed and more appends wait, the next batch waits this long (ms) before it
 * takes them, so that appends already on their way (the RPCs queued behind the commit's answer, the
 * `request.forwarded` of requests just let through) join it. A D1 batch costs far more than an event
 * in it (docs/benchmarks.md, "Protected routes": 1.28× the throughput at 16 connections); an append
 * to an idle sequencer never waits.
 */
export const GROUP_COMMIT_LINGER_MS = 1;

/** The statement that stores a new row (D1: here, not in audit-chain.ts, which the Node CLI also runs). */
const insertRowStatement = (db: D1Database, r: AuditRow): D1PreparedStatement =>
  db
    .prepare(
      'INSERT INTO audit_events (tenant, seq, ts, type, outcome, app, org, app_id, actor_ref, ' +
        'ip_ref, kid, sealed, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    )
    .bind(r.tenant, r.seq, r.ts, r.type, r.outcome, r.app, r.org, r.app_id, r.actor_ref, r.ip_ref, r.kid, r.sealed, r.prev_hash, r.hash);

interface SequencerEnv {
  DB: D1Database;
  STEPGATE_KEYS?: string;
}

interface Pending {
  inputs: AuditInput[];
  resolve(seqs: number[]): void;
  reject(err: unknown): void;
}

export class AuditSequencer extends DurableObject<SequencerEnv> {
  private tenant: string | null = null;
  private head: ChainPoint | null = null;
  /** Time (ms) of the head event: event times never decrease along the chain. */
  private headTs = 0;
  private pending: Pending[] = [];
  private flushing = false;
  private ring: Keyring | null = null;
  private denialStore: DenialFolding | null = null;
  /** Clock of the denial windows, milliseconds. Injectable for tests. */
  now: () => number = () => Date.now();

  /** Append events in order; resolves with their sequence numbers once they are durable in D1. */
  append(tenant: string, inputs: AuditInput[]): Promise<number[]> {
    this.bind(tenant);
    if (inputs.length === 0) return Promise.resolve([]);
    if (inputs.length > MAX_BATCH) {
      // Queued in order, one D1 batch each, so no batch grows past the limit.
      const parts: Promise<number[]>[] = [];
      for (let i = 0; i < inputs.length; i += MAX_BATCH) parts.push(this.append(tenant, inputs.slice(i, i + MAX_BATCH)));
      // Every part is awaited (allSettled), so a second failing part is not an unhandled rejection.
      return Promise.allSettled(parts).then((r) => {
        const failed = r.find((x) => x.status === 'rejected');
        if (failed) throw failed.reason;
        return r.flatMap((x) => (x as PromiseFulfilledResult<number[]>).value);
      });
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ inputs: inputs.map(boundInput), resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /**
   * Append events that need not be durable before the answer: those written after the response,
   * and refusals that forward nothing. Folded denials among them (`isFoldedDenial`) are folded per
   * client (the first of a window in full, the rest counted into the window's
   * `request.denied_summary`); the others are appended as `append` does. Resolves once what is
   * written in full is durable, and what is counted is in this object's storage.
   */
  async appendLater(tenant: string, inputs: AuditInput[]): Promise<void> {
    this.bind(tenant);
    const writes: Promise<unknown>[] = [];
    const rest: AuditInput[] = [];
    for (const input of inputs) {
      if (isFoldedDenial(input)) writes.push(this.fold(tenant, input));
      else rest.push(input);
    }
    if (rest.length > 0) writes.push(this.append(tenant, rest));
    const failed = (await Promise.allSettled(writes)).find((x) => x.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Write the summaries of every closed denial window (retried by the runtime until they are durable), then wait for the open one. */
  override async alarm(): Promise<void> {
    for (let w = this.denials.closedWindow(this.now()); w; w = this.denials.closedWindow(this.now())) {
      this.bind(w.tenant);
      const events = this.denials.summaries(w);
      try {
        if (events.length > 0) await this.append(w.tenant, events);
      } catch (err) {
        console.error(
          'stepgate: audit denial summary not written yet (the alarm retries):',
          err instanceof Error ? err.message : 'non-error',
        );
        throw err;
      }
      this.denials.forget(w.id);
    }
    const open = this.denials.openUntil();
    if (open !== null) await this.ctx.storage.setAlarm(open);
  }

  /** The chain head (sequence and hash) this sequencer last made durable. */
  async currentHead(tenant: string): Promise<ChainPoint> {
    this.bind(tenant);
    return this.loadHead();
  }

  /** Sign a checkpoint of the current head (if there is one newer than the last checkpoint). */
  async checkpoint(tenant: string, kind: CheckpointKind = 'periodic'): Promise<ChainPoint | null> {
    this.bind(tenant);
    // The head only ever moves once its rows are in D1, so it is durable whenever it is read.
    const head = await this.loadHead();
    if (head.seq === 0) return null;
    if (kind === 'periodic' && (await latestCheckpointSeq(this.env.DB, tenant)) === head.seq) return null;
    await this.env.DB.batch([await checkpointStatement(this.env.DB, this.ring!, tenant, head, kind, Date.now())]);
    return head;
  }

  /**
   * Remember the configuration the edge enforces; when the policy or the primary key changed since
   * the last time, record it (policy.changed, keys.rotated). Called once per isolate.
   */
  async noteConfig(tenant: string, policyHash: string, primaryKid: string): Promise<void> {
    this.bind(tenant);
    const seen = (await this.ctx.storage.get<{ policy: string; kid: string }>('config')) ?? null;
    const events: AuditInput[] = [];
    if (seen?.policy !== policyHash) {
      events.push({
        type: 'policy.changed',
        outcome: 'info',
        actor: null,
        via: 'system',
        details: { from: seen?.policy ?? null, to: policyHash },
      });
    }
    if (seen && seen.kid !== primaryKid) {
      events.push({ type: 'keys.rotated', outcome: 'info', actor: null, via: 'system', details: { from: seen.kid, to: primaryKid } });
    }
    if (events.length === 0) return;
    await this.append(tenant, events);
    await this.ctx.storage.put('config', { policy: policyHash, kid: primaryKid });
  }

  /** The folding tables in this object's storage. */
  private get denials(): DenialFolding {
    if (!this.denialStore) this.denialStore = new DenialFolding(this.ctx.storage.sql);
    return this.denialStore;
  }

  /** Count a folded denial (`DenialFolding.count`); append it when it is the first of its kind in the window. */
  private fold(tenant: string, raw: AuditInput): Promise<unknown> {
    const input = boundInput(raw);
    const c = this.denials.count(tenant, input, this.now());
    const write = c.full
      ? this.append(tenant, [input]).catch((err: unknown) => {
          this.denials.unrecord(c.win, c.key);
          throw err;
        })
      : null;
    return Promise.all([write, c.alarmBy !== null ? this.alarmBy(c.alarmBy) : null]);
  }

  /** Make sure the alarm fires by `t`. */
  private async alarmBy(t: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > t) await this.ctx.storage.setAlarm(t);
  }

  private bind(tenant: string): void {
    if (this.tenant === null) this.tenant = tenant;
    else if (this.tenant !== tenant) throw new Error('audit sequencer: one tenant per object');
    this.ring ??= parseKeyring(this.env.STEPGATE_KEYS);
  }

  /**
   * The head: D1's last row, unless this object remembers a later one — then rows were cut off the
   * end of the chain, and new rows continue after the remembered head so `verify` shows the gap.
   */
  private async loadHead(): Promise<ChainPoint> {
    if (this.head) return this.head;
    const last = await this.env.DB.prepare('SELECT seq, hash, ts FROM audit_events WHERE tenant = ? ORDER BY seq DESC LIMIT 1')
      .bind(this.tenant)
      .first<ChainPoint & { ts: number }>();
    const remembered = (await this.ctx.storage.get<ChainPoint & { ts?: number }>('head')) ?? null;
    // An append may have moved the head while this load waited: never go back behind it.
    if (this.head) return this.head;
    const useRemembered = remembered !== null && remembered.seq > (last?.seq ?? 0);
    const head = useRemembered
      ? { seq: remembered.seq, hash: remembered.hash }
      : last
        ? { seq: last.seq, hash: last.hash }
        : { seq: 0, hash: GENESIS };
    this.headTs = Math.max(last?.ts ?? 0, remembered?.ts ?? 0);
    this.head = head;
    return head;
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      for (let busy = false; this.pending.length > 0; busy = true) {
        // Busy: let the appends on their way join this batch (not the first batch of a flush: an idle append never waits).
        if (busy) await new Promise((resolve) => setTimeout(resolve, GROUP_COMMIT_LINGER_MS));
        const group: Pending[] = [];
        let n = 0;
        while (this.pending.length > 0 && (n === 0 || n + this.pending[0]!.inputs.length <= MAX_BATCH)) {
          const p = this.pending.shift()!;
          group.push(p);
          n += p.inputs.length;
        }
        try {
          const seqs = await this.write(group.flatMap((p) => p.inputs));
          let i = 0;
          for (const p of group) {
            p.resolve(seqs.slice(i, i + p.inputs.length));
            i += p.inputs.length;
          }
        } catch (err) {
          for (const p of group) p.reject(err);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async write(inputs: AuditInput[]): Promise<number[]> {
    const db = this.env.DB;
    const ring = this.ring!;
    const tenant = this.tenant!;
    const start = await this.loadHead();
    let { seq, hash } = start;
    const now = Date.now();
    // Event times never go backwards along the chain (a clock step back is absorbed), so a time
    // range is always a sequence range: the read side relies on it.
    let floor = this.headTs;
    const rows: AuditRow[] = [];
    for (const input of inputs) {
      seq += 1;
      const { ts, ...rest } = input;
      floor = Math.max(floor, ts ?? now);
      const event: AuditEvent = {
        v: 1,
        id: crypto.randomUUID(),
        tenant,
        seq,
        time: new Date(floor).toISOString(),
        ...rest,
        app: input.app ?? null,
        // Every event belongs to one organisation: the deployment's own ("default") unless named.
        org: input.org ?? DEFAULT_AUDIT_ORG,
        app_id: input.app_id ?? null,
        salt: base64url(crypto.getRandomValues(new Uint8Array(16))),
      };
      const prev = hash;
      hash = await eventHash(prev, event);
      rows.push({
        tenant,
        seq,
        ts: Date.parse(event.time),
        type: event.type,
        outcome: event.outcome,
        app: event.app ?? null,
        org: orgColumn(event.org),
        app_id: event.app_id ?? null,
        ...(await sealedColumns(ring, tenant, seq, event)),
        prev_hash: prev,
        hash,
      });
    }
    const statements = rows.map((r) => insertRowStatement(db, r));
    const end: ChainPoint = { seq, hash };
    if (Math.floor(start.seq / CHECKPOINT_EVERY) !== Math.floor(end.seq / CHECKPOINT_EVERY)) {
      statements.push(await checkpointStatement(db, ring, tenant, end, 'count', now));
    }
    try {
      await db.batch(statements);
    } catch (err) {
      // D1 is the system of record: re-read the head from it next time.
      this.head = null;
      throw err;
    }
    this.head = end;
    this.headTs = floor;
    await this.ctx.storage.put('head', { ...end, ts: floor });
    return rows.map((r) => r.seq);
  }
}
