/**
 * @module Stepgate's HTML pages for everyone: a challenge's step-up page and the enrolment page (the
 * admin console is console-routes.ts).
 */
import type { Hono } from 'hono';
import type { Runtime } from '../deployment/runtime';
import { htmlResponse } from '../http/responses';
import { enrolPage } from '../pages/enrol-page';
import { stepUpPage } from '../pages/step-up-page';
import { loadChallenge } from './endpoint-helpers';
import { pageNotices } from './recovery-notices';

export function registerPageRoutes(app: Hono, rt: Runtime): void {
  app.get('/.stepgate/challenge/:id', async (c) => {
    const ch = await loadChallenge(rt, c.req.raw, c.req.param('id'));
    return htmlResponse(await stepUpPage({ ...ch, challengeId: ch.id, notices: await pageNotices(rt, c.req.raw) }));
  });
  app.get('/.stepgate/enrol', async (c) => htmlResponse(await enrolPage(await pageNotices(rt, c.req.raw))));
}
