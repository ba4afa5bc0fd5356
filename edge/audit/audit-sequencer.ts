/**
 * @module AuditSequencer: one Durable Object per tenant, the single writer of its audit chain. It
 * assigns sequence numbers and chain hashes, seals each event, and resolves an append only once the
 * rows are in D1 — so concurrent writers never fork the chain, and a caller that sees `append`
 * fail does not forward. Appends that arrive while a write is in flight are committed together
 * in the next D1 batch (group commit), which is what keeps throughput up under load.
 *
 * Denials that forward nothing are folded rather than stored one by one: anonymous ones (no,
 * invalid or ambiguous identity; free to send) per network (IPv4 /24, IPv6 /64), reason and rule,
 * and a signed-in person's refusals by rate, cap or missing approval per person, reason and rule.
 * Per window, the first of each is written in full and the rest are counted, in a bounded table in
 * this object's own SQLite storage; past the table, each kind has one overflow bucket, which still
 * writes the first denial of each reason and rule in full. The alarm writes the counts as
 * `request.denied_summary` events when the window closes, and retries until they are durable
 * (docs/audit.md, "Anonymous denials" and "Repeated refusals of a signed-in person").
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

/** Folded denials (anonymous ones, a person's repeated refusals) are counted per window of this length. */
export const DENIAL_WINDOW_MS = 60_000;
/**
 * Clients with an entry of their own per window, for each kind: anonymous (network, reason, rule)
 * and person (actor, reason, rule). Later ones go to that kind's overflow bucket.
 */
export const DENIAL_CLIENTS = 32;
/** Reason and rule pairs an overflow summary lists apart; past them, all under "* *". */
export const DENIAL_OTHER_PAIRS = 16;
/** Distinct networks (or people) of an overflow bucket counted per window; counting stops there. */
export const DENIAL_OTHER_CLIENTS_COUNTED = 1000;
/** Networks (or people) of an overflow bucket named in its summary: the first ones of the window. */
export const DENIAL_OTHER_SAMPLE = 16;
/**
 * A signed-in person's refusals that are folded: by rate or cap (429s) and a held request continued
 * without approval. They forward nothing and can be repeated at will; `denied-by-user`, a person's
 * explicit answer, stays an event of its own.
 */
export const FOLDED_PERSON_REASONS: ReadonlySet<string> = new Set([
  'challenge-rate-limit',
  'prompt-rate-limit',
  'hold-limit',
  'not-approved',
]);

/** An event the sequencer folds (`appendLater`): a denial without a person, or one of a person's repeated refusals. */
export const isFoldedDenial = (e: AuditInput): boolean =>
  e.type === 'request.denied' && (e.actor === null || FOLDED_PERSON_REASONS.has(e.reason ?? ''));

/**
 * The network an address belongs to, for folding anonymous denials: IPv4 /24
 * (`198.51.100.0/24`) and IPv6 /64 (`2001:db8:a77a:c4::/64`; an IPv4-mapped address as IPv4), so
 * one network takes one entry however many addresses it has. Anything else stands for itself.
 */
