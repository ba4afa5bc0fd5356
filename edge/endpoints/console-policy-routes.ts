/**
 * @module The console's policy page of an app (GET /.stepgate/admin/orgs/:org/apps/:app/policy,
 * edge/pages/policy-page.ts). Like every console page: the viewer identified (console-access.ts),
 * "confirm it is you" until they hold a fresh step-up, then the page. Who may open it is decided by
 * `authorize` (policy.read on that app) before the app is looked up, so someone without it learns
 * nothing of which apps exist; another organisation's path is answered as no such app.
 */
import type { Hono } from 'hono';
import { getApp } from '../admin/app-store';
import { type Actor, authorize } from '../admin/authorization';
import { BUNDLED_APP_ID, DEFAULT_ORG } from '../apps/app-definition';
import type { Runtime } from '../deployment/runtime';
import { htmlResponse } from '../http/responses';
import { confirmFirst, consoleMessage } from '../pages/console-layout';
import { PAGE_INFO } from '../pages/console-nav';
import { policyPage } from '../pages/policy-page';
import { consoleViewer, frameOf } from './console-access';

export const POLICY_PAGE_PATH = '/.stepgate/admin/orgs/:org/apps/:app/policy';
/** The bundled app's name on the page (its `apps` row exists only to version its policy). */
const BUNDLED_NAME = 'the bundled app';

const message = async (status: number, title: string, text: string): Promise<Response> =>
  htmlResponse(await consoleMessage({ title, message: text, back: { href: PAGE_INFO.apps.path, label: 'Back to the apps' } }), status);

/** An org-wide owner or admin: they change how people enrol, and the organisation's baseline. */
const ownerOrAdmin = (a: Actor): boolean => a.roles.some((r) => r.appId === null && (r.role === 'owner' || r.role === 'admin'));

/** The app's name, or null when the organisation has no such app. The bundled app is looked up by id only. */
async function appName(rt: Runtime, orgId: string, appId: string): Promise<string | null> {
  if (orgId === DEFAULT_ORG && appId === BUNDLED_APP_ID) return BUNDLED_NAME;
  return (await getApp(rt.db, orgId, appId))?.name ?? null;
}

export function registerConsolePolicyRoutes(app: Hono, rt: Runtime): void {
  app.get(POLICY_PAGE_PATH, async (c) => {
    const req = c.req.raw;
    const v = await consoleViewer(rt, req);
    if (v instanceof Response) return v;
    const orgId = v.actor.orgId;
    const appId = c.req.param('app');
    // Why: people act only in the organisation of the app they came through; another's path names nothing they may see.
    const sameOrg = c.req.param('org') === orgId;
    if (!sameOrg || !authorize(v.actor, 'policy.read', { orgId, appId }).allowed) {
      const held = v.actor.roles.length === 0 ? 'You hold no role in this organisation.' : 'None of your roles lets you see it.';
      return message(403, 'This policy: not for you', `${held} If you need it, ask an owner or admin of ${v.orgName}.`);
    }
    const f = frameOf(v, 'apps');
    if (!v.fresh) return htmlResponse(await confirmFirst(f, 'Policy', 'policy-editor'));
    const name = await appName(rt, orgId, appId);
    if (name === null) return message(404, 'No such app', `${v.orgName} has no app “${appId}”. It may have been deleted.`);
    const may = {
      // An app-admin edits the rules, never how people enrol: the API refuses that change.
      update: authorize(v.actor, 'policy.update', { orgId, appId, changesEnrolment: false }).allowed,
      enrolment: authorize(v.actor, 'policy.update', { orgId, appId, changesEnrolment: true }).allowed,
      baseline: ownerOrAdmin(v.actor),
      approve: authorize(v.actor, 'policy.approve', { orgId, appId }).allowed,
    };
    const data = { orgId, appId, appName: name, bundled: appId === BUNDLED_APP_ID && orgId === DEFAULT_ORG, me: v.subject, may };
    return htmlResponse(await policyPage(f, data));
  });
}
