/**
 * @module AuditSequencer: one Durable Object per tenant, the single writer of its audit chain. It
 * assigns sequence numbers and chain hashes, seals each event, and resolves an append only once the
 * rows are in D1 — so concurrent writers never fork the chain, and a caller that sees `append`
 * fail does not forward. Appends that arrive while a write is in flight are committed together
 * in the next D1 batch (group commit), which is what keeps throughput up under load.
 *
 * Anonymous denials (no, invalid or ambiguous identity) forward nothing and cost an attacker
 * nothing, so they are folded rather than stored one by one: per window, the first of each client
 * (IP, reason, rule) is written in full and the rest are counted, in a bounded table in this
 * object's own SQLite storage; clients past the table share one "other clients" bucket. The alarm
 * writes the counts as `request.denied_summary` events when the window closes, and retries until
 * they are durable (docs/audit.md, "Anonymous denials").
 */
import { DurableObject } from 'cloudflare:workers';
import { base64url } from '../../shared/canonical-action';
import { seal } from '../crypto/aead';
import { blindIndex } from '../crypto/blind-index';
import { parseKeyring, type Keyring } from '../crypto/keyring';
import { eventAad, eventHash, GENESIS, type AuditRow, type ChainPoint } from './audit-chain';
import { boundInput } from './bounds';
import { signCheckpoint, type CheckpointKind } from './checkpoint';
import type { AuditEvent, AuditInput, AuditRequest } from './events';

/** A count checkpoint is signed into the same batch whenever the chain crosses a multiple of this. */
export const CHECKPOINT_EVERY = 1000;
/** At most this many events per D1 batch; more wait for the next. */
const MAX_BATCH = 100;

/** Anonymous denials are folded per window of this length. */
export const DENIAL_WINDOW_MS = 60_000;
/** Clients (IP, reason, rule) with an entry of their own per window; later ones go to "other clients". */
export const DENIAL_CLIENTS = 32;
/** Reason and rule pairs the "other clients" bucket counts apart; past them, all under "* *". */
export const DENIAL_OTHER_PAIRS = 16;
/** Distinct other clients counted per window; counting stops there. */
export const DENIAL_OTHER_CLIENTS_COUNTED = 1000;

/** An event the sequencer folds (`appendLater`): a denial without a person. */
export const isFoldedDenial = (e: AuditInput): boolean => e.type === 'request.denied' && e.actor === null;

const DENIAL_SCHEMA = [
  'CREATE TABLE IF NOT EXISTS denial_windows (id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, starts_at INTEGER NOT NULL, ends_at INTEGER NOT NULL, closed INTEGER NOT NULL DEFAULT 0)',
  // One row per client (other = 0) or per reason/rule pair of the other clients (other = 1).
  'CREATE TABLE IF NOT EXISTS denial_counts (win INTEGER NOT NULL, key TEXT NOT NULL, other INTEGER NOT NULL, reason TEXT, rule TEXT, app TEXT, request TEXT, denied INTEGER NOT NULL, recorded INTEGER NOT NULL, PRIMARY KEY (win, key))',
  'CREATE TABLE IF NOT EXISTS denial_clients (win INTEGER NOT NULL, ip TEXT NOT NULL, PRIMARY KEY (win, ip))',
];

type DenialWindow = {
  id: number;
  tenant: string;
  starts_at: number;
  ends_at: number;
};

