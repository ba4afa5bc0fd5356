/**
 * @module The routes an app's gateway saw, per hour, in D1 (`route_samples`, migration 0016): method,
 * host and canonical path with a request count — no query, no body, no person. Written in batches
 * by each isolate's recorder (route-recorder.ts), read to replay a draft policy against the last
 * hour (policy-replay.ts), pruned after ROUTE_RETENTION_HOURS by the cron. Storage is bounded: at
 * most MAX_ROUTES_PER_APP_HOUR rows per app and hour however many isolates write; beyond it a new
 * route is not stored (known routes still count). Paths arrive masked (mask-path.ts) and are
 * masked again as they are read, so rows written before masking existed never show a token.
 */
import { maskPath } from './mask-path';

export const HOUR_MS = 3_600_000;
/** Distinct (method, host, path) rows kept per app per hour, in each isolate and in D1. */
export const MAX_ROUTES_PER_APP_HOUR = 1_000;
/** Rows whose hour started longer ago than this are pruned (edge/scheduled.ts). */
export const ROUTE_RETENTION_HOURS = 2;
/** A path longer than this is not recorded: cut, it could not be replayed as the request it was. */
export const MAX_SAMPLE_PATH_CHARS = 512;
/** The most rows one replay reads (two hours of one app at the cap). */
export const MAX_SAMPLES_READ = 2 * MAX_ROUTES_PER_APP_HOUR;

/** One aggregated route, as stored. */
export interface RouteSampleRow {
  appId: string;
  /** Start of the UTC hour, ms. */
  hour: number;
  method: string;
  /** Lower-case host name, no port. */
  host: string;
  /** The canonical path, as forwarded (percent-encoded), without the query. */
  path: string;
  requests: number;
}

/** A route seen in a window, summed over its hours. */
export interface RouteSample {
  method: string;
  host: string;
  path: string;
  requests: number;
}

/**
 * One row's upsert, refused (no change) when it would be a new route beyond the app's cap for the
 * hour. The cap is checked inside the batch's transaction, so racing isolates cannot pass it.
 */
const UPSERT =
  'INSERT INTO route_samples (app_id, hour, method, host, path, requests) ' +
  'SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM route_samples ' +
  'WHERE app_id = ?1 AND hour = ?2 AND method = ?3 AND host = ?4 AND path = ?5) ' +
  'OR (SELECT COUNT(*) FROM route_samples WHERE app_id = ?1 AND hour = ?2) < ?7 ' +
  'ON CONFLICT (app_id, hour, method, host, path) DO UPDATE SET requests = requests + excluded.requests';

/** Write one flush: every row's upsert in one batch. @returns how many rows the cap refused */
export async function flushRouteSamples(db: D1Database, rows: readonly RouteSampleRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const results = await db.batch(
    rows.map((r) => db.prepare(UPSERT).bind(r.appId, r.hour, r.method, r.host, r.path, r.requests, MAX_ROUTES_PER_APP_HOUR)),
  );
  return results.filter((res) => res.meta.changes === 0).length;
}

/** Delete rows whose hour started more than ROUTE_RETENTION_HOURS ago. @returns the rows deleted */
export async function pruneRouteSamples(db: D1Database, now: number): Promise<number> {
  const r = await db
    .prepare('DELETE FROM route_samples WHERE hour < ?')
    .bind(now - ROUTE_RETENTION_HOURS * HOUR_MS)
    .run();
  return r.meta.changes ?? 0;
}

/** The start of the hour that holds `ms`. */
export const hourOf = (ms: number): number => ms - (((ms % HOUR_MS) + HOUR_MS) % HOUR_MS);

/**
 * The routes of an app since the start of the hour that holds `sinceMs`, summed over hours, most
 * requests first, at most MAX_SAMPLES_READ.
 */
export async function routeSamples(db: D1Database, appId: string, sinceMs: number): Promise<RouteSample[]> {
  const { results } = await db
    .prepare(
      'SELECT method, host, path, SUM(requests) AS requests FROM route_samples WHERE app_id = ?1 AND hour >= ?2 ' +
        'GROUP BY method, host, path ORDER BY requests DESC, method, host, path LIMIT ?3',
    )
    .bind(appId, hourOf(sinceMs), MAX_SAMPLES_READ)
    .all<{ method: string; host: string; path: string; requests: number }>();
  // Rows stored before masking existed merge into their masked route (still most requests first).
  const merged = new Map<string, RouteSample>();
  for (const r of results) {
    const path = maskPath(r.path);
    const key = `${r.method} ${r.host}${path}`;
    const known = merged.get(key);
    if (known) known.requests += Number(r.requests);
    else merged.set(key, { method: r.method, host: r.host, path, requests: Number(r.requests) });
  }
  const out = [...merged.values()];
  if (out.length < results.length) out.sort((a, b) => b.requests - a.requests);
  return out;
}