export function networkOf(ip: string | null): string | null {
  if (ip === null || ip === '') return null;
  const v4 = ipv4Octets(ip);
  if (v4) return `${v4[0]}.${v4[1]}.${v4[2]}.0/24`;
  const v6 = ipv6Groups(ip);
  if (!v6) return ip;
  if (v6.slice(0, 5).every((g) => g === 0) && v6[5] === 0xffff) return `${v6[6]! >> 8}.${v6[6]! & 255}.${v6[7]! >> 8}.0/24`;
  return `${v6
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

function ipv4Octets(s: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  const o = m ? m.slice(1).map(Number) : null;
  return o?.every((x) => x <= 255) ? o : null;
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded, an IPv4 tail as two groups), or null. */
function ipv6Groups(s: string): number[] | null {
  if (!s.includes(':')) return null;
  let head = s;
  let tail: number[] = [];
  const dotted = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(s);
  if (dotted) {
    const o = ipv4Octets(dotted[2]!);
    if (!o) return null;
    tail = [(o[0]! << 8) | o[1]!, (o[2]! << 8) | o[3]!];
    head = dotted[1]!.endsWith('::') ? dotted[1]! : dotted[1]!.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const groups = (x: string) => (x === '' ? [] : x.split(':'));
  const before = groups(halves[0]!);
  const after = halves.length === 2 ? groups(halves[1]!) : [];
  if (![...before, ...after].every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  const want = 8 - tail.length;
  const n = before.length + after.length;
  // Without `::`, every group is written; with it, `::` stands for at least one.
  if (halves.length === 1 ? n !== want : n >= want) return null;
  return [...before, ...Array<string>(halves.length === 2 ? want - n : 0).fill('0'), ...after].map((g) => parseInt(g, 16)).concat(tail);
}

type DenialKind = 'anonymous' | 'person';
const DENIAL_KINDS: readonly DenialKind[] = ['anonymous', 'person'];

const DENIAL_SCHEMA = [
  'CREATE TABLE IF NOT EXISTS denial_windows (id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, ' +
    'starts_at INTEGER NOT NULL, ends_at INTEGER NOT NULL, closed INTEGER NOT NULL DEFAULT 0)',
  // One row per client (other = 0), or per reason and rule of a kind's overflow bucket (other = 1).
  'CREATE TABLE IF NOT EXISTS denial_counts (win INTEGER NOT NULL, key TEXT NOT NULL, other INTEGER NOT NULL, ' +
    'reason TEXT, rule TEXT, app TEXT, request TEXT, denied INTEGER NOT NULL, recorded INTEGER NOT NULL, ' +
    "kind TEXT NOT NULL DEFAULT 'anonymous', actor TEXT, via TEXT, network TEXT, PRIMARY KEY (win, key))",
  // The distinct networks (or people) of a kind's overflow bucket, as JSON [kind, network or actor].
  'CREATE TABLE IF NOT EXISTS denial_clients (win INTEGER NOT NULL, ' +
    "ip TEXT NOT NULL, kind TEXT NOT NULL DEFAULT 'anonymous', PRIMARY KEY (win, ip))",
];
/** Columns added since the first version of the tables, which an object may still hold with an open window. */
const DENIAL_COLUMNS: readonly (readonly [table: string, column: string, declaration: string])[] = [
  ['denial_counts', 'kind', "TEXT NOT NULL DEFAULT 'anonymous'"],
  ['denial_counts', 'actor', 'TEXT'],
  ['denial_counts', 'via', 'TEXT'],
  ['denial_counts', 'network', 'TEXT'],
  ['denial_clients', 'kind', "TEXT NOT NULL DEFAULT 'anonymous'"],
];

type DenialWindow = {
  id: number;
  tenant: string;
  starts_at: number;
  ends_at: number;
};

type DenialCount = {
  other: number;
  kind: DenialKind;
  reason: string | null;
  rule: string | null;
  app: string | null;
  request: string | null;
  actor: string | null;
  via: string | null;
  network: string | null;
  denied: number;
  recorded: number;
};

/** The network or person of a `denial_clients` row (JSON [kind, who]; a bare IP from the first version of the table). */
function whoOf(stored: string): string {
  try {
    const v: unknown = JSON.parse(stored);
    if (Array.isArray(v)) return typeof v[1] === 'string' ? v[1] : '-';
  } catch {
    // A bare IP.
  }
  return stored === '' ? '-' : stored;
}

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
    const sql = this.denialSql();
    for (;;) {
      sql.exec('UPDATE denial_windows SET closed = 1 WHERE closed = 0 AND ends_at <= ?', this.now());
      const w = sql
        .exec<DenialWindow>('SELECT id, tenant, starts_at, ends_at FROM denial_windows WHERE closed = 1 ORDER BY id LIMIT 1')
        .toArray()[0];
      if (!w) break;
      this.bind(w.tenant);
      const events = this.denialSummaries(w);
      try {
        if (events.length > 0) await this.append(w.tenant, events);
      } catch (err) {
        console.error(
          'stepgate: audit denial summary not written yet (the alarm retries):',
          err instanceof Error ? err.message : 'non-error',
        );
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
    const last = await this.env.DB.prepare('SELECT MAX(seq) AS seq FROM audit_checkpoints WHERE tenant = ?')
      .bind(tenant)
      .first<{ seq: number | null }>();
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

  /** The denial tables, created on first use (an object that only appends never has them). */
  private denialSql(): SqlStorage {
    const sql = this.ctx.storage.sql;
    if (!this.denialSchema) {
      for (const s of DENIAL_SCHEMA) sql.exec(s);
      for (const [table, column, declaration] of DENIAL_COLUMNS) {
        const has = sql.exec('SELECT 1 FROM pragma_table_info(?) WHERE name = ?', table, column).toArray().length > 0;
        if (!has) sql.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${declaration}`);
      }
      this.denialSchema = true;
    }
    return sql;
  }

  /**
   * Count a folded denial in the open window (opening one if needed). A client is the network,
   * reason and rule of an anonymous denial, or the actor, reason and rule of a person's. Its first
   * denial in the window is appended in full; past `DENIAL_CLIENTS` clients of its kind, it goes
   * to that kind's overflow bucket. Everything up to the append is synchronous, so the object's
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
      const id = sql
        .exec<{ id: number }>(
          'INSERT INTO denial_windows (tenant, starts_at, ends_at) VALUES (?, ?, ?) RETURNING id',
          tenant,
          now,
          now + DENIAL_WINDOW_MS,
        )
        .one().id;
      win = { id, tenant, starts_at: now, ends_at: now + DENIAL_WINDOW_MS };
      alarms.push(win.ends_at);
    }
    const kind: DenialKind = input.actor === null ? 'anonymous' : 'person';
    const network = kind === 'anonymous' ? networkOf(input.request?.ip ?? null) : null;
    const who = kind === 'anonymous' ? network : input.actor;
    const reason = input.reason ?? null;
    const rule = input.rule ?? null;
    let key = JSON.stringify([kind, who, reason, rule]);
    let full = false;
    const counted =
      sql.exec('UPDATE denial_counts SET denied = denied + 1 WHERE win = ? AND key = ? RETURNING denied', win.id, key).toArray().length > 0;
    if (!counted) {
      const clients = sql
        .exec<{ n: number }>('SELECT COUNT(*) AS n FROM denial_counts WHERE win = ? AND other = 0 AND kind = ?', win.id, kind)
        .one().n;
      if (clients < DENIAL_CLIENTS) {
        sql.exec(
          'INSERT INTO denial_counts (win, key, other, kind, reason, rule, app, request, ' +
            'actor, via, network, denied, recorded) VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, 1, 1)',
          win.id,
          key,
          kind,
          reason,
          rule,
          input.app ?? null,
          input.request ? JSON.stringify(input.request) : null,
          input.actor,
          input.via ?? null,
          network,
        );
        full = true;
      } else {
        key = JSON.stringify(['other', kind, reason, rule]);
        full = this.foldOther(win.id, kind, who, key, reason, rule);
      }
    }
    let write: Promise<unknown> = Promise.resolve();
    if (full) {
      const [id, written] = [win.id, key];
      write = this.append(tenant, [input]).catch((err: unknown) => {
        // Not recorded after all: the summary counts it as folded instead.
        sql.exec('UPDATE denial_counts SET recorded = recorded - 1 WHERE win = ? AND key = ?', id, written);
        throw err;
      });
    }
    return Promise.all([write, alarms.length > 0 ? this.alarmBy(Math.min(...alarms)) : null]);
  }

  /**
   * Count a denial of a client past the table, under `key` (its kind, reason and rule), and its
   * network (or person) among the distinct ones. True for the first of its reason and rule in the
   * bucket, which is written in full: so the overflow keeps one complete denial per reason and rule
   * (a set the policy's rules bound), whoever filled the table.
   */
  private foldOther(win: number, kind: DenialKind, who: string | null, key: string, reason: string | null, rule: string | null): boolean {
    const sql = this.denialSql();
    sql.exec(
      'INSERT OR IGNORE INTO denial_clients (win, ip, kind) SELECT ?, ?, ? ' +
        'WHERE (SELECT COUNT(*) FROM denial_clients WHERE win = ? AND kind = ?) < ?',
      win,
      JSON.stringify([kind, who]),
      kind,
      win,
      kind,
      DENIAL_OTHER_CLIENTS_COUNTED,
    );
    if (sql.exec('UPDATE denial_counts SET denied = denied + 1 WHERE win = ? AND key = ? RETURNING denied', win, key).toArray().length > 0)
      return false;
    sql.exec(
      'INSERT INTO denial_counts (win, key, other, kind, reason, rule, denied, recorded) VALUES (?, ?, 1, ?, ?, ?, 1, 1)',
      win,
      key,
      kind,
      reason,
      rule,
    );
    return true;
  }

  /**
   * The summary events of a closed window: one per client with folded denials, and one per kind
   * for its overflow bucket when that has any.
   */
  private denialSummaries(w: DenialWindow): AuditInput[] {
    const sql = this.denialSql();
    const rows = sql
      .exec<DenialCount>(
        'SELECT other, kind, reason, rule, app, request, actor, via, network, denied, recorded ' +
          'FROM denial_counts WHERE win = ? ORDER BY rowid',
        w.id,
      )
      .toArray();
    const window = { window_start: new Date(w.starts_at).toISOString(), window_end: new Date(w.ends_at).toISOString() };
    const base = { type: 'request.denied_summary', outcome: 'denied' } as const;
    const out: AuditInput[] = [];
    for (const r of rows) {
      if (r.other === 1 || r.denied <= r.recorded) continue;
      out.push({
        ...base,
        actor: r.actor,
        via: (r.via as AuditInput['via']) ?? (r.actor === null ? 'anonymous' : 'session'),
        app: r.app,
        ...(r.request ? { request: JSON.parse(r.request) as AuditRequest } : {}),
        ...(r.rule !== null ? { rule: r.rule } : {}),
        ...(r.reason !== null ? { reason: r.reason } : {}),
        details: {
          ...window,
          ...(r.network !== null ? { network: r.network } : {}),
          denied: r.denied,
          recorded: r.recorded,
          folded: r.denied - r.recorded,
        },
      });
    }
    for (const kind of DENIAL_KINDS) {
      const others = rows.filter((r) => r.other === 1 && r.kind === kind);
      const denied = others.reduce((n, r) => n + r.denied, 0);
      const recorded = others.reduce((n, r) => n + r.recorded, 0);
      if (denied <= recorded) continue;
      const clients = sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM denial_clients WHERE win = ? AND kind = ?', w.id, kind).one().n;
      const sample = sql
        .exec<{ ip: string }>(
          'SELECT ip FROM denial_clients WHERE win = ? AND kind = ? ORDER BY rowid LIMIT ?',
          w.id,
          kind,
          DENIAL_OTHER_SAMPLE,
        )
        .toArray()
        .map((r) => whoOf(r.ip));
      const rest = others.slice(DENIAL_OTHER_PAIRS).reduce((n, r) => n + r.denied, 0);
      const counts = [
        ...others.slice(0, DENIAL_OTHER_PAIRS).map((r) => `${r.reason ?? '-'} ${r.rule ?? '-'} ${r.denied}`),
        ...(rest > 0 ? [`* * ${rest}`] : []),
      ];
      const tally = { denied, recorded, folded: denied - recorded, counts };
      out.push(
        kind === 'anonymous'
          ? {
              ...base,
              actor: null,
              via: 'anonymous',
              app: null,
              details: { ...window, other_clients: true, clients, networks: sample, ...tally },
            }
          : {
              ...base,
              actor: null,
              via: 'session',
              app: null,
              details: { ...window, other_people: true, people: clients, actors: sample, ...tally },
            },
      );
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
      floor = Math.max(floor, ts ?? now);
      const event: AuditEvent = {
        v: 1,
        id: crypto.randomUUID(),
        tenant,
        seq,
        time: new Date(floor).toISOString(),
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
        .prepare(
          'INSERT INTO audit_events (tenant, seq, ts, type, outcome, app, actor_ref, ' +
            'ip_ref, kid, sealed, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        )
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
    const jws = await signCheckpoint(ring, {
      tenant: this.tenant!,
      seq: head.seq,
      hash: head.hash,
      time: new Date(now).toISOString(),
      kind,
    });
    return this.env.DB.prepare(
      'INSERT INTO audit_checkpoints (tenant, seq, ts, kind, kid, jws) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, seq) ' +
        'DO UPDATE SET ts = excluded.ts, kind = excluded.kind, kid = excluded.kid, jws = excluded.jws',
    ).bind(this.tenant, head.seq, now, kind, ring.primary, jws);
  }
}
