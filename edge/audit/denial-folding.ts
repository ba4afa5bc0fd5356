/**
 * @module DenialFolding: how the audit sequencer folds denials that forward nothing, in its own
 * SQLite storage. Anonymous ones (no, invalid or ambiguous identity; free to send) are counted per
 * network (IPv4 /24, IPv6 /64), reason and rule, and a signed-in person's refusals by rate, cap or
 * missing approval per person, reason and rule. Per window, the first of each is written in full
 * and the rest are counted, in a bounded table; past the table, each kind has one overflow bucket
 * per organisation, which still writes the first denial of each reason and rule in full. Clients
 * are counted per organisation and app, so no summary mixes two organisations. When a window
 * closes, its counts become `request.denied_summary` events (docs/audit.md, "Anonymous denials").
 */
import { DEFAULT_AUDIT_ORG } from './audit-chain';
import { networkOf } from './client-network';
import { createDenialTables, whoOf, type DenialCount, type DenialKind, type DenialWindow } from './denial-tables';
import type { AuditInput, AuditRequest } from './events';

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

const DENIAL_KINDS: readonly DenialKind[] = ['anonymous', 'person'];

/** What counting one denial decided: append it in full (`full`), and when the alarm must fire. */
export interface Counted {
  full: boolean;
  win: number;
  key: string;
  /** The alarm must fire by then (a window opened or closed), or null. */
  alarmBy: number | null;
}

/** The folding tables of one sequencer object, created on first use (an object that only appends never has them). */
export class DenialFolding {
  private ready = false;

  constructor(private readonly sql: SqlStorage) {}

  /** The denial tables, created on first use (an object that only appends never has them). */
  private tables(): SqlStorage {
    const sql = this.sql;
    if (!this.ready) {
      createDenialTables(sql);
      this.ready = true;
    }
    return sql;
  }

  /**
   * Count a folded denial in the open window (opening one if needed). A client is the network,
   * reason and rule of an anonymous denial, or the actor, reason and rule of a person's. Its first
   * denial in the window is appended in full; past `DENIAL_CLIENTS` clients of its kind, it goes
   * to that kind's overflow bucket. It is synchronous, so the object's order of arrival is the
   * order in the chain; the caller appends the event when `full`.
   */
  count(tenant: string, input: AuditInput, now: number): Counted {
    const sql = this.tables();
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
    // Each organisation's denials are counted apart (and each app's clients), so a summary never
    // mixes two organisations: its readers see their own organisation's events only.
    const org = input.org ?? DEFAULT_AUDIT_ORG;
    const appId = input.app_id ?? null;
    let key = JSON.stringify([kind, org, appId, who, reason, rule]);
    let full = false;
    const counted =
      sql.exec('UPDATE denial_counts SET denied = denied + 1 WHERE win = ? AND key = ? RETURNING denied', win.id, key).toArray().length > 0;
    if (!counted) {
      const clients = sql
        .exec<{ n: number }>('SELECT COUNT(*) AS n FROM denial_counts WHERE win = ? AND other = 0 AND kind = ?', win.id, kind)
        .one().n;
      if (clients < DENIAL_CLIENTS) {
        sql.exec(
          'INSERT INTO denial_counts (win, key, other, kind, reason, rule, app, org, app_id, request, ' +
            'actor, via, network, denied, recorded) VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 1)',
          win.id,
          key,
          kind,
          reason,
          rule,
          input.app ?? null,
          org,
          appId,
          input.request ? JSON.stringify(input.request) : null,
          input.actor,
          input.via ?? null,
          network,
        );
        full = true;
      } else {
        key = JSON.stringify(['other', kind, org, reason, rule]);
        full = this.countOther(win.id, kind, org, who, key, reason, rule);
      }
    }
    return { full, win: win.id, key, alarmBy: alarms.length > 0 ? Math.min(...alarms) : null };
  }

  /** A denial counted as written in full was not written after all: the summary counts it as folded. */
  unrecord(win: number, key: string): void {
    this.tables().exec('UPDATE denial_counts SET recorded = recorded - 1 WHERE win = ? AND key = ?', win, key);
  }

  /** Close every window whose time is up, and return the oldest closed one (its summaries are due), or null. */
  closedWindow(now: number): DenialWindow | null {
    const sql = this.tables();
    sql.exec('UPDATE denial_windows SET closed = 1 WHERE closed = 0 AND ends_at <= ?', now);
    return (
      sql
        .exec<DenialWindow>('SELECT id, tenant, starts_at, ends_at FROM denial_windows WHERE closed = 1 ORDER BY id LIMIT 1')
        .toArray()[0] ?? null
    );
  }