type DenialCount = {
  other: number;
  reason: string | null;
  rule: string | null;
  app: string | null;
  request: string | null;
  denied: number;
  recorded: number;
};

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
  private denialSchema = false;
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
   * Append events written after the response, which nothing waits on. Anonymous denials among them
   * are folded per client (the first of a window in full, the rest counted into the window's
   * `request.denied_summary`); the others are appended as `append` does. Resolves once what is
   * written in full is durable.
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
    const sql = this.denialSql();
    for (;;) {
      sql.exec('UPDATE denial_windows SET closed = 1 WHERE closed = 0 AND ends_at <= ?', this.now());
      const w = sql.exec<DenialWindow>('SELECT id, tenant, starts_at, ends_at FROM denial_windows WHERE closed = 1 ORDER BY id LIMIT 1').toArray()[0];
      if (!w) break;
      this.bind(w.tenant);
      const events = this.denialSummaries(w);
      try {
        if (events.length > 0) await this.append(w.tenant, events);
      } catch (err) {
        console.error('stepgate: audit denial summary not written yet (the alarm retries):', err instanceof Error ? err.message : 'non-error');
        throw err;
      }
      sql.exec('DELETE FROM denial_counts WHERE win = ?', w.id);
      sql.exec('DELETE FROM denial_clients WHERE win = ?', w.id);
      sql.exec('DELETE FROM denial_windows WHERE id = ?', w.id);
    }
    const open = sql.exec<{ ends_at: number }>('SELECT ends_at FROM denial_windows WHERE closed = 0').toArray()[0];
    if (open) await this.ctx.storage.setAlarm(open.ends_at);
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
    const last = await this.env.DB.prepare('SELECT MAX(seq) AS seq FROM audit_checkpoints WHERE tenant = ?').bind(tenant).first<{ seq: number | null }>();
    if (kind === 'periodic' && last?.seq === head.seq) return null;
    await this.env.DB.batch([await this.checkpointStatement(head, kind, Date.now())]);
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
      events.push({ type: 'policy.changed', outcome: 'info', actor: null, via: 'system', details: { from: seen?.policy ?? null, to: policyHash } });
    }
    if (seen && seen.kid !== primaryKid) {
      events.push({ type: 'keys.rotated', outcome: 'info', actor: null, via: 'system', details: { from: seen.kid, to: primaryKid } });
    }
    if (events.length === 0) return;
    await this.append(tenant, events);
    await this.ctx.storage.put('config', { policy: policyHash, kid: primaryKid });
  }

  /** The denial tables, created on first use (an object that only appends never has them). */
  private denialSql(): SqlStorage {
    const sql = this.ctx.storage.sql;
    if (!this.denialSchema) {
      for (const s of DENIAL_SCHEMA) sql.exec(s);
      this.denialSchema = true;
    }
    return sql;
  }

  /**
   * Count an anonymous denial in the open window (opening one if needed). The first of a client
   * (IP, reason, rule) in the window is appended in full; past `DENIAL_CLIENTS` clients, it goes
   * to the "other clients" bucket. Everything up to the append is synchronous, so the object's
   * order of arrival is the order in the chain.
   */
  private fold(tenant: string, raw: AuditInput): Promise<unknown> {
    const input = boundInput(raw);
    const sql = this.denialSql();
    const now = this.now();
    const alarms: number[] = [];
    let win = sql.exec<DenialWindow>('SELECT id, tenant, starts_at, ends_at FROM denial_windows WHERE closed = 0').toArray()[0];
    if (win && now >= win.ends_at) {
      // Over: the alarm writes its summary, now rather than at the next window's end.
      sql.exec('UPDATE denial_windows SET closed = 1 WHERE id = ?', win.id);
      alarms.push(now);
      win = undefined;
    }
    if (!win) {
      const id = sql.exec<{ id: number }>('INSERT INTO denial_windows (tenant, starts_at, ends_at) VALUES (?, ?, ?) RETURNING id', tenant, now, now + DENIAL_WINDOW_MS).one().id;
      win = { id, tenant, starts_at: now, ends_at: now + DENIAL_WINDOW_MS };
      alarms.push(win.ends_at);
    }
    const ip = input.request?.ip ?? null;
    const reason = input.reason ?? null;
    const rule = input.rule ?? null;
    const key = JSON.stringify([ip, reason, rule]);
    let write: Promise<unknown> = Promise.resolve();
    const counted = sql.exec('UPDATE denial_counts SET denied = denied + 1 WHERE win = ? AND key = ? RETURNING denied', win.id, key).toArray().length > 0;
    if (!counted) {
      const clients = sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM denial_counts WHERE win = ? AND other = 0', win.id).one().n;
      if (clients < DENIAL_CLIENTS) {
        sql.exec(
          'INSERT INTO denial_counts (win, key, other, reason, rule, app, request, denied, recorded) VALUES (?, ?, 0, ?, ?, ?, ?, 1, 1)',
          win.id,
          key,
          reason,
          rule,
          input.app ?? null,
          input.request ? JSON.stringify(input.request) : null,
        );
        const id = win.id;
        write = this.append(tenant, [input]).catch((err: unknown) => {
          // Not recorded after all: the summary counts it as folded instead.
          sql.exec('UPDATE denial_counts SET recorded = 0 WHERE win = ? AND key = ?', id, key);
          throw err;
        });
      } else {
        this.foldOther(win.id, ip, reason, rule);
      }
    }
    return Promise.all([write, alarms.length > 0 ? this.alarmBy(Math.min(...alarms)) : null]);
  }

  /** Count a denial of a client past the table: per reason and rule (at most `DENIAL_OTHER_PAIRS`), and its IP among the distinct ones. */
  private foldOther(win: number, ip: string | null, reason: string | null, rule: string | null): void {
    const sql = this.denialSql();
    sql.exec(
      'INSERT OR IGNORE INTO denial_clients (win, ip) SELECT ?, ? WHERE (SELECT COUNT(*) FROM denial_clients WHERE win = ?) < ?',
      win,
      ip ?? '',
      win,
      DENIAL_OTHER_CLIENTS_COUNTED,
    );
    let key = JSON.stringify(['other', reason, rule]);
    if (sql.exec('UPDATE denial_counts SET denied = denied + 1 WHERE win = ? AND key = ? RETURNING denied', win, key).toArray().length > 0) return;
    const pairs = sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM denial_counts WHERE win = ? AND other = 1', win).one().n;
    if (pairs >= DENIAL_OTHER_PAIRS) [key, reason, rule] = [JSON.stringify(['other', '*', '*']), '*', '*'];
    sql.exec(
      'INSERT INTO denial_counts (win, key, other, reason, rule, denied, recorded) VALUES (?, ?, 1, ?, ?, 1, 0) ON CONFLICT (win, key) DO UPDATE SET denied = denied + 1',
      win,
      key,
      reason,
      rule,
    );
  }

  /** The summary events of a closed window: one per client with folded denials, and one for the other clients. */
  private denialSummaries(w: DenialWindow): AuditInput[] {
    const sql = this.denialSql();
    const rows = sql.exec<DenialCount>('SELECT other, reason, rule, app, request, denied, recorded FROM denial_counts WHERE win = ? ORDER BY rowid', w.id).toArray();
    const window = { window_start: new Date(w.starts_at).toISOString(), window_end: new Date(w.ends_at).toISOString() };
    const base = { type: 'request.denied_summary', outcome: 'denied', actor: null, via: 'anonymous' } as const;
    const out: AuditInput[] = [];
    for (const r of rows) {
      if (r.other === 1 || r.denied <= r.recorded) continue;
      out.push({
        ...base,
        app: r.app,
        ...(r.request ? { request: JSON.parse(r.request) as AuditRequest } : {}),
        ...(r.rule !== null ? { rule: r.rule } : {}),
        ...(r.reason !== null ? { reason: r.reason } : {}),
        details: { ...window, denied: r.denied, recorded: r.recorded, folded: r.denied - r.recorded },
      });
    }
    const others = rows.filter((r) => r.other === 1);
    if (others.length > 0) {
      const denied = others.reduce((n, r) => n + r.denied, 0);
      const clients = sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM denial_clients WHERE win = ?', w.id).one().n;
      out.push({
        ...base,
        app: null,
        details: { ...window, other_clients: true, clients, denied, recorded: 0, folded: denied, counts: others.map((r) => `${r.reason ?? '-'} ${r.rule ?? '-'} ${r.denied}`) },
      });
    }
    return out;
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
    const useRemembered = remembered !== null && remembered.seq > (last?.seq ?? 0);
    const head = useRemembered ? { seq: remembered.seq, hash: remembered.hash } : last ? { seq: last.seq, hash: last.hash } : { seq: 0, hash: GENESIS };
    this.headTs = Math.max(last?.ts ?? 0, remembered?.ts ?? 0);
    this.head = head;
    return head;
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.pending.length > 0) {
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
      const event: AuditEvent = {
        v: 1,
        id: crypto.randomUUID(),
        tenant,
        seq,
        time: new Date((floor = Math.max(floor, ts ?? now))).toISOString(),
        ...rest,
        app: input.app ?? null,
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
        actor_ref: event.actor === null ? null : await blindIndex(ring, 'user', event.actor),
        ip_ref: event.request?.ip ? await blindIndex(ring, 'ip', event.request.ip) : null,
        kid: ring.primary,
        sealed: await seal(ring, 'audit-encryption', JSON.stringify(event), eventAad(tenant, seq)),
        prev_hash: prev,
        hash,
      });
    }
    const statements = rows.map((r) =>
      db
        .prepare('INSERT INTO audit_events (tenant, seq, ts, type, outcome, app, actor_ref, ip_ref, kid, sealed, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .bind(r.tenant, r.seq, r.ts, r.type, r.outcome, r.app, r.actor_ref, r.ip_ref, r.kid, r.sealed, r.prev_hash, r.hash),
    );
    const end: ChainPoint = { seq, hash };
    if (Math.floor(start.seq / CHECKPOINT_EVERY) !== Math.floor(end.seq / CHECKPOINT_EVERY)) {
      statements.push(await this.checkpointStatement(end, 'count', now));
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

  private async checkpointStatement(head: ChainPoint, kind: CheckpointKind, now: number): Promise<D1PreparedStatement> {
    const ring = this.ring!;
    const jws = await signCheckpoint(ring, { tenant: this.tenant!, seq: head.seq, hash: head.hash, time: new Date(now).toISOString(), kind });
    return this.env.DB.prepare(
      'INSERT INTO audit_checkpoints (tenant, seq, ts, kind, kid, jws) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, seq) DO UPDATE SET ts = excluded.ts, kind = excluded.kind, kid = excluded.kid, jws = excluded.jws',
    ).bind(this.tenant, head.seq, now, kind, ring.primary, jws);
  }
}
