/**
 * @module The apps of an organisation and their policies (edge/admin/app-store.ts), through the
 * admin API: list, read, create, change and delete apps; read and replace an app's policy. Each
 * call needs a role in the organisation, a fresh step-up and the action allowed by `authorize`
 * (admin-access.ts); each change is audited with the organisation and app. Replacing the policy makes a
 * version (policy-version-answers.ts): a weakening one waits for a second person (202), one that does not
 * weaken may start as a canary (`canary_percent`). An app-admin replaces their app's policy but never
 * changes its `enrolment` (authorization.ts). The bundled app is listed (`bundled: true`) and its policy
 * versioned like any app's, but its hosts, identity and origin are the deployment's: 409 to change them.
 */
import type { Hono } from 'hono';
import * as z from '../http/zod';
import { ErrorCode } from '../../shared/errors';
import {
  type App,
  type BundledAppRow,
  bundledAppOf,
  createApp,
  deleteApp,
  getApp,
  type HostConflict,
  listApps,
  updateApp,
} from '../admin/app-store';
import { AppInputError, changesEnrolment } from '../admin/app-input';
import { getAppPolicy } from '../admin/app-policy-store';
import { authorize } from '../admin/authorization';
import { BUNDLED_REFUSAL, isBundledApp } from '../admin/bundled-policy';
import { canaryOf } from '../admin/policy-canary';
import { activePolicy, getVersion } from '../admin/policy-versions';
import type { Runtime } from '../deployment/runtime';
import { json, problem } from '../http/responses';
import { StepgateError } from '../http/stepgate-error';
import { adminBody, NOT_FOUND_APP, recordChange, requireAllowed, subjectOf } from './admin-access';
import { adminCall } from './admin-call';
import { appRef, CanaryPercent, deploymentPolicy, proposeRecorded, versionAnswer } from './policy-version-answers';

const BASE = '/.stepgate/api/admin/orgs/:org/apps';

/** An app as the API shows it. */
const appJson = (a: App) => ({
  id: a.id,
  org: a.orgId,
  name: a.name,
  bundled: false,
  hosts: a.hosts,
  origin_url: a.originUrl,
  identity: a.identity,
  created_at: new Date(a.createdAt).toISOString(),
  updated_at: new Date(a.updatedAt).toISOString(),
});

/** The bundled app as the API shows it: its hosts are policy.json's (none listed: BUNDLED_APP_HOSTS or every host). */
const bundledJson = (rt: Runtime, a: BundledAppRow) => ({
  id: a.id,
  org: a.orgId,
  name: a.name,
  bundled: true,
  hosts: deploymentPolicy(rt)?.hosts ?? [],
  origin_url: null,
  identity: { source: 'bundled' },
  created_at: new Date(a.createdAt).toISOString(),
  updated_at: new Date(a.updatedAt).toISOString(),
});

/** 409: the bundled app's hosts, identity and origin are the deployment's, and it cannot be deleted. */
const bundledRefusal = (): Response => problem(ErrorCode.Conflict, 409, BUNDLED_REFUSAL);

/** 400 listing every problem of the input. */
const inputProblem = (e: AppInputError): Response =>
  problem(ErrorCode.BadRequest, 400, e.problems.join('; ') || 'invalid app', { problems: e.problems });

/** 409: hosts another app serves (named only when it is an app of the caller's organisation). */
const hostConflict = (c: HostConflict): Response =>
  problem(ErrorCode.Conflict, 409, c.reason, { hosts: c.hosts.map((h) => ({ host: h.host, app_id: h.appId })) });

/** Run a store write, answering its input problems with 400. */
async function validated<T>(write: () => Promise<T>): Promise<T | Response> {
  try {
    return await write();
  } catch (e) {
    if (e instanceof AppInputError) return inputProblem(e);
    if (e instanceof TypeError && /name:/.test(e.message)) return problem(ErrorCode.BadRequest, 400, e.message);
    throw e;
  }
}

