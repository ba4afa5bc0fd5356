/**
 * @module The role grants of an organisation (edge/admin/role-store.ts), through the admin API:
 * list, grant, revoke. Who may, and the segregation rules (nobody changes their own roles, only an
 * owner grants or revokes owner, the last owner stays), are `authorize`'s and the store's; each
 * grant and revocation is audited with who did it, to whom, the organisation and the app.
 */
import type { Hono } from 'hono';
import * as z from '../http/zod';
import { ErrorCode } from '../../shared/errors';
import { lastOwnerRefusal, ROLES } from '../admin/authorization';
import { grantRole, listRoleGrants, type RoleGrant, revokeRole } from '../admin/role-store';
import type { Runtime } from '../deployment/runtime';
import { json, problem } from '../http/responses';
import { adminBody, personOf, recordChange, recordRefusal, requireAllowed, subjectOf } from './admin-access';
import { adminCall } from './admin-call';

const BASE = '/.stepgate/api/admin/orgs/:org/roles';

/** A grant as the API shows it: people by their subject in the organisation. */
const grantJson = (org: string, g: RoleGrant) => ({
  id: g.id,
  person: subjectOf(org, g.person),
  role: g.role,
  app_id: g.appId,
  granted_by: g.grantedBy === null ? null : subjectOf(org, g.grantedBy),
  granted_at: new Date(g.grantedAt).toISOString(),
});

export function registerRoleRoutes(app: Hono, rt: Runtime): void {
  app.get(BASE, async (c) => {
    const { req, org, caller } = await adminCall(rt, c, false);
    await requireAllowed(rt, req, caller, 'role.read', { orgId: org });
    const grants = await listRoleGrants(rt.db, rt.keys, { orgId: org });
    return json({ grants: grants.map((g) => grantJson(org, g)) });
  });

  app.post(BASE, async (c) => {
    const { req, org, caller } = await adminCall(rt, c, true);
    const body = await adminBody(
      req,
      z.strictObject({
        person: z.string().check(z.minLength(1), z.maxLength(256)),
        role: z.enum(ROLES),
        app_id: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
      }),
    );
    if ((body.role === 'app-admin') !== (body.app_id !== undefined)) {
      return problem(
        ErrorCode.BadRequest,
        400,
        body.role === 'app-admin'
          ? 'app_id: app-admin is granted for an app: name it'
          : `app_id: ${body.role} is granted for the whole organisation`,
      );
    }
    const person = personOf(org, body.person, 'person');
    await requireAllowed(rt, req, caller, 'role.grant', {
      orgId: org,
      person,
      role: body.role,
      ...(body.app_id === undefined ? {} : { appId: body.app_id }),
    });
    const r = await grantRole(rt.db, rt.keys, {
      orgId: org,
      appId: body.app_id ?? null,
      sub: person,
      role: body.role,
      grantedBy: caller.me.sub,
      now: rt.now(),
    });
    if (!r.ok) {
      return r.code === 'exists' ? problem(ErrorCode.Conflict, 409, r.reason) : problem(ErrorCode.NotFound, 404, r.reason);
    }
    await recordChange(rt, req, caller, 'role.granted', {
      org,
      appId: r.grant.appId,
      person,
      details: { role: r.grant.role, grant: r.grant.id },
    });
    return json({ grant: grantJson(org, r.grant) }, 201);
  });

  app.delete(`${BASE}/:grant`, async (c) => {
    const { req, org, caller } = await adminCall(rt, c, true);
    const grantId = c.req.param('grant');
    await adminBody(req, z.strictObject({}));
    const grant = (await listRoleGrants(rt.db, rt.keys, { orgId: org })).find((g) => g.id === grantId);
    if (!grant) return problem(ErrorCode.NotFound, 404, 'No such role grant in this organisation.');
    await requireAllowed(rt, req, caller, 'role.revoke', {
      orgId: org,
      person: grant.person,
      role: grant.role,
      ...(grant.appId === null ? {} : { appId: grant.appId }),
    });
    const r = await revokeRole(rt.db, rt.keys, { orgId: org, grantId });
    if (!r.ok) {
      if (r.code === 'not-found') return problem(ErrorCode.NotFound, 404, 'No such role grant in this organisation.');
      const refusal = lastOwnerRefusal();
      const reason = refusal.allowed ? 'last owner' : refusal.reason;
      await recordRefusal(rt, req, caller.me, {
        action: 'role.revoke',
        code: 'last-owner',
        reason,
        org,
        appId: grant.appId,
        person: grant.person,
      });
      return problem(ErrorCode.Forbidden, 403, reason);
    }
    await recordChange(rt, req, caller, 'role.revoked', {
      org,
      appId: grant.appId,
      person: grant.person,
      details: { role: grant.role, grant: grant.id },
    });
    return json({ revoked: true, id: grant.id });
  });
}
