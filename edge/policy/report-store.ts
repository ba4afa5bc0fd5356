/**
 * @module Report-only counts in D1 (migration 0014): written in batches by the isolates' counters
 * (report-counter.ts), read as a summary per rule, pruned after REPORT_RETENTION_DAYS by the cron.
 * Storage is bounded: at most MAX_KEYS_PER_APP_HOUR rows per app and hour, however many isolates
 * write; what is beyond is added to the app's dropped count for that hour instead. Routes arrive
 * masked (mask-path.ts, report-counter.ts) and are masked again as they are read, so rows written
 * before masking existed never show a token.
 */
import type { Keyring } from '../crypto/keyring';
import { maskPath } from './mask-path';

/** Distinct (rule, route, person) keys kept per app per hour, in each isolate and in D1. */
export const MAX_KEYS_PER_APP_HOUR = 1_000;
/** Report counts older than this are pruned (edge/scheduled.ts). */
export const REPORT_RETENTION_DAYS = 7;
/** Top routes per rule in a summary. */
export const TOP_ROUTES = 10;

/** One aggregated count, as stored. */
export interface ReportRow {
  appId: string;
  /** Start of the UTC hour, ms. */
  hour: number;
  ruleId: string;
  route: string;
  /** The person's hash ('' for requests that named nobody). */
  person: string;
  requests: number;
}

/** Requests counted as dropped for an app in an hour: beyond the key cap. */
export interface ReportDrop {
  appId: string;
  hour: number;
  requests: number;
}

/**
 * One row's upsert, refused (no change) when it would be a new key beyond the app's cap for the
 * hour. The cap is checked inside the batch's transaction, so racing isolates cannot pass it.
 */
const UPSERT =
  'INSERT INTO policy_report_counts (app_id, hour, rule_id, route, person_hash, requests) ' +
  'SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM policy_report_counts ' +
  'WHERE app_id = ?1 AND hour = ?2 AND rule_id = ?3 AND route = ?4 AND person_hash = ?5) ' +
  'OR (SELECT COUNT(*) FROM policy_report_counts WHERE app_id = ?1 AND hour = ?2) < ?7 ' +
  'ON CONFLICT (app_id, hour, rule_id, route, person_hash) DO UPDATE SET requests = requests + excluded.requests';
const ADD_DROPPED =
  'INSERT INTO policy_report_dropped (app_id, hour, requests) VALUES (?1, ?2, ?3) ' +
  'ON CONFLICT (app_id, hour) DO UPDATE SET requests = requests + excluded.requests';

/** Write one flush: every row's upsert in one batch, then the drops (the isolate's, and rows the cap refused). */
export async function flushReportCounts(db: D1Database, rows: readonly ReportRow[], drops: readonly ReportDrop[]): Promise<void> {
  const dropped = new Map<string, ReportDrop>();
  const addDrop = (d: ReportDrop) => {
    const k = `${d.hour}\0${d.appId}`;
    const known = dropped.get(k);
    if (known) known.requests += d.requests;
    else dropped.set(k, { ...d });
  };
  for (const d of drops) addDrop(d);
  if (rows.length) {
    const results = await db.batch(
      rows.map((r) => db.prepare(UPSERT).bind(r.appId, r.hour, r.ruleId, r.route, r.person, r.requests, MAX_KEYS_PER_APP_HOUR)),
    );
    results.forEach((res, i) => {
      if (res.meta.changes === 0) addDrop({ appId: rows[i]!.appId, hour: rows[i]!.hour, requests: rows[i]!.requests });
    });
  }
  if (dropped.size) await db.batch([...dropped.values()].map((d) => db.prepare(ADD_DROPPED).bind(d.appId, d.hour, d.requests)));
}

/** Delete counts older than REPORT_RETENTION_DAYS. @returns the rows deleted */
export async function pruneReportCounts(db: D1Database, now: number): Promise<number> {
  const before = now - REPORT_RETENTION_DAYS * 86_400_000;
  const [counts, drops] = await db.batch([
    db.prepare('DELETE FROM policy_report_counts WHERE hour < ?').bind(before),
    db.prepare('DELETE FROM policy_report_dropped WHERE hour < ?').bind(before),
  ]);
  return (counts?.meta.changes ?? 0) + (drops?.meta.changes ?? 0);
}

/** What one report rule would have challenged. */
export interface RuleReport {
  rule: string;
  /** Requests it matched that no enforce rule before it took. */
  requests: number;
  /** Distinct people among them (a person counted on both sides of a key rotation counts twice). */
  people: number;
  /** Requests among them that named nobody: these would have been refused (401 or the login), not challenged. */
  anonymous: number;
  /** At most TOP_ROUTES, most requests first. */
  topRoutes: { route: string; requests: number }[];
}

export interface ReportSummary {
  /** Start of the first hour counted (the hour that holds `sinceMs`), ms. */
  since: number;
  rules: RuleReport[];
  /** Requests not counted per key because the app reached MAX_KEYS_PER_APP_HOUR in some hour. */
  dropped: number;
}

/**
 * What the app's report-only rules would have challenged since `sinceMs` (from the start of that
 * hour): per rule, requests, distinct people and the top routes. `_ring` is unused: the person
 * column is a hash that needs no key to be counted (reportPersonHash).
 */
export async function reportSummary(db: D1Database, _ring: Keyring, app: string, o: { sinceMs: number }): Promise<ReportSummary> {
  const since = o.sinceMs - (((o.sinceMs % 3_600_000) + 3_600_000) % 3_600_000);
  const [totals, routes, dropped] = await db.batch<Record<string, unknown>>([
    db
      .prepare(
        "SELECT rule_id, SUM(requests) AS requests, COUNT(DISTINCT NULLIF(person_hash, '')) AS people, " +
          "SUM(CASE WHEN person_hash = '' THEN requests ELSE 0 END) AS anonymous " +
          'FROM policy_report_counts WHERE app_id = ?1 AND hour >= ?2 GROUP BY rule_id ORDER BY rule_id',
      )
      .bind(app, since),
    db
      .prepare(
        'SELECT rule_id, route, requests FROM (SELECT rule_id, route, SUM(requests) AS requests, ' +
          'ROW_NUMBER() OVER (PARTITION BY rule_id ORDER BY SUM(requests) DESC, route) AS n ' +
          'FROM policy_report_counts WHERE app_id = ?1 AND hour >= ?2 GROUP BY rule_id, route) WHERE n <= ?3 ORDER BY rule_id, n',
      )
      .bind(app, since, TOP_ROUTES),
    db.prepare('SELECT COALESCE(SUM(requests), 0) AS n FROM policy_report_dropped WHERE app_id = ?1 AND hour >= ?2').bind(app, since),
  ]);
  const top = new Map<string, { route: string; requests: number }[]>();
  for (const r of routes!.results) {
    const list = top.get(String(r.rule_id)) ?? [];
    // Rows stored before masking existed merge into their masked route.
    const route = maskPath(String(r.route));
    const known = list.find((x) => x.route === route);
    if (known) known.requests += Number(r.requests);
    else list.push({ route, requests: Number(r.requests) });
    top.set(String(r.rule_id), list);
  }
  for (const list of top.values()) list.sort((a, b) => b.requests - a.requests);
  return {
    since,
    rules: totals!.results.map((t) => ({
      rule: String(t.rule_id),
      requests: Number(t.requests),
      people: Number(t.people),
      anonymous: Number(t.anonymous),
      topRoutes: top.get(String(t.rule_id)) ?? [],
    })),
    dropped: Number(dropped!.results[0]?.n ?? 0),
  };
}
