/**
 * @module Widening an app's canary through the admin API (edge/admin/policy-canary.ts):
 * POST /.stepgate/api/admin/orgs/:org/apps/:app/policy/canary `{percent}` — `policy.update` after the
 * caller checks of admin-access.ts. Only widening: 100 gives everyone the active version and ends
 * the canary; a smaller share is refused (409: roll back instead). The canary itself is started by a
 * version with `canary_percent` (PUT …/policy, POST …/policy/versions) and read with GET …/policy.
 */
import type { Hono } from 'hono';
import * as z from '../http/zod';
import { ErrorCode } from '../../shared/errors';
import { widenCanary } from '../admin/policy-canary';
import type { Runtime } from '../deployment/runtime';
import { json, problem } from '../http/responses';
import { adminBody, NOT_FOUND_APP, requireAllowed } from './admin-access';
import { adminCall } from './admin-call';
import { appRef, recordPolicyEvent } from './policy-version-answers';

const PATH = '/.stepgate/api/admin/orgs/:org/apps/:app/policy/canary';

export function registerPolicyCanaryRoutes(app: Hono, rt: Runtime): void {
  app.post(PATH, async (c) => {
    const { req, org, caller } = await adminCall(rt, c, true);
    const appId = c.req.param('app');
    const body = await adminBody(req, z.strictObject({ percent: z.number().check(z.int(), z.gte(1), z.lte(100)) }));
    // Widening enforces the active version (which did not weaken its base) for more people: no change of enrolment.
    await requireAllowed(rt, req, caller, 'policy.update', { orgId: org, appId, changesEnrolment: false });
    const r = await widenCanary(rt.db, { ...appRef(rt, org, appId), percent: body.percent, now: rt.now() });
    if (!r.ok) {
      if (r.code === 'not-found') return problem(ErrorCode.NotFound, 404, NOT_FOUND_APP);
      return problem(ErrorCode.Conflict, 409, r.reason);
    }
    await recordPolicyEvent(rt, req, caller, r.completed ? 'policy.canary_completed' : 'policy.canary_widened', {
      org,
      appId,
      details: { version: r.version, from: r.from, percent: r.percent },
    });
    return json({
      app_id: appId,
      version: r.version,
      canary: r.completed ? null : { percent: r.percent },
      completed: r.completed,
    });
  });
}
