/**
 * @module The caller's own place in the administration model: their organisations and roles
 * (GET me), the bootstrap claim of the first owner (BOOTSTRAP_OWNER, edge/admin/bootstrap.ts), and
 * the organisations themselves: listed (the operator sees all, anyone else their own) and created
 * with their first owner by the deployment's operator, an owner of the default organisation.
 * All need a fresh step-up; every claim and creation is audited, and so is a refused one.
 */
import type { Hono } from 'hono';
import * as z from '../http/zod';
import { ErrorCode } from '../../shared/errors';
import { authorizeOrgAction } from '../admin/authorization';
import { claimBootstrapOwner } from '../admin/bootstrap';
import { newAppProblems } from '../admin/app-input';
import { createApp } from '../admin/app-store';
import { createOrg, DEFAULT_ORG, listOrgs, type Org, orgsOf, removeEmptyOrg } from '../admin/org-store';
import { rolesOf } from '../admin/role-store';
import type { Runtime } from '../deployment/runtime';
import { requireSameOriginJson } from '../http/csrf';
import { json, problem } from '../http/responses';
import { adminBody, personOf, recordRefusal, refuseToken, subjectOf } from './admin-access';
import { auditBase, requireIdentity, siteOf } from './endpoint-helpers';
import { requireAdminStepUp } from './fresh-step-up';

/** The variables the bootstrap claim reads (the Worker's environment, as the endpoints are called with it). */
interface BootstrapEnv {
  BOOTSTRAP_OWNER?: unknown;
}

/** An organisation as the API shows it. */
const orgJson = (o: Org) => ({ id: o.id, name: o.name, created_at: new Date(o.createdAt).toISOString() });

/** The body of a new organisation: its id, name and first owner (a subject as the new organisation's apps will name them). */
const NewOrg = z.strictObject({
  id: z.string().check(z.minLength(1), z.maxLength(64)),
  name: z.string().check(z.minLength(1), z.maxLength(200)),
  owner: z.string().check(z.minLength(1), z.maxLength(256)),
  /** Its first app (as POST /orgs/{org}/apps takes one), so that its people can reach Stepgate. */
  app: z.optional(
    z.strictObject({
      name: z.string().check(z.minLength(1), z.maxLength(100)),
      hosts: z.array(z.string().check(z.minLength(1), z.maxLength(253))).check(z.minLength(1), z.maxLength(50)),
      origin_url: z._default(z.nullable(z.string().check(z.maxLength(2048))), null),
      identity: z.unknown(),
      policy: z.unknown(),
    }),
  ),
});

