/**
 * @module What an app's report-only rules would have challenged, through the admin API:
 * GET /.stepgate/api/admin/orgs/:org/apps/:app/policy/report?hours=24 — per rule, requests, distinct
 * people and the top routes (edge/policy/report-store.ts). Reading it is `policy.read` (owners,
 * admins, the app's app-admins; a token with admin:read), after the caller checks of admin-access.ts.
 */
import type { Hono } from 'hono';
import { ErrorCode } from '../../shared/errors';
import { BUNDLED_APP_ID, DEFAULT_ORG } from '../apps/app-definition';
import { getApp } from '../admin/app-store';
import type { Runtime } from '../deployment/runtime';
import { json, problem } from '../http/responses';
import { REPORT_RETENTION_DAYS, reportSummary } from '../policy/report-store';
import { NOT_FOUND_APP, requireAdminCaller, requireAllowed } from './admin-access';

const PATH = '/.stepgate/api/admin/orgs/:org/apps/:app/policy/report';
const MAX_HOURS = REPORT_RETENTION_DAYS * 24;

/** `hours`: a whole number from 1 to 168 (what is kept); 24 when absent. Else null. */
export function reportHours(raw: string | undefined): number | null {
  if (raw === undefined) return 24;
  if (!/^[1-9]\d{0,2}$/.test(raw)) return null;
  const n = Number(raw);
  return n <= MAX_HOURS ? n : null;
}

export function registerPolicyReportRoutes(app: Hono, rt: Runtime): void {
  app.get(PATH, async (c) => {
    const req = c.req.raw;
    const org = c.req.param('org');
    const appId = c.req.param('app');
    const caller = await requireAdminCaller(rt, req, org, { write: false });
    await requireAllowed(rt, req, caller, 'policy.read', { orgId: org, appId });
    const hours = reportHours(c.req.query('hours'));
    if (hours === null) return problem(ErrorCode.BadRequest, 400, `hours: a whole number from 1 to ${MAX_HOURS}`);
    // The bundled app (policy.json) is the default organisation's; every other app is in D1.
    const exists = (org === DEFAULT_ORG && appId === BUNDLED_APP_ID) || (await getApp(rt.db, org, appId)) !== null;
    if (!exists) return problem(ErrorCode.NotFound, 404, NOT_FOUND_APP);
    const s = await reportSummary(rt.db, rt.keys, appId, { sinceMs: rt.now() - hours * 3_600_000 });
    return json({
      app_id: appId,
      hours,
      since: new Date(s.since).toISOString(),
      rules: s.rules.map((r) => ({
        rule: r.rule,
        requests: r.requests,
        people: r.people,
        anonymous: r.anonymous,
        top_routes: r.topRoutes,
      })),
      dropped: s.dropped,
    });
  });
}
