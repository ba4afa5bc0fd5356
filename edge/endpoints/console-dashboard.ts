/**
 * @module The console's dashboard page: the period asked for (dates, UTC; the last 14 days when none;
 * at most 90 days), the organisation's counts from `dashboardData` (edge/audit/dashboard.ts), and
 * the app names to label them. Bad dates are answered 400 in words, with a way back.
 */
import { listApps } from '../admin/app-store';
import { AuditIntegrityError } from '../audit/audit-store';
import { DASHBOARD_DEFAULT_DAYS, DASHBOARD_MAX_DAYS, dashboardData } from '../audit/dashboard';
import type { Runtime } from '../deployment/runtime';
import { htmlResponse } from '../http/responses';
import { consoleMessage } from '../pages/console-layout';
import { dashboardPage } from '../pages/dashboard-page';
import { type ConsoleViewer, frameOf, pageBadInput } from './console-access';
import { auditBase } from './endpoint-helpers';

const DAY_MS = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A `YYYY-MM-DD` date as ms at its UTC midnight, or null when it is not a real date. */
function dayStart(s: string): number | null {
  if (!DATE.test(s)) return null;
  const t = Date.parse(`${s}T00:00:00Z`);
  return Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== s ? null : t;
}

/**
 * The period of the `from` and `to` dates (both days included; `to` today and `from` 13 days
 * before when absent) as `dashboardData` takes it (`to`: the start of the day after), or why it
 * cannot be used, in words.
 */
export function dashboardPeriod(q: URLSearchParams, now: number): { from: number; to: number } | { problem: string } {
  const f = q.get('from') || null;
  const t = q.get('to') || null;
  const last = t === null ? Math.floor(now / DAY_MS) * DAY_MS : dayStart(t);
  const first = f === null ? (last === null ? null : last - (DASHBOARD_DEFAULT_DAYS - 1) * DAY_MS) : dayStart(f);
  if (last === null || first === null)
    return { problem: 'Write dates as year-month-day, such as 2026-03-07, and show the dashboard again.' };
  if (first > last) return { problem: 'The first day is after the last one: swap them and show the dashboard again.' };
  if ((last - first) / DAY_MS + 1 > DASHBOARD_MAX_DAYS) {
    return { problem: `The dashboard shows at most ${DASHBOARD_MAX_DAYS} days at a time: choose a shorter period.` };
  }
  return { from: first, to: last + DAY_MS };
}

/**
 * The dashboard page: the organisation's counts (reading them is recorded as `audit.read` before
 * they are shown, as the dashboard API does), labelled with its app names.
 */
export async function dashboardAnswer(rt: Runtime, v: ConsoleViewer, req: Request, o: { bundled: string }): Promise<Response> {
  const now = rt.now();
  const period = dashboardPeriod(new URL(req.url).searchParams, now);
  if ('problem' in period) return pageBadInput('dashboard', period.problem);
  const org = v.actor.orgId;
  await rt.audit.record({
    type: 'audit.read',
    outcome: 'success',
    ...(await auditBase(req, v.me)),
    details: { dashboard_from: new Date(period.from).toISOString(), dashboard_to: new Date(period.to).toISOString() },
  });
  let dashboard: Awaited<ReturnType<typeof dashboardData>>;
  try {
    dashboard = await dashboardData(rt.db, rt.keys, rt.audit.tenant, org, { ...period, now });
  } catch (err) {
    if (!(err instanceof AuditIntegrityError)) throw err;
    const page = await consoleMessage({
      title: 'The audit log does not add up',
      message:
        `Stored event ${err.seq} does not open: the audit log was tampered with. ` +
        'Verify the chain on the audit log page, and tell whoever runs Stepgate.',
      back: { href: '/.stepgate/admin/audit', label: 'Open the audit log' },
    });
    return htmlResponse(page, 500);
  }
  const appNames = new Map((await listApps(rt.db, org)).map((a) => [a.id, a.name]));
  if (org === 'default') appNames.set(o.bundled, 'The bundled app');
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return htmlResponse(
    await dashboardPage(frameOf(v, 'dashboard'), { dashboard, appNames, fromDay: day(period.from), toDay: day(period.to - DAY_MS) }),
  );
}
