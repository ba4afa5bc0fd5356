/**
 * @module The dashboard's data: one organisation's step-ups, failures, denials and lockouts per UTC
 * day and app, counted in D1 from the plain columns (type, day, app id: one covering index, nothing
 * decrypted), and its most denied routes and people, from the newest denials of the range, which
 * are decrypted (at most `DASHBOARD_TOP_SAMPLE` of them). Ranges are whole UTC days, at most
 * `DASHBOARD_MAX_DAYS` (docs/audit.md, "Dashboard").
 */
import { ErrorCode } from '../../shared/errors';
import type { Keyring } from '../crypto/keyring';
import { StepgateError } from '../http/stepgate-error';
import { DEFAULT_AUDIT_ORG, openRow, orgColumn } from './audit-chain';
import { AuditIntegrityError } from './audit-store';
import type { AuditType } from './events';

/** One organisation's activity over a range of whole UTC days. */
export interface Dashboard {
  /** Start of the first day, ms (inclusive). */
  from: number;
  /** End of the last day, ms (exclusive). */
  to: number;
  /** One entry per day of the range and app of `apps` (zeros included), by day, then app. */
  days: DayCounts[];
  /** The apps with at least one counted event in the range, by id. */
  apps: string[];
  /** At most `DASHBOARD_TOP` routes (`METHOD /path`), most denied first. */
  topDeniedRoutes: { route: string; count: number }[];
  /** At most `DASHBOARD_TOP` people (the subject as the organisation's apps name them), most denied first. */
  topDeniedPeople: { person: string; count: number }[];
  /**
   * When the range reaches events archived to R2 (docs/audit.md, "Archive and stream"): the time (ms)
   * up to which events are archived and therefore not counted here; else null.
   */
  archivedThrough: number | null;
}

export interface DayCounts {
  /** YYYY-MM-DD, UTC. */
  day: string;
  /** The app's id. */
  app: string;
  /** Successful step-ups: `grant.issued` (a verified challenge that produced a grant or approval). */
  stepUps: number;
  /** Failed factor attempts: `factor.failed`. */
  failures: number;
  /** Refused requests: `request.denied` as recorded (a folded flood counts as its first denial of each window). */
  denials: number;
  /** Lockouts and back-offs: `user.locked_out`. */
  lockouts: number;
}

const DAY = 86_400_000;
/**
 * The bundled app's id (`BUNDLED_APP_ID` of edge/apps/app-definition.ts, which cannot be imported
 * here without an import cycle between the folders): rows older than the app id column are its.
 */
const BUNDLED_APP_ID = 'bundled';
/** The longest range, in days. */
export const DASHBOARD_MAX_DAYS = 90;
/** The range when none is asked for: the last 14 days, today included. */
export const DASHBOARD_DEFAULT_DAYS = 14;
/** The top lists are computed from at most this many denials: the newest of the range. */
export const DASHBOARD_TOP_SAMPLE = 5000;
/** Entries of each top list. */
export const DASHBOARD_TOP = 10;

type Count = 'stepUps' | 'failures' | 'denials' | 'lockouts';
/** Which event type counts as what. */
const COUNTED: Record<Extract<AuditType, 'grant.issued' | 'factor.failed' | 'request.denied' | 'user.locked_out'>, Count> = {
  'grant.issued': 'stepUps',
  'factor.failed': 'failures',
  'request.denied': 'denials',
  'user.locked_out': 'lockouts',
};
const COUNTED_TYPES = Object.keys(COUNTED) as (keyof typeof COUNTED)[];

const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const bad = (detail: string) => new StepgateError(ErrorCode.BadRequest, 400, detail);

/**
 * The range of whole UTC days a dashboard shows: `from` rounded down and `to` rounded up to a
 * day's start; without them, the last `DASHBOARD_DEFAULT_DAYS` days up to the end of today.
 *
 * @throws {StepgateError} 400 when `to` is not after `from`, or the range is longer than `DASHBOARD_MAX_DAYS`
 */
export function dashboardRange(o: { from?: number | undefined; to?: number | undefined; now: number }): { from: number; to: number } {
  for (const [name, v] of [
    ['from', o.from],
    ['to', o.to],
  ] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw bad(`${name}: not a time after 1970`);
  }
  const to = o.to !== undefined ? Math.ceil(o.to / DAY) * DAY : (Math.floor(o.now / DAY) + 1) * DAY;
  const from = o.from !== undefined ? Math.floor(o.from / DAY) * DAY : to - DASHBOARD_DEFAULT_DAYS * DAY;
  if (to <= from) throw bad('to: must be after from');
  if (to - from > DASHBOARD_MAX_DAYS * DAY) throw bad(`from, to: at most ${DASHBOARD_MAX_DAYS} days`);
  return { from, to };
}

