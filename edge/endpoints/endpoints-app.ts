/**
 * @module createEndpointsApp: Stepgate's own endpoints under /.stepgate/* and /.well-known/stepgate,
 * assembled from the route modules of this folder. Requests there are answered here and never forwarded.
 */
import { Hono } from 'hono';
import { ErrorCode } from '../../shared/errors';
import type { Runtime } from '../deployment/runtime';
import type { PageScripts } from '../pages/page-scripts';
import { errorResponse, problem } from '../http/responses';
import { registerAdminRoutes } from './admin-routes';
import { registerAppRoutes } from './app-routes';
import { registerApprovalPageRoutes } from './approval-page-routes';
import { registerApprovalRoutes } from './approval-routes';
import { registerAssetRoutes } from './asset-routes';
import { registerBaselineRoutes } from './baseline-routes';
import { registerConsoleBaselineRoutes } from './console-baseline-routes';
import { registerAuditExportRoutes } from './audit-export-routes';
import { registerAuditRoutes } from './audit-routes';
import { registerAuditStreamRoutes } from './audit-stream-routes';
import { registerChallengeRoutes } from './challenge-routes';
import { registerDashboardRoutes } from './dashboard-routes';
import { consoleHostsOnly, noSuchEndpoint } from './console-hosts';
import { registerConsolePolicyRoutes } from './console-policy-routes';
import { registerConsoleRoutes } from './console-routes';
import { registerDiscoveryRoutes } from './discovery-routes';
import { registerEnrolmentRoutes } from './enrolment-routes';
import { registerFactorRoutes } from './factor-routes';
import { registerMaintenanceRoutes } from './maintenance-routes';
import { registerMeRoutes } from './me-routes';
import { registerOrgRoutes } from './org-routes';
import { registerPageRoutes } from './page-routes';
import { registerPeopleRoutes } from './people-routes';
import { registerPolicyReportRoutes } from './policy-report-routes';
import { registerPolicyToolRoutes } from './policy-tool-routes';
import { registerPolicyCanaryRoutes } from './policy-canary-routes';
import { registerPolicyVersionRoutes } from './policy-version-routes';
import { registerRecoveryRoutes } from './recovery-routes';
import { registerRoleRoutes } from './role-routes';
import { registerTokenRoutes } from './token-routes';
import { registerWebhookRoutes } from './webhook-routes';

/** Whether a canonical path (as its segments) is Stepgate's own: /.stepgate/* or /.well-known/stepgate*. */
export const isStepgatePath = (segments: readonly string[]): boolean => {
  const first = segments[0]?.toLowerCase();
  return first === '.stepgate' || (first === '.well-known' && segments[1]?.toLowerCase() === 'stepgate');
};

/**
 * Build Stepgate's endpoints for a runtime. Routes are matched on the canonical path. `pageScripts`:
 * where the pages' scripts come from (the gateway's static assets, or embedded in library mode).
 */
export function createEndpointsApp(rt: Runtime, pageScripts?: PageScripts): Hono {
  const app = new Hono({ strict: true });
  // Before every route: with CONSOLE_HOSTS, the console, admin API and tokens answer only on those hosts.
  app.use('*', consoleHostsOnly(rt.consoleHosts));

  registerDiscoveryRoutes(app, rt);
  registerPageRoutes(app, rt);
  registerConsoleRoutes(app, rt);
  registerConsolePolicyRoutes(app, rt);
  registerAssetRoutes(app, pageScripts);
  registerChallengeRoutes(app, rt);
  registerEnrolmentRoutes(app, rt);
  registerFactorRoutes(app, rt);
  registerAdminRoutes(app, rt);
  registerOrgRoutes(app, rt);
  registerAppRoutes(app, rt);
  registerPolicyReportRoutes(app, rt);
  registerPolicyVersionRoutes(app, rt);
  registerPolicyCanaryRoutes(app, rt);
  registerPolicyToolRoutes(app, rt);
  registerBaselineRoutes(app, rt);
  registerConsoleBaselineRoutes(app, rt);
  registerRoleRoutes(app, rt);
  registerPeopleRoutes(app, rt);
  registerAuditRoutes(app, rt);
  registerAuditExportRoutes(app, rt);
  registerAuditStreamRoutes(app, rt);
  registerDashboardRoutes(app, rt);
  registerMaintenanceRoutes(app, rt);
  registerTokenRoutes(app, rt);
  registerRecoveryRoutes(app, rt);
  registerMeRoutes(app, rt);
  registerApprovalRoutes(app, rt);
  registerApprovalPageRoutes(app, rt);
  registerWebhookRoutes(app, rt);

  app.notFound((c) => {
    const known = app.routes.some((r) => r.path === c.req.path);
    return known
      ? problem(ErrorCode.MethodNotAllowed, 405, `${c.req.method} is not allowed here.`, {}, { allow: 'GET, HEAD' })
      : noSuchEndpoint();
  });
  app.onError((err) => errorResponse(err));
  return app;
}
