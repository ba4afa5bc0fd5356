/**
 * @module The administrator endpoints: inviting a person to enrol, unlocking a locked-out person
 * (edge/admin/admin-actions.ts). Administrators are named in the ADMINS variable until tenants and
 * roles exist; every admin action needs a fresh step-up, and nobody acts on themselves.
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import { ErrorCode } from '../../shared/errors';
import { type AdminAction, inviteToEnrol, unlockPerson } from '../admin/admin-actions';
import type { Runtime } from '../deployment/runtime';
import { requireSameOriginJson } from '../http/csrf';
import { json, problem } from '../http/responses';
import { auditBase, jsonBody, requireIdentity, siteOf } from './endpoint-helpers';
import { requireFreshStepUp } from './fresh-step-up';

/**
 * An administrator acting on another person (`{ user }` in the body): from the site itself, with a
 * fresh step-up, and never on themselves (segregation of duties). The action, ready to record.
 */
async function adminActingOnAnother(rt: Runtime, req: Request, what: string, verb: string): Promise<AdminAction | Response> {
  requireSameOriginJson(req, siteOf(req.url).origin);
  const me = await requireIdentity(rt, req);
  if (!rt.admins.includes(me.sub)) return problem(ErrorCode.Forbidden, 403, `Only administrators ${what}.`);
  await requireFreshStepUp(rt, req, me);
  const { user } = await jsonBody(req, z.strictObject({ user: z.string().min(1).max(256) }));
  if (user === me.sub) return problem(ErrorCode.Forbidden, 403, `Segregation of duties: another administrator must ${verb} you.`);
  return { admin: me.sub, user, audit: rt.audit, recordAs: await auditBase(req, me) };
}

export function registerAdminRoutes(app: Hono, rt: Runtime): void {
  // Admins (named in the ADMINS variable until tenants and roles exist) invite people to enrol
  // their first factor. An admin action needs a fresh step-up, and nobody invites themselves.
  app.post('/.stepgate/api/admin/invites', async (c) => {
    const req = c.req.raw;
    const acting = await adminActingOnAnother(rt, req, 'issue invitations', 'invite');
    if (acting instanceof Response) return acting;
    const { code, expiresAt } = await inviteToEnrol({ ...acting, db: rt.db, keys: rt.keys, now: rt.now() });
    return json({ user: acting.user, invite: code, expires_at: new Date(expiresAt).toISOString() }, 201);
  });

  // A person locked out (100 consecutive failures, or backing off) is unlocked by another
  // administrator after a fresh step-up; never by themselves.
  app.post('/.stepgate/api/admin/unlock', async (c) => {
    const req = c.req.raw;
    const acting = await adminActingOnAnother(rt, req, 'unlock people', 'unlock');
    if (acting instanceof Response) return acting;
    const { consecutiveFailures } = await unlockPerson({ ...acting, userState: rt.userState(acting.user) });
    return json({ unlocked: true, user: acting.user, consecutive_failures: consecutiveFailures });
  });
}
