/**
 * @module What report-only rules would have challenged, counted in memory per isolate and flushed to
 * D1 in the background (report-store.ts): one batch of upserts at most every few seconds, never a
 * write per request. Keys are (app, rule, method and canonical path, person hash, hour), with no
 * query and no body; each app has at most MAX_KEYS_PER_APP_HOUR distinct keys per hour, here and in
 * D1, and what is beyond is dropped and counted as dropped, so no client can grow storage or memory.
 * Secret-looking path segments (reset and magic-link tokens) are masked to `*` before a route is
 * counted (mask-path.ts): the console shows top routes to everyone with `policy.read`.
 */
import { blindIndex } from '../crypto/blind-index';
import type { Keyring } from '../crypto/keyring';
import { maskPath } from './mask-path';
import { flushReportCounts, MAX_KEYS_PER_APP_HOUR, type ReportDrop, type ReportRow } from './report-store';

export const HOUR_MS = 3_600_000;
/** Distinct keys one isolate holds between flushes, over all apps (memory bound). */
export const MAX_PENDING_KEYS = 2_000;
/** Keys written per flush (one statement each, within D1's queries per invocation); the rest wait for the next. */
export const MAX_FLUSH_KEYS = 200;
/** A scheduled flush older than this is taken over: `waitUntil` keeps a request's work alive for 30 s at most. */
const STALE_SCHEDULE_MS = 30_000;
/** A route is stored up to this many characters (a longer path is cut and marked with "…"). */
export const MAX_ROUTE_CHARS = 512;

/** One request a report rule would have challenged. */
export interface ReportHit {
  appId: string;
  ruleId: string;
  /** The matched method and the masked canonical path, without the query (reportRoute): `DELETE /api/projects/7`. */
  route: string;
  /** reportPersonHash of the caller, or '' when the request named nobody Stepgate could identify. */
  person: string;
  now: number;
}

/**
 * `METHOD /path` as stored: the canonical path only (no query, no body), its secret-looking segments
 * masked (mask-path.ts; only for a request a report rule matched), cut to MAX_ROUTE_CHARS.
 */
export const reportRoute = (method: string, path: string): string => {
  const route = `${method} ${maskPath(path)}`;
  return route.length <= MAX_ROUTE_CHARS ? route : `${route.slice(0, MAX_ROUTE_CHARS - 1)}…`;
};

/**
 * The person as report counts store them: an HMAC under the keyring's blind-index key, in a domain of
 * its own and per app, without the key id. It is only ever compared with other values of the same
 * column (distinct people), never opened or looked up from a name, so it needs no re-keying: after a
 * rotation new rows hash under the new key, and a person counted on both sides of it within the
 * window counts twice until the old rows are pruned (7 days). Per app and in its own domain, it
 * cannot be joined with the person indexes of other tables, nor across apps.
 */
export async function reportPersonHash(ring: Keyring, appId: string, sub: string): Promise<string> {
  const kid = ring.primary;
  const index = await blindIndex(ring, 'policy-report', `${appId}\0${sub}`, kid);
  return index.slice(kid.length + 1);
}

const keyOf = (h: ReportRow): string => JSON.stringify([h.appId, h.hour, h.ruleId, h.route, h.person]);
const appHourOf = (appId: string, hour: number): string => `${hour}\0${appId}`;

/** The counts of one isolate, between flushes. */
export class ReportCounter {
  private readonly rows = new Map<string, ReportRow>();
  private readonly keysPerAppHour = new Map<string, number>();
  private readonly drops = new Map<string, ReportDrop>();
  private lastFlush = 0;
  /** When the scheduled flush runs (ms), or 0 when none is. */
  private nextFlushAt = 0;

  /** How often at most a flush runs; tests shorten it. */
  constructor(public flushEveryMs = 5_000) {}