/**
 * Organisation `org`'s dashboard over `from`..`to` (see `dashboardRange`; `now` gives the default).
 *
 * @throws {StepgateError} 400 for a bad range
 * @throws {AuditIntegrityError} when a denial row does not open, or its sealed organisation is not `org`
 */
export async function dashboardData(
  db: D1Database,
  ring: Keyring,
  tenant: string,
  org: string,
  o: { from?: number | undefined; to?: number | undefined; now: number },
): Promise<Dashboard> {
  const { from, to } = dashboardRange(o);
  const orgCol = orgColumn(org);
  const types = COUNTED_TYPES.map((_, i) => `?${i + 5}`).join(', ');
  const { results: counts } = await db
    .prepare(
      // One range of the covering index (tenant, org, type, ts, app_id) per type: no row is read.
      `SELECT ts / ${DAY} AS d, app_id, type, COUNT(*) AS n FROM audit_events INDEXED BY audit_events_org_type_ts
       WHERE tenant = ?1 AND org IS ?2 AND type IN (${types}) AND ts >= ?3 AND ts < ?4 GROUP BY d, app_id, type`,
    )
    .bind(tenant, orgCol, from, to, ...COUNTED_TYPES)
    .all<{ d: number; app_id: string | null; type: keyof typeof COUNTED; n: number }>();

  // Rows older than the app id column were all the bundled app's (the only app there was).
  const appOf = (id: string | null) => id ?? BUNDLED_APP_ID;
  const apps = [...new Set(counts.map((c) => appOf(c.app_id)))].sort();
  const grid = new Map<string, DayCounts>();
  const days: DayCounts[] = [];
  for (let t = from; t < to; t += DAY) {
    for (const app of apps) {
      const entry = { day: dayOf(t), app, stepUps: 0, failures: 0, denials: 0, lockouts: 0 };
      grid.set(`${t / DAY}\0${app}`, entry);
      days.push(entry);
    }
  }
  for (const c of counts) {
    const entry = grid.get(`${c.d}\0${appOf(c.app_id)}`);
    const field = COUNTED[c.type];
    if (entry && field) entry[field] += c.n;
  }
  // Counted from D1 only: say how far the archive reaches into the range rather than show it as zeros.
  const archived = await db
    .prepare("SELECT MAX(last_ts) AS t FROM audit_segments WHERE tenant = ? AND state = 'archived'")
    .bind(tenant)
    .first<{ t: number | null }>();
  const archivedThrough = archived?.t != null && archived.t >= from ? archived.t : null;
  return { from, to, days, apps, ...(await topDenied(db, ring, tenant, org, from, to)), archivedThrough };
}

/** The most denied routes and people among the newest `DASHBOARD_TOP_SAMPLE` denials of the range. */
async function topDenied(
  db: D1Database,
  ring: Keyring,
  tenant: string,
  org: string,
  from: number,
  to: number,
): Promise<Pick<Dashboard, 'topDeniedRoutes' | 'topDeniedPeople'>> {
  const { results } = await db
    .prepare(
      `SELECT tenant, seq, sealed FROM audit_events INDEXED BY audit_events_org_type_ts
       WHERE tenant = ? AND org IS ? AND type = 'request.denied' AND ts >= ? AND ts < ? ORDER BY ts DESC LIMIT ?`,
    )
    .bind(tenant, orgColumn(org), from, to, DASHBOARD_TOP_SAMPLE)
    .all<{ tenant: string; seq: number; sealed: string }>();
  const routes = new Map<string, number>();
  const people = new Map<string, number>();
  for (const r of results) {
    const e = await openRow(ring, r).catch(() => null);
    // As in a listing: a row that does not open, or that another organisation's event was moved
    // into, is tampering, and is said so rather than counted.
    if (!e || orgColumn(e.org) !== orgColumn(org)) throw new AuditIntegrityError(r.seq);
    if (e.request) bump(routes, `${e.request.method} ${e.request.path}`);
    if (e.actor) bump(people, subjectIn(org, e.actor));
  }
  return {
    topDeniedRoutes: top(routes).map(([route, count]) => ({ route, count })),
    topDeniedPeople: top(people).map(([person, count]) => ({ person, count })),
  };
}

const bump = (m: Map<string, number>, k: string) => void m.set(k, (m.get(k) ?? 0) + 1);
/** The `DASHBOARD_TOP` largest counts, ties by name. */
const top = (m: Map<string, number>): [string, number][] =>
  [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, DASHBOARD_TOP);
/** The subject as `org`'s apps name it, for a person's key (`<org>/<subject>`, or the subject itself in "default"). */
const subjectIn = (org: string, sub: string): string =>
  org !== DEFAULT_AUDIT_ORG && sub.startsWith(`${org}/`) ? sub.slice(org.length + 1) : sub;
