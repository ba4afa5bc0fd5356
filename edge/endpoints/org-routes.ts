/**
 * @module The caller's own place in the administration model: their organisations and roles
 * (GET me), and the bootstrap claim of the first owner (BOOTSTRAP_OWNER, edge/admin/bootstrap.ts).
 * Both need a fresh step-up; the claim is audited, and so is a refused one.
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import { ErrorCode } from '../../shared/errors';
import { claimBootstrapOwner } from '../admin/bootstrap';
import { DEFAULT_ORG, orgsOf } from '../admin/org-store';
import { rolesOf } from '../admin/role-store';
import type { Runtime } from '../deployment/runtime';
import { requireSameOriginJson } from '../http/csrf';
import { json, problem } from '../http/responses';
import { adminBody, recordRefusal, subjectOf } from './admin-access';
import { auditBase, requireIdentity, siteOf } from './endpoint-helpers';
import { requireFreshStepUp } from './fresh-step-up';

/** The variables the bootstrap claim reads (the Worker's environment, as the endpoints are called with it). */
interface BootstrapEnv {
  BOOTSTRAP_OWNER?: unknown;
}

export function registerOrgRoutes(app: Hono, rt: Runtime): void {
  // Who am I here: my organisations and my roles in each (app-admin with its app).
  app.get('/.stepgate/api/admin/me', async (c) => {
    const req = c.req.raw;
    const me = await requireIdentity(rt, req);
    await requireFreshStepUp(rt, req, me);
    const org = rt.app.org;
    // Only this organisation's people are keyed this way: another organisation's roles never show.
    const orgs = (await orgsOf(rt.db, rt.keys, me.sub)).filter((o) => o.id === org);
    const out = await Promise.all(
      orgs.map(async (o) => ({
        id: o.id,
        name: o.name,
        roles: (await rolesOf(rt.db, rt.keys, o.id, me.sub)).map((r) => ({ role: r.role, app_id: r.appId })),
      })),
    );
    return json({ person: subjectOf(org, me.sub), org, orgs: out });
  });

  // The first owner of the default organisation claims it, once, after enrolling a factor.
  app.post('/.stepgate/api/admin/bootstrap', async (c) => {
    const req = c.req.raw;
    requireSameOriginJson(req, siteOf(req.url).origin);
    const me = await requireIdentity(rt, req);
    await adminBody(req, z.strictObject({}));
    await requireFreshStepUp(rt, req, me);
    const named = (c.env as BootstrapEnv | undefined)?.BOOTSTRAP_OWNER;
    // Why: BOOTSTRAP_OWNER names a person of the default organisation; through another
    // organisation's app the same subject is someone else, so the claim is only made there.
    const r = await claimBootstrapOwner(rt.db, rt.keys, {
      bootstrapOwner: typeof named === 'string' && rt.app.org === DEFAULT_ORG ? named : undefined,
      caller: me.sub,
      now: rt.now(),
    });
    if (r.outcome === 'refused') {
      await recordRefusal(rt, req, me, { action: 'bootstrap', code: r.code, reason: r.reason, org: DEFAULT_ORG });
      return r.code === 'owner-exists' ? problem(ErrorCode.Conflict, 409, r.reason) : problem(ErrorCode.Forbidden, 403, r.reason);
    }
    await rt.audit.record({
      type: 'org.owner_claimed',
      outcome: 'success',
      ...(await auditBase(req, me)),
      details: { org: DEFAULT_ORG, grant: r.grant.id },
    });
    return json({ org: DEFAULT_ORG, role: 'owner', grant: r.grant.id, person: me.sub }, 201);
  });
}
