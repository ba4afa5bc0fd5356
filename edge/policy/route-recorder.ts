/**
 * @module recordRoute(): the routes an app's gateway sees (method, host, canonical path; no query, no
 * body, no person), counted in this isolate's memory and written to D1 in the background
 * (route-sample-store.ts), so a draft policy can be replayed against the last hour (policy-replay.ts).
 * It is on every request's path, so it costs a Map lookup and an increment: no await, no I/O; one
 * flush at most every few seconds per isolate, through `waitUntil`. Memory and storage are bounded:
 * at most MAX_ROUTES_PER_APP_HOUR distinct routes per app and hour, here and in D1; what is beyond is
 * not recorded (a replay is a sample, never a decision). Secret-looking path segments (reset and
 * magic-link tokens) are masked to `*` before the route is counted (mask-path.ts): whoever may replay
 * a draft must not read other people's tokens, and a flood of distinct tokens is one route, not a
 * thousand.
 */
import type { CanonicalRequest } from './canonical-request';
import { maskPath } from './mask-path';
import { flushRouteSamples, HOUR_MS, MAX_ROUTES_PER_APP_HOUR, MAX_SAMPLE_PATH_CHARS, type RouteSampleRow } from './route-sample-store';

/** Distinct routes one isolate holds between flushes, over all apps (memory bound). */
export const MAX_PENDING_ROUTES = 2_000;
/** Distinct routes one isolate remembers per hour over all apps (to apply the per-app cap across flushes). */
export const MAX_SEEN_ROUTES = 20_000;
/** Rows written per flush (one statement each, within D1's queries per invocation); the rest wait for the next. */
export const MAX_FLUSH_ROUTES = 200;
/** A running flush older than this is taken over: `waitUntil` keeps a request's work alive for 30 s at most. */
const STALE_SCHEDULE_MS = 30_000;

/**
 * What recording needs of the app's Runtime (edge/deployment/runtime.ts, a layer above this one, so
 * named by its shape): the app's id, D1 and the clock.
 */
export interface RecordingRuntime {
  app: { id: string };
  db: D1Database;
  now(): number;
}

/** The request's `waitUntil` (undefined outside a Worker request: nothing is flushed then). */
export type WaitUntil = { waitUntil(p: Promise<unknown>): void } | undefined;

/** One app's routes in the current hour. */
interface AppHour {
  hour: number;
  /** Counts not yet written, by `METHOD host/path` (a method has no space and a host no "/": unique). */
  rows: Map<string, RouteSampleRow>;
  /** Every route counted this hour, written or not: the cap holds across flushes. */
  seen: Set<string>;
}

/** The routes of one isolate, between flushes. */
export class RouteRecorder {
  /** By app: its current hour. */
  private readonly current = new Map<string, AppHour>();
  /** Rows of earlier hours not yet written. */
  private readonly earlier: RouteSampleRow[] = [];
  private pendingRows = 0;
  private seenTotal = 0;
  /** When the last flush began (ms, real time). */
  private lastFlush = 0;
  /** When the running flush began, or 0 when none runs. */
  private flushingSince = 0;

  /** How often at most a flush runs; tests shorten it. */
  constructor(public flushEveryMs = 5_000) {}

  /**
   * Count one request, its path masked (mask-path.ts). @returns whether it was counted (false: beyond
   * a cap, or a path too long to replay)
   */
  add(appId: string, method: string, host: string, rawPath: string, now: number): boolean {
    if (rawPath.length > MAX_SAMPLE_PATH_CHARS) return false;
    // Why here, before the key: no token reaches memory, D1 or a replay; one pass over the path, nothing cached.
    const path = maskPath(rawPath);
    const hour = now - (now % HOUR_MS);
    let b = this.current.get(appId);
    if (b === undefined || b.hour !== hour) b = this.startHour(appId, hour, b);
    // The common case, a route already counted since the last flush: one lookup and an increment.
    const key = `${method} ${host}${path}`;
    const row = b.rows.get(key);
    if (row !== undefined) {
      row.requests++;
      return true;
    }
    if (!b.seen.has(key)) {
      // Why: a client choosing paths must not grow memory or D1 without bound.
      if (b.seen.size >= MAX_ROUTES_PER_APP_HOUR || this.seenTotal >= MAX_SEEN_ROUTES) return false;
      b.seen.add(key);
      this.seenTotal++;
    }
    if (this.pendingRows >= MAX_PENDING_ROUTES) return false;
    b.rows.set(key, { appId, hour, method, host, path, requests: 1 });
    this.pendingRows++;
    return true;
  }