  /** Forget a window whose summaries are durable. */
  forget(win: number): void {
    const sql = this.tables();
    sql.exec('DELETE FROM denial_counts WHERE win = ?', win);
    sql.exec('DELETE FROM denial_clients WHERE win = ?', win);
    sql.exec('DELETE FROM denial_windows WHERE id = ?', win);
  }

  /** When the open window ends, or null when none is open. */
  openUntil(): number | null {
    return this.tables().exec<{ ends_at: number }>('SELECT ends_at FROM denial_windows WHERE closed = 0').toArray()[0]?.ends_at ?? null;
  }

  /**
   * Count a denial of a client past the table, under `key` (its kind, reason and rule), and its
   * network (or person) among the distinct ones. True for the first of its reason and rule in the
   * bucket, which is written in full: so the overflow keeps one complete denial per reason and rule
   * (a set the policy's rules bound), whoever filled the table.
   */
  private countOther(
    win: number,
    kind: DenialKind,
    org: string,
    who: string | null,
    key: string,
    reason: string | null,
    rule: string | null,
  ): boolean {
    const sql = this.tables();
    sql.exec(
      'INSERT OR IGNORE INTO denial_clients (win, ip, kind, org) SELECT ?, ?, ?, ? ' +
        'WHERE (SELECT COUNT(*) FROM denial_clients WHERE win = ? AND kind = ? AND org IS ?) < ?',
      win,
      JSON.stringify([kind, who, org]),
      kind,
      org,
      win,
      kind,
      org,
      DENIAL_OTHER_CLIENTS_COUNTED,
    );
    if (sql.exec('UPDATE denial_counts SET denied = denied + 1 WHERE win = ? AND key = ? RETURNING denied', win, key).toArray().length > 0)
      return false;
    sql.exec(
      'INSERT INTO denial_counts (win, key, other, kind, reason, rule, org, denied, recorded) VALUES (?, ?, 1, ?, ?, ?, ?, 1, 1)',
      win,
      key,
      kind,
      reason,
      rule,
      org,
    );
    return true;
  }

  /**
   * The summary events of a closed window: one per client with folded denials, and one per kind
   * for its overflow bucket when that has any.
   */
  summaries(w: DenialWindow): AuditInput[] {
    const sql = this.tables();
    const rows = sql
      .exec<DenialCount>(
        'SELECT other, kind, reason, rule, app, org, app_id, request, actor, via, network, denied, recorded ' +
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
        org: r.org ?? DEFAULT_AUDIT_ORG,
        app_id: r.app_id,
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
    // One overflow summary per kind and organisation (the overflow of windows opened before
    // organisations were counted apart has org null: the default organisation's).
    const buckets = new Map<string, DenialCount[]>();
    for (const r of rows) {
      if (r.other !== 1) continue;
      const id = JSON.stringify([r.kind, r.org]);
      const bucket = buckets.get(id);
      if (bucket) bucket.push(r);
      else buckets.set(id, [r]);
    }
    for (const kind of DENIAL_KINDS) {
      for (const others of buckets.values()) {
        if (others[0]!.kind !== kind) continue;
        const summary = this.overflowSummary(w, kind, others[0]!.org, others, window);
        if (summary) out.push(summary);
      }
    }
    return out;
  }

  /** The summary of one kind's overflow bucket of one organisation in a closed window, or null when every denial in it was written. */
  private overflowSummary(
    w: DenialWindow,
    kind: DenialKind,
    org: string | null,
    others: readonly DenialCount[],
    window: { window_start: string; window_end: string },
  ): AuditInput | null {
    const sql = this.tables();
    const denied = others.reduce((n, r) => n + r.denied, 0);
    const recorded = others.reduce((n, r) => n + r.recorded, 0);
    if (denied <= recorded) return null;
    const clients = sql
      .exec<{ n: number }>('SELECT COUNT(*) AS n FROM denial_clients WHERE win = ? AND kind = ? AND org IS ?', w.id, kind, org)
      .one().n;
    const sample = sql
      .exec<{ ip: string }>(
        'SELECT ip FROM denial_clients WHERE win = ? AND kind = ? AND org IS ? ORDER BY rowid LIMIT ?',
        w.id,
        kind,
        org,
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
    const base = { type: 'request.denied_summary', outcome: 'denied', app: null, org: org ?? DEFAULT_AUDIT_ORG, app_id: null } as const;
    return kind === 'anonymous'
      ? { ...base, actor: null, via: 'anonymous', details: { ...window, other_clients: true, clients, networks: sample, ...tally } }
      : { ...base, actor: null, via: 'session', details: { ...window, other_people: true, people: clients, actors: sample, ...tally } };
  }
}
