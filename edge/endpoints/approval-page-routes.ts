/**
 * @module The dual-control pages (docs/approvals.md, "Pages"): the queue at `/.stepgate/approvals` and
 * one request at `/.stepgate/approvals/:id`, in the console's frame, on every app's host, for anyone
 * signed in to the app (asking for an approval or being named as an approver needs no role). The
 * pages only show; every action is the API's, decided again there.
 */
import type { Hono } from 'hono';
import { htmlResponse } from '../http/responses';
import { StepgateError } from '../http/stepgate-error';
import { approvalPage } from '../pages/approval-page';
import { approvalsPage } from '../pages/approvals-page';
import { consoleMessage } from '../pages/console-layout';
import type { Runtime } from '../deployment/runtime';
import { approvalListFor } from './approval-list';
import { approvalFor, viewerOf } from './approval-vote';
import { consoleViewer, frameOf } from './console-access';

export function registerApprovalPageRoutes(app: Hono, rt: Runtime): void {
  app.get('/.stepgate/approvals', async (c) => {
    const v = await consoleViewer(rt, c.req.raw);
    if (v instanceof Response) return v;
    const list = await approvalListFor(rt, await viewerOf(rt, v.me));
    return htmlResponse(await approvalsPage(frameOf(v, 'approvals'), { list }));
  });

  app.get('/.stepgate/approvals/:id', async (c) => {
    const v = await consoleViewer(rt, c.req.raw);
    if (v instanceof Response) return v;
    try {
      const approval = await approvalFor(rt, c.req.param('id'), await viewerOf(rt, v.me));
      return htmlResponse(await approvalPage(frameOf(v, 'approvals'), { approval }));
    } catch (err) {
      if (!(err instanceof StepgateError) || err.status !== 404) throw err;
      const body = await consoleMessage({
        title: 'No such request',
        message: 'There is no request for approval here that you may see: it may belong to someone else, or to another organisation.',
        back: { href: '/.stepgate/approvals', label: 'Back to your approvals' },
      });
      return htmlResponse(body, 404);
    }
  });
}