  /** A new hour for an app: the rows of the one before still wait to be written; its budget is forgotten. */
  private startHour(appId: string, hour: number, before: AppHour | undefined): AppHour {
    if (before) {
      this.earlier.push(...before.rows.values());
      this.seenTotal -= before.seen.size;
    }
    const b: AppHour = { hour, rows: new Map(), seen: new Set() };
    this.current.set(appId, b);
    return b;
  }

  /** Rows waiting to be written. */
  get pending(): number {
    return this.pendingRows;
  }

  /** Take up to MAX_FLUSH_ROUTES rows (earlier hours first), leaving the rest for the next flush. */
  take(): RouteSampleRow[] {
    const out = this.earlier.splice(0, MAX_FLUSH_ROUTES);
    for (const b of this.current.values()) {
      for (const [key, row] of b.rows) {
        if (out.length >= MAX_FLUSH_ROUTES) break;
        out.push(row);
        b.rows.delete(key);
      }
    }
    this.pendingRows -= out.length;
    return out;
  }

  /**
   * On the request path, after `add`: start a flush through `waitUntil` when the last one began at
   * least `flushEveryMs` ago (real time) and none is running; otherwise only compare two numbers.
   * Nothing sleeps inside `waitUntil` (the request's work after the answer ends with the write), so
   * rows counted after a flush wait for the first request after the interval: an isolate that stops
   * before it loses them (counts are an estimate). A flush older than STALE_SCHEDULE_MS (its
   * request's `waitUntil` was cut short) is taken over.
   */
  flushSoon(ec: NonNullable<WaitUntil>, db: D1Database): void {
    const t = Date.now();
    if (t < this.lastFlush + this.flushEveryMs || (this.flushingSince !== 0 && t < this.flushingSince + STALE_SCHEDULE_MS)) return;
    this.lastFlush = t;
    this.flushingSince = t;
    ec.waitUntil(this.flushAfterTurn(db, t));
  }

  private async flushAfterTurn(db: D1Database, started: number): Promise<void> {
    // After this turn: the requests counted in it go into this flush.
    await new Promise((r) => setTimeout(r, 0));
    try {
      await this.flushNow(db);
    } finally {
      if (this.flushingSince === started) this.flushingSince = 0;
    }
  }

  /** Write every pending row now, at most `maxBatches` batches (the replay endpoint, so it sees this isolate's latest). Never rejects. */
  async flushAll(db: D1Database, maxBatches = MAX_PENDING_ROUTES / MAX_FLUSH_ROUTES): Promise<void> {
    for (let i = 0; i < maxBatches && this.pending > 0; i++) await this.flushNow(db);
  }

  /** Write up to MAX_FLUSH_ROUTES pending rows now (the scheduled flush; tests). Never rejects. */
  async flushNow(db: D1Database): Promise<void> {
    const rows = this.take();
    if (rows.length === 0) return;
    try {
      await flushRouteSamples(db, rows);
    } catch (err) {
      // Recording never decides a request: a failed write loses these samples (logged), nothing else.
      console.warn('stepgate: route samples not written:', err instanceof Error ? err.message : 'non-error');
    }
  }
}

/** This isolate's recorder, shared by every app it serves. */
export const routeRecorder = new RouteRecorder();

/**
 * Record one request of an app (not Stepgate's own paths) for replay. Costs the request a Map
 * increment; never throws, never waits.
 */
export function recordRoute(ec: WaitUntil, rt: RecordingRuntime, canonical: Pick<CanonicalRequest, 'method' | 'hostname' | 'path'>): void {
  try {
    routeRecorder.add(rt.app.id, canonical.method, canonical.hostname, canonical.path, rt.now());
    // Even when this one was not counted: rows may wait for a flush that nothing else will schedule.
    if (ec && routeRecorder.pending > 0) routeRecorder.flushSoon(ec, rt.db);
  } catch (err) {
    console.warn('stepgate: route not recorded:', err instanceof Error ? err.message : 'non-error');
  }
}
