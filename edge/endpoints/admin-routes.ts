/**
 * @module The administrator endpoints on a person: inviting them to enrol, unlocking them after a
 * lockout (edge/admin/admin-actions.ts). Who may is decided from the caller's roles in the
 * organisation of the app they came through (role store, `authorize`): an owner or admin, an
 * app-admin of this app (never on a person who holds a role beyond that app), helpdesk to unlock.
 * Every call needs a fresh step-up; nobody acts on themselves; a refusal is audited with its reason.
 */
import type { Hono } from 'hono';
import * as z from '../http/zod';
import { ErrorCode } from '../../shared/errors';
import { type AdminAction as PersonAction, inviteToEnrol, unlockPerson } from '../admin/admin-actions';
import { type AdminAction, authorize } from '../admin/authorization';
import { rolesOf } from '../admin/role-store';
import type { Runtime } from '../deployment/runtime';
import { requireSameOriginJson } from '../http/csrf';
import { json, problem } from '../http/responses';
import { personOf, recordRefusal, refuseToken } from './admin-access';
import { auditBase, jsonBody, requireIdentity, siteOf } from './endpoint-helpers';
import { requireAdminStepUp } from './fresh-step-up';

/**
 * A person acting on another (`{ user }` in the body, a subject of this app's organisation): from the
 * site itself, holding a role in the organisation, with a fresh step-up, and allowed `action` on
 * that person through this app. The action, ready to record; or the refusal.
 */
async function actingOnAnother(rt: Runtime, req: Request, action: AdminAction): Promise<PersonAction | Response> {
  refuseToken(req); // invitations and unlocking need a person in a browser, never an API token
  requireSameOriginJson(req, siteOf(req.url).origin);
  const me = await requireIdentity(rt, req);
  const org = rt.app.org;
  const roles = await rolesOf(rt.db, rt.keys, org, me.sub);
  if (roles.length === 0) {
    const reason = 'none of your roles allows this action';
    await recordRefusal(rt, req, me, { action, code: 'not-allowed', reason, org, appId: rt.app.id });
    return problem(ErrorCode.Forbidden, 403, `${reason} (${action})`);
  }
  await requireAdminStepUp(rt, req, me);
  const { user } = await jsonBody(req, z.strictObject({ user: z.string().check(z.minLength(1), z.maxLength(256)) }));
  const key = personOf(org, user);
  // The person's own roles: an app-admin never acts on someone who holds a role beyond their apps.
  const personRoles = await rolesOf(rt.db, rt.keys, org, key);
  const d = authorize({ sub: me.sub, orgId: org, roles }, action, { orgId: org, appId: rt.app.id, person: key, personRoles });
  if (!d.allowed) {
    await recordRefusal(rt, req, me, { action, code: d.code, reason: d.reason, org, appId: rt.app.id, person: key });
    return problem(ErrorCode.Forbidden, 403, d.reason);
  }
  const base = await auditBase(req, me);
  return { admin: me.sub, user: key, audit: rt.audit, recordAs: base, context: { org, app_id: rt.app.id } };
}

export function registerAdminRoutes(app: Hono, rt: Runtime): void {
  // Owners, admins and this app's app-admins invite people to enrol their first factor.
  app.post('/.stepgate/api/admin/invites', async (c) => {
    const req = c.req.raw;
    const acting = await actingOnAnother(rt, req, 'person.invite');
    if (acting instanceof Response) return acting;
    const { code, expiresAt } = await inviteToEnrol({ ...acting, db: rt.db, keys: rt.keys, now: rt.now() });
    return json({ user: acting.user, invite: code, expires_at: new Date(expiresAt).toISOString() }, 201);
  });

  // A person locked out (100 consecutive failures, or backing off) is unlocked by someone else with
  // the right role (owner, admin, this app's app-admin, helpdesk) after a fresh step-up.
  app.post('/.stepgate/api/admin/unlock', async (c) => {
    const req = c.req.raw;
    const acting = await actingOnAnother(rt, req, 'person.unlock');
    if (acting instanceof Response) return acting;
    const { consecutiveFailures } = await unlockPerson({ ...acting, userState: rt.userState(acting.user) });
    return json({ unlocked: true, user: acting.user, consecutive_failures: consecutiveFailures });
  });
}
