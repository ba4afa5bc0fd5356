/** @module Stepgate's HTML pages: a challenge's step-up page, the enrolment page, the audit console. */
import type { Hono } from 'hono';
import type { Runtime } from '../deployment/runtime';
import { htmlResponse } from '../http/responses';
import { auditPage } from '../pages/audit-page';
import { enrolPage } from '../pages/enrol-page';
import { stepUpPage } from '../pages/step-up-page';
import { loadChallenge } from './endpoint-helpers';

export function registerPageRoutes(app: Hono, rt: Runtime): void {
  app.get('/.stepgate/challenge/:id', async (c) => {
    const ch = await loadChallenge(rt, c.req.raw, c.req.param('id'));
    return htmlResponse(await stepUpPage({ ...ch, challengeId: ch.id }));
  });
  app.get('/.stepgate/enrol', async () => htmlResponse(await enrolPage()));
  app.get('/.stepgate/admin/audit', async () => htmlResponse(await auditPage()));
}