export function registerOrgRoutes(app: Hono, rt: Runtime): void {
  // Who am I here: my organisations and my roles in each (app-admin with its app).
  app.get('/.stepgate/api/admin/me', async (c) => {
    const req = c.req.raw;
    const me = await requireIdentity(rt, req);
    await requireAdminStepUp(rt, req, me);
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
    await requireAdminStepUp(rt, req, me);
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

  // Organisations: every one for the deployment's operator; for anyone else, the one they hold a role in.
  app.get('/.stepgate/api/admin/orgs', async (c) => {
    const req = c.req.raw;
    refuseToken(req);
    const me = await requireIdentity(rt, req);
    await requireAdminStepUp(rt, req, me);
    const org = rt.app.org;
    const roles = await rolesOf(rt.db, rt.keys, org, me.sub);
    // Why: people are keyed by the organisation of the app they came through; only there do they hold roles.
    const orgs = authorizeOrgAction({ sub: me.sub, orgId: org, roles }, 'org.list').allowed
      ? await listOrgs(rt.db)
      : (await orgsOf(rt.db, rt.keys, me.sub)).filter((o) => o.id === org);
    return json({ orgs: orgs.map(orgJson) });
  });

  // The operator creates an organisation with its first owner, in one transaction (none is left
  // without one), and optionally its first app: the only way its people can reach Stepgate at all.
  app.post('/.stepgate/api/admin/orgs', async (c) => {
    const req = c.req.raw;
    // Naming an organisation's first owner is a role change: a person in a browser, never a token.
    refuseToken(req);
    requireSameOriginJson(req, siteOf(req.url).origin);
    const me = await requireIdentity(rt, req);
    const org = rt.app.org;
    const d = authorizeOrgAction({ sub: me.sub, orgId: org, roles: await rolesOf(rt.db, rt.keys, org, me.sub) }, 'org.create');
    if (!d.allowed) {
      await rt.audit.record({
        type: 'admin.refused',
        outcome: 'denied',
        ...(await auditBase(req, me)),
        reason: d.reason,
        details: { action: 'org.create', code: d.code, org, app_id: rt.app.id },
      });
      return problem(ErrorCode.Forbidden, 403, d.reason);
    }
    await requireAdminStepUp(rt, req, me);
    const body = await adminBody(req, NewOrg);
    const r = await createOrgAndApp(rt, me.sub, body);
    if (r instanceof Response) return r;
    const base = await auditBase(req, me);
    const grant = r.ownerGrantId;
    await rt.audit.record({
      type: 'org.created',
      outcome: 'success',
      ...base,
      target: r.owner,
      details: { org: DEFAULT_ORG, created_org: r.org.id, name: r.org.name, grant, app_id: r.app?.id ?? null },
    });
    // The new organisation's own log shows who made its first owner, and its first app: these
    // events belong to it, not to the operator's host (whose app is not the new organisation's).
    const inNewOrg = { org: r.org.id, app_id: null };
    await rt.audit.record({
      type: 'role.granted',
      outcome: 'success',
      ...base,
      ...inNewOrg,
      target: r.owner,
      details: { org: r.org.id, app_id: null, role: 'owner', grant },
    });
    if (r.app) {
      await rt.audit.record({
        type: 'app.created',
        outcome: 'success',
        ...base,
        ...inNewOrg,
        details: { org: r.org.id, app_id: r.app.id, name: r.app.name, hosts: r.app.hosts, policy: r.app.policyHash },
      });
    }
    return json(
      {
        org: orgJson(r.org),
        owner: { person: body.owner, role: 'owner', grant },
        app: r.app ? { id: r.app.id, name: r.app.name, hosts: r.app.hosts, policy_hash: r.app.policyHash } : null,
      },
      201,
    );
  });
}

/**
 * Create the organisation of `body` with its first owner (granted by `operator`) and its first app
 * (if named): bad input is refused before anything is stored, and a first app refused afterwards
 * (a host another app took meanwhile) takes the new organisation away again. The created parts, or the refusal.
 */
async function createOrgAndApp(rt: Runtime, operator: string, body: z.infer<typeof NewOrg>) {
  const problems = body.app
    ? await newAppProblems(
        {
          name: body.app.name,
          hosts: body.app.hosts,
          originUrl: body.app.origin_url,
          identity: body.app.identity,
          policy: body.app.policy,
        },
        rt.development,
      )
    : [];
  if (problems.length) return problem(ErrorCode.BadRequest, 400, `app: ${problems.join('; ')}`, { problems });
  const now = rt.now();
  // The owner is a person of the new organisation (`<id>/<subject>`): never the operator themselves.
  const owner = personOf(body.id, body.owner, 'owner');
  let made: Awaited<ReturnType<typeof createOrg>>;
  try {
    made = await createOrg(rt.db, { id: body.id, name: body.name, now, owner: { ring: rt.keys, sub: owner, grantedBy: operator } });
  } catch (e) {
    if (e instanceof TypeError) return problem(ErrorCode.BadRequest, 400, e.message);
    throw e;
  }
  if (!made.ok) return problem(ErrorCode.Conflict, 409, made.reason);
  if (!body.app) return { org: made.org, owner, ownerGrantId: made.ownerGrantId, app: null };
  const a = body.app;
  const created = await createApp(rt.db, rt.keys, {
    orgId: body.id,
    name: a.name,
    hosts: a.hosts,
    originUrl: a.origin_url,
    identity: a.identity,
    policy: a.policy,
    createdBy: operator,
    now,
    development: rt.development,
  }).catch(async (e: unknown) => {
    await removeEmptyOrg(rt.db, body.id);
    throw e;
  });
  if (!created.ok) {
    await removeEmptyOrg(rt.db, body.id);
    // Another organisation's app is never named: only the hosts.
    return problem(
      ErrorCode.Conflict,
      409,
      created.reason,
      created.code === 'host-taken' ? { hosts: created.hosts.map((h) => h.host) } : {},
    );
  }
  const app = { id: created.app.id, name: created.app.name, hosts: created.app.hosts, policyHash: created.policyHash };
  return { org: made.org, owner, ownerGrantId: made.ownerGrantId, app };
}
