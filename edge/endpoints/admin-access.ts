/**
 * @module What every call of the admin API (/.stepgate/api/admin/orgs/:org/...) does first: from the
 * site itself for a write, the caller identified, their roles in the organisation read from the role
 * store, a fresh step-up, and each action decided by `authorize` (edge/admin/authorization.ts).
 * An organisation, or an app, the caller holds no role in is answered 404 with a body that names
 * nothing; a refusal by a rule is 403 ERR_FORBIDDEN with the rule's reason. Both are audited
 * (`admin.refused`), before the answer.
 */
import type { z } from 'zod';
import { ErrorCode } from '../../shared/errors';
import { personKey } from '../apps/app-people';
import { type Actor, type AdminAction, type AdminTarget, authorize, type Decision } from '../admin/authorization';
import { rolesOf } from '../admin/role-store';
import type { AuditDetails } from '../audit/events';
import type { Runtime } from '../deployment/runtime';
import { requireSameOriginJson } from '../http/csrf';
import { StepgateError } from '../http/stepgate-error';
import type { Identity } from '../identity/identity-source';
import { auditBase, jsonBody, requireIdentity, siteOf } from './endpoint-helpers';
import { requireFreshStepUp } from './fresh-step-up';

/** The caller of an admin call: who they are, and their roles in the organisation named by the path. */
export interface AdminCaller {
  me: Identity;
  actor: Actor;
}

/** The answer to an organisation or app the caller holds no role in: it names nothing, not even what was asked. */
export const NOT_FOUND_ORG = 'No such organisation, or you hold no role in it.';
export const NOT_FOUND_APP = 'No such app, or you hold no role for it.';

/** The person's key in `org` (Identity.sub) for a subject as the organisation's apps name them. */
export const personOf = (org: string, subject: string): string => personKey(org, subject);
/** The subject as the organisation's apps name it, for a person's key in `org`. */
export const subjectOf = (org: string, sub: string): string => (sub.startsWith(`${org}/`) ? sub.slice(org.length + 1) : sub);

/** Record a refusal of a signed-in person's admin action (before the answer). */
export async function recordRefusal(
  rt: Runtime,
  req: Request,
  me: Pick<Identity, 'sub'>,
  r: {
    action: AdminAction | 'admin.access' | 'bootstrap';
    code: string;
    reason: string;
    org: string;
    appId?: string | null;
    person?: string;
  },
): Promise<void> {
  await rt.audit.record({
    type: 'admin.refused',
    outcome: 'denied',
    ...(await auditBase(req, me)),
    reason: r.reason,
    ...(r.person === undefined ? {} : { target: r.person }),
    details: { action: r.action, code: r.code, org: r.org, app_id: r.appId ?? null },
  });
}

/**
 * The caller of an admin call on organisation `org`: a same-origin JSON request for a write, an
 * identified person of this organisation who holds a role in it, with a fresh step-up.
 *
 * @throws {StepgateError} 403/415 (not same-origin JSON), 401 (no identity), 404 (no role in `org`:
 *   recorded), 403 ERR_FRESH_STEP_UP_REQUIRED
 */
export async function requireAdminCaller(rt: Runtime, req: Request, org: string, o: { write: boolean }): Promise<AdminCaller> {
  if (o.write) requireSameOriginJson(req, siteOf(req.url).origin);
  const me = await requireIdentity(rt, req);
  // People are keyed by the organisation of the app they came through: nobody acts on another.
  const roles = org === rt.app.org ? await rolesOf(rt.db, rt.keys, org, me.sub) : [];
  if (roles.length === 0) {
    await recordRefusal(rt, req, me, { action: 'admin.access', code: 'no-role', reason: NOT_FOUND_ORG, org });
    throw new StepgateError(ErrorCode.NotFound, 404, NOT_FOUND_ORG);
  }
  await requireFreshStepUp(rt, req, me);
  return { me, actor: { sub: me.sub, orgId: org, roles } };
}

/**
 * `authorize`, answered: nothing when allowed; else the refusal recorded and thrown — 404 when an
 * app-admin asks about an app not theirs (its existence is not confirmed), otherwise 403 with the reason.
 */
export async function requireAllowed(
  rt: Runtime,
  req: Request,
  caller: AdminCaller,
  action: AdminAction,
  target: AdminTarget,
): Promise<void> {
  const d: Decision = authorize(caller.actor, action, target);
  if (d.allowed) return;
  const hidden = d.code === 'not-your-app';
  await recordRefusal(rt, req, caller.me, {
    action,
    code: d.code,
    reason: hidden ? NOT_FOUND_APP : d.reason,
    org: target.orgId,
    appId: target.appId ?? null,
    ...(target.person === undefined ? {} : { person: target.person }),
  });
  throw hidden ? new StepgateError(ErrorCode.NotFound, 404, NOT_FOUND_APP) : new StepgateError(ErrorCode.Forbidden, 403, d.reason);
}

/** Record a change made by an admin call (after it is stored, before the answer). */
export async function recordChange(
  rt: Runtime,
  req: Request,
  caller: AdminCaller,
  type: 'role.granted' | 'role.revoked' | 'app.created' | 'app.updated' | 'app.deleted' | 'app.policy_updated',
  o: { org: string; appId: string | null; person?: string; details?: AuditDetails },
): Promise<void> {
  await rt.audit.record({
    type,
    outcome: 'success',
    ...(await auditBase(req, caller.me)),
    ...(o.person === undefined ? {} : { target: o.person }),
    details: { org: o.org, app_id: o.appId, ...o.details },
  });
}

/** Admin bodies may carry a whole policy: up to 256 KiB (jsonBody's 16 KiB is for the small ones). */
export const MAX_ADMIN_BODY = 256 * 1024;

/** Parse an admin call's JSON body (an empty body is `{}`) against a schema. @throws {StepgateError} 400 naming the field, 413 */
export const adminBody = <T>(req: Request, schema: z.ZodType<T>): Promise<T> =>
  jsonBody(req, schema, { maxBytes: MAX_ADMIN_BODY, emptyBody: {} });