  /** Count a hit; beyond the caps it is counted as dropped instead. */
  add(hit: ReportHit): void {
    const hour = hit.now - (hit.now % HOUR_MS);
    // Masked again whoever built the route (a no-op for reportRoute's): no token is ever counted.
    const row: ReportRow = { appId: hit.appId, hour, ruleId: hit.ruleId, route: maskPath(hit.route), person: hit.person, requests: 1 };
    const key = keyOf(row);
    const known = this.rows.get(key);
    if (known) {
      known.requests++;
      return;
    }
    const appHour = appHourOf(hit.appId, hour);
    const keys = this.keysPerAppHour.get(appHour) ?? 0;
    if (keys >= MAX_KEYS_PER_APP_HOUR || this.rows.size >= MAX_PENDING_KEYS) {
      const drop = this.drops.get(appHour);
      if (drop) drop.requests++;
      // One drop row per app and hour: bounded by the apps the gateway serves; beyond the pending cap, not even that.
      else if (this.drops.size < MAX_PENDING_KEYS) this.drops.set(appHour, { appId: hit.appId, hour, requests: 1 });
      return;
    }
    this.rows.set(key, row);
    this.keysPerAppHour.set(appHour, keys + 1);
  }

  /** What is waiting to be written: rows and drops. */
  get pending(): number {
    return this.rows.size + this.drops.size;
  }

  /** Take up to MAX_FLUSH_KEYS rows and every drop, leaving the rest for the next flush. */
  take(now: number): { rows: ReportRow[]; drops: ReportDrop[] } {
    const rows: ReportRow[] = [];
    for (const [key, row] of this.rows) {
      if (rows.length >= MAX_FLUSH_KEYS) break;
      rows.push(row);
      this.rows.delete(key);
    }
    const drops = [...this.drops.values()];
    this.drops.clear();
    // A key budget lasts its hour (what was flushed still holds its place in D1); past hours get no new keys.
    const hour = now - (now % HOUR_MS);
    for (const k of this.keysPerAppHour.keys()) if (Number(k.slice(0, k.indexOf('\0'))) < hour) this.keysPerAppHour.delete(k);
    return { rows, drops };
  }

  /**
   * After counting: write in the background, at most once per `flushEveryMs` (real time, whatever
   * the runtime's clock). A flush that is due runs now; otherwise one is scheduled for when it is,
   * and the requests counted meanwhile leave it to that one, so counts reach D1 within
   * `flushEveryMs` while the isolate lives (counts of an isolate evicted in between are lost: they
   * are an estimate). A schedule older than STALE_SCHEDULE_MS (its request's `waitUntil` was cut
   * short) is taken over. Flushes never wait on each other: each takes its own keys. For
   * `waitUntil`; never rejects.
   */
  async flushSoon(db: D1Database): Promise<void> {
    const t = Date.now();
    if (this.pending === 0 || (this.nextFlushAt !== 0 && t < this.nextFlushAt + STALE_SCHEDULE_MS)) return;
    const at = Math.max(t, this.lastFlush + this.flushEveryMs);
    this.nextFlushAt = at;
    if (at > t) await new Promise((r) => setTimeout(r, at - t));
    this.nextFlushAt = 0;
    this.lastFlush = Date.now();
    await this.flushOnce(db, this.lastFlush);
    if (this.pending > 0) await this.flushSoon(db);
  }

  /** Write up to MAX_FLUSH_KEYS pending keys now, whenever the last flush was (tests). Never rejects. */
  async flushNow(db: D1Database, now = Date.now()): Promise<void> {
    await this.flushOnce(db, now);
  }

  private async flushOnce(db: D1Database, now: number): Promise<void> {
    const { rows, drops } = this.take(now);
    if (rows.length === 0 && drops.length === 0) return;
    try {
      await flushReportCounts(db, rows, drops);
    } catch (err) {
      // Counting never decides a request: a failed write loses these counts (logged), nothing else.
      console.warn('stepgate: report-only counts not written:', err instanceof Error ? err.message : 'non-error');
    }
  }
}

/** This isolate's counter, shared by every app it serves. */
export const reportCounter = new ReportCounter();