const Hosts = z.array(z.string().check(z.minLength(1), z.maxLength(253))).check(z.minLength(1), z.maxLength(50));
const Origin = z.nullable(z.string().check(z.maxLength(2048)));
const Name = z.string().check(z.minLength(1), z.maxLength(100));

/** The app of the path (the caller was authorized for it first); 404 when it does not exist in this organisation. */
async function appOf(rt: Runtime, org: string, appId: string): Promise<App> {
  const a = await getApp(rt.db, org, appId);
  if (!a) throw new StepgateError(ErrorCode.NotFound, 404, NOT_FOUND_APP);
  return a;
}

export function registerAppRoutes(app: Hono, rt: Runtime): void {
  // The apps of the organisation: all of them for owners and admins, the named ones for an app-admin.
  app.get(BASE, async (c) => {
    const { req, org, caller } = await adminCall(rt, c, false);
    // Allowed for some app (an app-admin), or for any (owner, admin)? Refused outright otherwise.
    const anyApp = authorize(caller.actor, 'app.read', { orgId: org, appId: '' });
    if (!anyApp.allowed && anyApp.code !== 'not-your-app') await requireAllowed(rt, req, caller, 'app.read', { orgId: org });
    const may = (appId: string) => authorize(caller.actor, 'app.read', { orgId: org, appId }).allowed;
    const bundled = await bundledAppOf(rt.db, org);
    const apps = (await listApps(rt.db, org)).filter((a) => may(a.id));
    return json({ apps: [...(bundled && may(bundled.id) ? [bundledJson(rt, bundled)] : []), ...apps.map(appJson)] });
  });

  app.post(BASE, async (c) => {
    const { req, org, caller } = await adminCall(rt, c, true);
    const body = await adminBody(
      req,
      z.strictObject({ name: Name, hosts: Hosts, origin_url: z._default(Origin, null), identity: z.unknown(), policy: z.unknown() }),
    );
    await requireAllowed(rt, req, caller, 'app.create', { orgId: org });
    const r = await validated(() =>
      createApp(rt.db, rt.keys, {
        orgId: org,
        name: body.name,
        hosts: body.hosts,
        originUrl: body.origin_url,
        identity: body.identity,
        policy: body.policy,
        createdBy: caller.me.sub,
        now: rt.now(),
        development: rt.development,
      }),
    );
    if (r instanceof Response) return r;
    if (!r.ok) return r.code === 'host-taken' ? hostConflict(r) : problem(ErrorCode.NotFound, 404, 'No such organisation.');
    await recordChange(rt, req, caller, 'app.created', {
      org,
      appId: r.app.id,
      details: { name: r.app.name, hosts: r.app.hosts, policy: r.policyHash },
    });
    return json({ app: appJson(r.app), policy_hash: r.policyHash }, 201);
  });

  app.get(`${BASE}/:app`, async (c) => {
    const { req, org, caller } = await adminCall(rt, c, false);
    const appId = c.req.param('app');
    await requireAllowed(rt, req, caller, 'app.read', { orgId: org, appId });
    const bundled = isBundledApp(org, appId) ? await bundledAppOf(rt.db, org) : null;
    return json({ app: bundled ? bundledJson(rt, bundled) : appJson(await appOf(rt, org, appId)) });
  });

  app.patch(`${BASE}/:app`, async (c) => {
    const { req, org, caller } = await adminCall(rt, c, true);
    const appId = c.req.param('app');
    const body = await adminBody(
      req,
      z.strictObject({
        name: z.optional(Name),
        hosts: z.optional(Hosts),
        origin_url: z.optional(Origin),
        identity: z.optional(z.unknown()),
      }),
    );
    await requireAllowed(rt, req, caller, 'app.update', { orgId: org, appId });
    if (isBundledApp(org, appId)) return bundledRefusal();
    await appOf(rt, org, appId);
    const r = await validated(() =>
      updateApp(rt.db, {
        orgId: org,
        appId,
        ...(body.name === undefined ? {} : { name: body.name }),
        ...(body.hosts === undefined ? {} : { hosts: body.hosts }),
        ...(body.origin_url === undefined ? {} : { originUrl: body.origin_url }),
        ...(body.identity === undefined ? {} : { identity: body.identity }),
        now: rt.now(),
        development: rt.development,
      }),
    );
    if (r instanceof Response) return r;
    if (!r.ok) {
      if (r.code === 'bundled') return bundledRefusal();
      return r.code === 'host-taken' ? hostConflict(r) : problem(ErrorCode.NotFound, 404, NOT_FOUND_APP);
    }
    await recordChange(rt, req, caller, 'app.updated', {
      org,
      appId,
      details: { fields: Object.keys(body).sort(), hosts: r.app.hosts },
    });
    return json({ app: appJson(r.app) });
  });

  app.delete(`${BASE}/:app`, async (c) => {
    const { req, org, caller } = await adminCall(rt, c, true);
    const appId = c.req.param('app');
    await adminBody(req, z.strictObject({}));
    await requireAllowed(rt, req, caller, 'app.delete', { orgId: org, appId });
    if (isBundledApp(org, appId)) return bundledRefusal();
    if (!(await deleteApp(rt.db, { orgId: org, appId }))) return problem(ErrorCode.NotFound, 404, NOT_FOUND_APP);
    await recordChange(rt, req, caller, 'app.deleted', { org, appId });
    return json({ deleted: true, id: appId });
  });

  app.get(`${BASE}/:app/policy`, async (c) => {
    const { req, org, caller } = await adminCall(rt, c, false);
    const appId = c.req.param('app');
    await requireAllowed(rt, req, caller, 'policy.read', { orgId: org, appId });
    const ref = appRef(rt, org, appId);
    const active = await activePolicy(rt.db, ref);
    if (!active) return problem(ErrorCode.NotFound, 404, NOT_FOUND_APP);
    const p = active.seeded ? await getAppPolicy(rt.db, rt.keys, ref) : null;
    // The bundled app before its first change: policy.json, shown as version 1.
    const first = p ? null : await getVersion(rt.db, rt.keys, { ...ref, version: 1 });
    if (!p && !first) return problem(ErrorCode.NotFound, 404, NOT_FOUND_APP);
    const canary = await canaryOf(rt.db, ref);
    return json({
      app_id: appId,
      version: active.version,
      policy: p ? p.policy : first!.policy,
      hash: p ? p.hash : first!.hash,
      updated_at: p ? new Date(p.updatedAt).toISOString() : null,
      updated_by: p?.updatedBy ? subjectOf(org, p.updatedBy) : null,
      canary: canary === null ? null : { percent: canary.percent, base_version: canary.baseVersion },
    });
  });

  app.put(`${BASE}/:app/policy`, async (c) => {
    const { req, org, caller } = await adminCall(rt, c, true);
    const appId = c.req.param('app');
    const body = await adminBody(
      req,
      z.strictObject({ policy: z.unknown(), comment: z._default(z.string().check(z.maxLength(500)), ''), canary_percent: CanaryPercent }),
    );
    // An app-admin changes their app's rules, never how its people enrol (`enrolment`): compared with the active policy.
    const stored = await activePolicy(rt.db, appRef(rt, org, appId));
    await requireAllowed(rt, req, caller, 'policy.update', {
      orgId: org,
      appId,
      changesEnrolment: changesEnrolment(stored?.policy ?? null, body.policy),
    });
    // Versioned like any edit (policy-versions.ts): a weakening replacement is a proposal (202) until a second person approves it.
    const r = await proposeRecorded(rt, req, caller, {
      org,
      appId,
      policy: body.policy,
      comment: body.comment,
      canaryPercent: body.canary_percent ?? null,
    });
    if (r instanceof Response) return r;
    if (r.ok && r.state === 'active')
      await recordChange(rt, req, caller, 'app.policy_updated', { org, appId, details: { policy: r.hash } });
    return versionAnswer(appId, r);
  });
}
