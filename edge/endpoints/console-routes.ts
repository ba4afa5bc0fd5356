/**
 * @module The admin console's pages under /.stepgate/admin: the overview, apps, people and roles,
 * API tokens, the audit log and the dashboard, rendered on the server from the domain stores
 * (edge/pages/*). Each page identifies the caller (console-access.ts), refuses a page their roles
 * do not allow (403, in words, with a way back), shows only "confirm it is you" until they hold a
 * fresh step-up, and then their organisation's data only. Actions are the admin API's, sent by
 * the page scripts, and decided there again.
 */
import type { Hono } from 'hono';
import { BUNDLED_APP_ID } from '../apps/app-definition';
import { bundledAppOf, listApps } from '../admin/app-store';
import { getAppPolicy } from '../admin/app-policy-store';
import { listTokens, MAX_TOKEN_TTL_DAYS } from '../admin/api-tokens';
import { authorize } from '../admin/authorization';
import { DEFAULT_ORG } from '../admin/org-store';
import { scopeUsableBy, TOKEN_SCOPES } from '../admin/token-scopes';
import type { Runtime } from '../deployment/runtime';
import { htmlResponse } from '../http/responses';
import { appsPage } from '../pages/apps-page';
import { auditPage } from '../pages/audit-page';
import { confirmFirst } from '../pages/console-layout';
import { type ConsolePage, PAGE_INFO } from '../pages/console-nav';
import { overviewPage } from '../pages/console-overview-page';
import { peoplePage } from '../pages/people-page';
import { tokensPage } from '../pages/tokens-page';
import { subjectOf } from './admin-access';
import { type ConsoleViewer, consoleViewer, frameOf, pageRefused } from './console-access';
import { dashboardAnswer } from './console-dashboard';
import { peopleData } from './console-people';

/** The page scripts (edge/browser/*.ts) of each page. */
const SCRIPT: Record<ConsolePage, string> = {
  overview: 'console',
  approvals: 'approvals',
  apps: 'apps',
  people: 'people',
  tokens: 'tokens',
  audit: 'audit',
  dashboard: 'console',
};

/** A page's title: its name in the navigation ("Console" for the overview). */
const titleOf = (p: ConsolePage): string => (p === 'overview' ? 'Console' : PAGE_INFO[p].label);

/**
 * Register a console page: the viewer identified; refused (403) when their roles do not allow the
 * page; "confirm it is you" until they hold a fresh step-up; otherwise `render`.
 */
function page(app: Hono, rt: Runtime, p: ConsolePage, render: (v: ConsoleViewer, req: Request) => Promise<Response>): void {
  app.get(PAGE_INFO[p].path, async (c) => {
    const req = c.req.raw;
    const v = await consoleViewer(rt, req);
    if (v instanceof Response) return v;
    if (!v.allowed.has(p)) return pageRefused(v, p);
    if (!v.fresh && v.actor.roles.length > 0) return htmlResponse(await confirmFirst(frameOf(v, p), titleOf(p), SCRIPT[p]));
    return render(v, req);
  });
}

/** The bootstrap claim is offered only to the person BOOTSTRAP_OWNER names, in the default organisation. */
const namedBootstrapOwner = (env: unknown): string | undefined => {
  const named = (env as { BOOTSTRAP_OWNER?: unknown } | undefined)?.BOOTSTRAP_OWNER;
  return typeof named === 'string' && named !== '' ? named : undefined;
};

export function registerConsoleRoutes(app: Hono, rt: Runtime): void {
  app.get(PAGE_INFO.overview.path, async (c) => {
    const v = await consoleViewer(rt, c.req.raw);
    if (v instanceof Response) return v;
    const f = frameOf(v, 'overview');
    if (v.actor.roles.length > 0 && !v.fresh) return htmlResponse(await confirmFirst(f, titleOf('overview'), SCRIPT.overview));
    const org = v.actor.orgId;
    const all = v.actor.roles.length ? await listApps(rt.db, org) : [];
    const apps = all.filter((a) => authorize(v.actor, 'app.read', { orgId: org, appId: a.id }).allowed);
    const offerClaim =
      v.actor.roles.length === 0 && org === DEFAULT_ORG && namedBootstrapOwner(c.env) === v.me.sub && rt.app.org === DEFAULT_ORG;
    return htmlResponse(
      await overviewPage(f, { roles: v.actor.roles, apps, appNames: new Map(all.map((a) => [a.id, a.name])), offerClaim }),
    );
  });

  page(app, rt, 'apps', async (v) => {
    const org = v.actor.orgId;
    const may = (action: Parameters<typeof authorize>[1], appId?: string) =>
      authorize(v.actor, action, { orgId: org, ...(appId === undefined ? {} : { appId }) }).allowed;
    const bundled = await bundledAppOf(rt.db, org);
    const listed = [...(bundled ? [{ ...bundled, bundled: true as const }] : []), ...(await listApps(rt.db, org))];
    const apps = listed.filter((a) => may('app.read', a.id));
    const views = await Promise.all(
      apps.map(async (a) => {
        const policy = may('policy.read', a.id) ? await getAppPolicy(rt.db, rt.keys, { orgId: org, appId: a.id }) : null;
        return {
          app: a,
          policy,
          policyBy: policy?.updatedBy ? subjectOf(org, policy.updatedBy) : null,
          may: {
            update: may('app.update', a.id),
            delete: may('app.delete', a.id),
            // An app-admin edits the rules, never how people enrol: the API refuses that change.
            policyUpdate: authorize(v.actor, 'policy.update', { orgId: org, appId: a.id, changesEnrolment: false }).allowed,
            enrolment: may('policy.update', a.id),
          },
        };
      }),
    );
    const data = { apps: views, mayCreate: may('app.create'), development: rt.development, hasBundledApp: org === DEFAULT_ORG };
    return htmlResponse(await appsPage(frameOf(v, 'apps'), data));
  });

  page(app, rt, 'people', async (v, req) => {
    const d = await peopleData(rt, v, new URL(req.url).searchParams.get('user') ?? '');
    return d instanceof Response ? d : htmlResponse(await peoplePage(frameOf(v, 'people'), d));
  });

  page(app, rt, 'tokens', async (v) => {
    const now = rt.now();
    const tokens = (await listTokens(rt.db, rt.keys, v.me.sub)).filter((t) => t.org === v.actor.orgId);
    const scopes = TOKEN_SCOPES.filter((s) => scopeUsableBy(v.actor, s));
    return htmlResponse(await tokensPage(frameOf(v, 'tokens'), { tokens, scopes, maxDays: MAX_TOKEN_TTL_DAYS, now }));
  });

  page(app, rt, 'audit', async (v) => {
    const target = { orgId: v.actor.orgId };
    const mayExport = authorize(v.actor, 'audit.export', target).allowed;
    // The chain holds every organisation's events: only the default organisation's readers verify it.
    const mayVerify = v.actor.orgId === DEFAULT_ORG && authorize(v.actor, 'audit.read', target).allowed;
    return htmlResponse(await auditPage(frameOf(v, 'audit'), { mayExport, mayVerify }));
  });

  page(app, rt, 'dashboard', async (v, req) => dashboardAnswer(rt, v, req, { bundled: BUNDLED_APP_ID }));
}
