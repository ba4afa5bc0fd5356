/**
 * @module The dashboard of an organisation through the admin API: its step-ups, failures, denials
 * and lockouts per day and app, and its most denied routes and people (edge/audit/dashboard.ts).
 * Owners, admins and auditors of that organisation only (`dashboard.read`), in a stepped-up
 * session or with a token of scope audit:read; reading it is an audit event, recorded before the
 * data leaves.
 */
import type { Hono } from 'hono';
import { ErrorCode } from '../../shared/errors';
import { AuditIntegrityError } from '../audit/audit-store';
import { dashboardData, dashboardRange } from '../audit/dashboard';
import type { Runtime } from '../deployment/runtime';
import { json, problem } from '../http/responses';
import { requireAdminCaller, requireAllowed, viaOf } from './admin-access';
import { time } from './audit-query';
import { auditBase } from './endpoint-helpers';

export function registerDashboardRoutes(app: Hono, rt: Runtime): void {
  app.get('/.stepgate/api/admin/orgs/:org/dashboard', async (c) => {
    const req = c.req.raw;
    const org = c.req.param('org');
    const caller = await requireAdminCaller(rt, req, org, { write: false, tokenScope: 'audit:read' });
    await requireAllowed(rt, req, caller, 'dashboard.read', { orgId: org });
    const q = new URL(req.url).searchParams;
    // A bad range is refused before anything is recorded or read.
    const range = dashboardRange({
      from: time('from', q.get('from') ?? undefined),
      to: time('to', q.get('to') ?? undefined),
      now: rt.now(),
    });
    await rt.audit.record({
      type: 'audit.read',
      outcome: 'success',
      ...(await auditBase(req, caller.me, viaOf(caller))),
      // The reading belongs to the organisation read (a token may be presented on another's host).
      org,
      ...(org === rt.app.org ? {} : { app_id: null }),
      details: { dashboard_from: new Date(range.from).toISOString(), dashboard_to: new Date(range.to).toISOString() },
    });
    try {
      return json(await dashboardData(rt.db, rt.keys, rt.audit.tenant, org, { ...range, now: rt.now() }));
    } catch (err) {
      if (!(err instanceof AuditIntegrityError)) throw err;
      return problem(ErrorCode.AuditIntegrity, 500, `Stored event ${err.seq} does not open: the audit log was tampered with. Run verify.`, {
        seq: err.seq,
      });
    }
  });
}
