/**
 * @module The console's organisation baseline page (GET /.stepgate/admin/orgs/:org/baseline,
 * edge/pages/baseline-page.ts). Like every console page: the viewer identified (console-access.ts),
 * "confirm it is you" until they hold a fresh step-up, then the page. Who may open it is `authorize`
 * (`baseline.read`: owners, admins, auditors, app-admins); another organisation's path is refused
 * without saying whether it exists.
 */
import type { Hono } from 'hono';
import { proposalReasons } from '../admin/baseline-impact';
import { authorize } from '../admin/authorization';
import { getBaseline } from '../admin/policy-baseline';
import type { Runtime } from '../deployment/runtime';
import { htmlResponse } from '../http/responses';
import { readBaseline } from '../policy/baseline-document';
import { baselinePage } from '../pages/baseline-page';
import { confirmFirst, consoleMessage } from '../pages/console-layout';
import { PAGE_INFO } from '../pages/console-nav';
import { subjectOf } from './admin-access';
import { consoleViewer, frameOf } from './console-access';

export const BASELINE_PAGE_PATH = '/.stepgate/admin/orgs/:org/baseline';

export function registerConsoleBaselineRoutes(app: Hono, rt: Runtime): void {
  app.get(BASELINE_PAGE_PATH, async (c) => {
    const v = await consoleViewer(rt, c.req.raw);
    if (v instanceof Response) return v;
    const orgId = v.actor.orgId;
    // Why: people act only in the organisation of the app they came through; another's path names nothing they may see.
    if (c.req.param('org') !== orgId || !authorize(v.actor, 'baseline.read', { orgId }).allowed) {
      const held = v.actor.roles.length === 0 ? 'You hold no role in this organisation.' : 'None of your roles lets you see it.';
      const body = await consoleMessage({
        title: 'Organisation baseline: not for you',
        message: `${held} If you need it, ask an owner or admin of ${v.orgName}.`,
        back: { href: PAGE_INFO.overview.path, label: 'Back to the console overview' },
      });
      return htmlResponse(body, 403);
    }
    const f = frameOf(v, 'apps');
    if (!v.fresh) return htmlResponse(await confirmFirst(f, 'Organisation baseline', 'baseline'));
    const b = await getBaseline(rt.db, rt.keys, orgId);
    const proposed = b?.proposal ? readBaseline(JSON.stringify(b.proposal.document)) : null;
    // Why it weakens: against the baseline in force and against every app it binds (baseline-impact.ts), as the approval checks it.
    const reasons =
      b?.document && proposed
        ? await proposalReasons(rt.db, orgId, rt.bundledPolicy.policy, JSON.stringify(b.document), proposed)
        : ['It cannot be compared with the baseline in force.'];
    return htmlResponse(
      await baselinePage(f, {
        baseline: b
          ? { document: b.document, hash: b.hash, updatedAt: b.updatedAt, updatedBy: b.updatedBy && subjectOf(orgId, b.updatedBy) }
          : null,
        proposal: b?.proposal
          ? {
              json: JSON.stringify(b.proposal.document, null, 2),
              hash: b.proposal.hash,
              by: b.proposal.by && subjectOf(orgId, b.proposal.by),
              at: b.proposal.at,
              mine: b.proposal.by === v.me.sub,
              reasons,
            }
          : null,
        mayUpdate: authorize(v.actor, 'baseline.update', { orgId }).allowed,
      }),
    );
  });
}
