/**
 * @module A person of an organisation, through the admin API: look them up (factors, lockout, roles,
 * tokens, recovery) and revoke their factors, grants or tokens at once (edge/admin/person-revocation.ts).
 * Revoking factors or grants is `person.revoke-factors` (owners and admins, never on oneself);
 * revoking tokens is `token.revoke` (owners and admins; one's own allowed); only an owner does either
 * to an owner. Each revocation is audited (`person.revoked`) with who did it, to whom, what and how much,
 * and a person whose factors went is told (a notice in their Durable Object).
 */
import type { Hono } from 'hono';
import * as z from '../http/zod';
import { ErrorCode } from '../../shared/errors';
import { DEFAULT_ORG } from '../admin/org-store';
import { personOverview } from '../admin/person-overview';
import { revokePerson, tellOfRevocation } from '../admin/person-revocation';
import { rolesOf } from '../admin/role-store';
import type { Runtime } from '../deployment/runtime';
import { json, problem } from '../http/responses';
import { adminBody, personOf, requireAdminCaller, requireAllowed } from './admin-access';
import { auditBase } from './endpoint-helpers';

const BASE = '/.stepgate/api/admin/orgs/:org/people';

const Subject = z.string().check(z.minLength(1), z.maxLength(256));
const RevokeBody = z
  .strictObject({ user: Subject, factors: z.optional(z.boolean()), grants: z.optional(z.boolean()), tokens: z.optional(z.boolean()) })
  .check(
    z.refine((b) => b.factors === true || b.grants === true || b.tokens === true, {
      message: 'name at least one of factors, grants, tokens (true)',
    }),
  );

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The person `subject` names in `org`, or null when it cannot be one of its people: in `default` a
 * subject with `/` would be another organisation's person (`acme/alice`), and is refused.
 */
const personIn = (org: string, subject: string): string | null =>
  org === DEFAULT_ORG && subject.includes('/') ? null : personOf(org, subject);
const NOT_A_SUBJECT = 'user: a subject of this organisation never contains "/"';

export function registerPeopleRoutes(app: Hono, rt: Runtime): void {
  app.post(`${BASE}/revoke`, async (c) => {
    const req = c.req.raw;
    const org = c.req.param('org');
    const caller = await requireAdminCaller(rt, req, org, { write: true });
    const body = await adminBody(req, RevokeBody);
    const person = personIn(org, body.user);
    if (person === null) return problem(ErrorCode.BadRequest, 400, NOT_A_SUBJECT);
    // Revoking factors always takes the grants with them: a grant outliving its factor is a hole.
    const what = { factors: body.factors === true, grants: body.factors === true || body.grants === true, tokens: body.tokens === true };
    // The person's roles: only an owner acts on an owner's factors or tokens (authorize refuses without them).
    const personRoles = await rolesOf(rt.db, rt.keys, org, person);
    if (what.grants) await requireAllowed(rt, req, caller, 'person.revoke-factors', { orgId: org, person, personRoles });
    if (what.tokens) await requireAllowed(rt, req, caller, 'token.revoke', { orgId: org, person, personRoles });
    const now = rt.now();
    // `by`: the one who revoked factors may not be the one who invites the person back (person-revocation.ts).
    const r = await revokePerson({ db: rt.db, keys: rt.keys, userState: rt.userState(person), person, what, now, by: caller.me.sub });
    if (what.factors) await tellOfRevocation(rt.userState(person), now);
    await rt.audit.record({
      type: 'person.revoked',
      outcome: 'success',
      ...(await auditBase(req, caller.me)),
      target: person,
      details: {
        org,
        app_id: null,
        ...what,
        factors_revoked: r.factors,
        ...r.kinds,
        tokens_revoked: r.tokens,
        challenges: r.challenges,
        held: r.held,
        approvals: r.approvals,
      },
    });
    return json({
      user: body.user,
      revoked: { factors: r.factors, tokens: r.tokens, challenges: r.challenges, held: r.held, approvals: r.approvals },
    });
  });

  app.get(`${BASE}/:user`, async (c) => {
    const req = c.req.raw;
    const org = c.req.param('org');
    const caller = await requireAdminCaller(rt, req, org, { write: false });
    const user = Subject.safeParse(c.req.param('user'));
    if (!user.success) return problem(ErrorCode.BadRequest, 400, 'user: 1 to 256 characters');
    const person = personIn(org, user.data);
    if (person === null) return problem(ErrorCode.BadRequest, 400, NOT_A_SUBJECT);
    await requireAllowed(rt, req, caller, 'role.read', { orgId: org, person });
    const now = rt.now();
    const p = await personOverview({ db: rt.db, keys: rt.keys, userState: rt.userState(person), org, person, now });
    return json({
      user: user.data,
      factors: p.factors.map((f) => ({ kind: f.kind, ...(f.label === undefined ? {} : { label: f.label }), created_at: iso(f.createdAt) })),
      locked: {
        consecutive_failures: p.lock.consecutive,
        backoff_until: p.lock.lockedUntil > now ? iso(p.lock.lockedUntil) : null,
        // Past the failure limit: locked until someone unlocks them, whatever backoff_until says.
        locked_out: p.lock.lockedOut,
      },
      roles: p.roles.map((g) => ({ role: g.role, app_id: g.appId, grant: g.id })),
      tokens: p.tokens.map((t) => ({
        id: t.id,
        label: t.label,
        scopes: t.scopes,
        expires_at: iso(t.expiresAt),
        revoked: t.revokedAt !== null,
      })),
      recovery:
        p.recovery === null
          ? null
          : {
              id: p.recovery.id,
              state: p.recovery.state,
              effective_at: p.recovery.effective_at === null ? null : iso(p.recovery.effective_at),
            },
    });
  });
}
