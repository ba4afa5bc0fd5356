/**
 * @module What the policy-version endpoints share with PUT …/policy (app-routes.ts): proposing a
 * version and recording it, the audit event of each version change with the classifier's reasons,
 * the answer to a store outcome (200 active, 202 proposed, 4xx refused), and the deployment's
 * policy.json (the bundled app's version 1 until D1 holds a policy for it).
 */
import * as z from '../http/zod';
import { ErrorCode } from '../../shared/errors';
import { AppInputError } from '../admin/app-input';
import { type AppRef, proposeVersion, type VersionOutcome } from '../admin/policy-versions';
import type { Policy } from '../policy/schema';
import type { Runtime } from '../deployment/runtime';
import { json, problem } from '../http/responses';
import { type AdminCaller, NOT_FOUND_APP, recordChange } from './admin-access';

/** The share of people a new version enforces for first (docs/policy.md, "Canary"): PUT …/policy and POST …/versions. */
export const CanaryPercent = z.optional(z.number().check(z.int(), z.gte(1), z.lte(99)));

/** The audit events of a version change. */
export type VersionEvent = 'policy.version_created' | 'policy.version_proposed' | 'policy.version_approved' | 'policy.rolled_back';

/** The deployment's policy.json (`rt.bundledPolicy`): the bundled app's version 1 until D1 holds one for it. */
export const deploymentPolicy = (rt: Runtime): Policy => rt.bundledPolicy.policy;

/** The app of the path, with policy.json for the bundled app (policy-version-reads.ts `AppRef`). */
export const appRef = (rt: Runtime, org: string, appId: string): AppRef => ({ orgId: org, appId, bundled: deploymentPolicy(rt) });

/** Record a version change with the classifier's reasons (at most 50 of them). */
export async function recordVersionEvent(
  rt: Runtime,
  req: Request,
  caller: AdminCaller,
  type: VersionEvent,
  o: { org: string; appId: string; r: Extract<VersionOutcome, { ok: true }> },
): Promise<void> {
  await recordChange(rt, req, caller, type, {
    org: o.org,
    appId: o.appId,
    details: {
      version: o.r.version,
      from: o.r.from,
      state: o.r.state,
      policy: o.r.hash,
      weakens: o.r.change.weakens,
      reasons: o.r.change.changes
        .filter((c) => c.kind !== 'neutral')
        .slice(0, 50)
        .map((c) => c.message),
      ...activationDetails(o.r),
    },
  });
  // A version starting as a canary: its own event, naming the version and the share of people.
  if (o.r.canary !== undefined && o.r.state === 'active') {
    await recordPolicyEvent(rt, req, caller, 'policy.canary_started', {
      org: o.org,
      appId: o.appId,
      details: { version: o.r.version, from: o.r.from, percent: o.r.canary, policy: o.r.hash },
    });
  }
}

/**
 * What an activation did besides activating: the open proposals it withdrew as stale (`withdrawn`,
 * version numbers; at most MAX_OPEN_PROPOSALS) and the running canary it ended (`canary_ended`, with
 * that canary's share as `canary_ended_percent`) — no event of their own, so they are named here.
 */
function activationDetails(r: Extract<VersionOutcome, { ok: true }>): Record<string, true | number | string[]> {
  if (!r.effects) return {};
  const { withdrawn, canaryEnded } = r.effects;
  return {
    ...(withdrawn.length ? { withdrawn: withdrawn.map(String) } : {}),
    ...(canaryEnded === null ? {} : { canary_ended: true, canary_ended_percent: canaryEnded }),
  };
}

/** Record a policy event other than a version change (canary, rejection) with the caller and the app. */
export async function recordPolicyEvent(
  rt: Runtime,
  req: Request,
  caller: AdminCaller,
  type: 'policy.canary_started' | 'policy.canary_widened' | 'policy.canary_completed' | 'policy.version_rejected',
  o: { org: string; appId: string; details: Record<string, string | number | boolean | null> },
): Promise<void> {
  await recordChange(rt, req, caller, type, o);
}

/** The answer to a store outcome: 200 active, 202 a proposal waiting for a second person; refusals as 4xx. */
export function versionAnswer(appId: string, r: VersionOutcome): Response {
  if (!r.ok) {
    const [code, status] =
      r.code === 'not-found'
        ? [ErrorCode.NotFound, 404]
        : r.code === 'same-person'
          ? [ErrorCode.Forbidden, 403]
          : [ErrorCode.Conflict, 409];
    return problem(code, status, r.code === 'not-found' ? NOT_FOUND_APP : r.reason);
  }
  return json(
    {
      app_id: appId,
      version: r.version,
      state: r.state,
      hash: r.hash,
      weakens: r.change.weakens,
      changes: r.change.changes.map((c) => ({ kind: c.kind, rule: c.rule, field: c.field, message: c.message })),
      canary: r.canary === undefined ? null : { percent: r.canary, base_version: r.from },
    },
    r.state === 'proposed' ? 202 : 200,
  );
}

/**
 * Propose a version and answer (also PUT …/policy, app-routes.ts): 200 when it is active at once,
 * 202 when it weakens and waits for a second person; audited either way.
 */
export async function proposeAndAnswer(
  rt: Runtime,
  req: Request,
  caller: AdminCaller,
  o: { org: string; appId: string; policy: unknown; comment: string; canaryPercent?: number | null },
): Promise<Response> {
  const r = await proposeRecorded(rt, req, caller, o);
  return r instanceof Response ? r : versionAnswer(o.appId, r);
}

/** Propose a version and record what happened; the outcome, or a 400 answer for an invalid policy. */
export async function proposeRecorded(
  rt: Runtime,
  req: Request,
  caller: AdminCaller,
  o: { org: string; appId: string; policy: unknown; comment: string; canaryPercent?: number | null },
): Promise<VersionOutcome | Response> {
  let r: VersionOutcome;
  try {
    r = await proposeVersion(rt.db, rt.keys, {
      ...appRef(rt, o.org, o.appId),
      canaryPercent: o.canaryPercent ?? null,
      policy: o.policy,
      comment: o.comment,
      by: caller.me.sub,
      now: rt.now(),
    });
  } catch (e) {
    if (!(e instanceof AppInputError)) throw e;
    return problem(ErrorCode.BadRequest, 400, e.problems.join('; ') || 'invalid policy', { problems: e.problems });
  }
  if (r.ok) {
    await recordVersionEvent(rt, req, caller, r.state === 'active' ? 'policy.version_created' : 'policy.version_proposed', {
      org: o.org,
      appId: o.appId,
      r,
    });
  }
  return r;
}
