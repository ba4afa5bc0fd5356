/**
 * @module What the policy-version endpoints share with PUT …/policy (app-routes.ts): proposing a
 * version and recording it, the audit event of each version change with the classifier's reasons,
 * and the answer to a store outcome (200 active, 202 proposed, 4xx refused).
 */
import { ErrorCode } from '../../shared/errors';
import { AppInputError } from '../admin/app-input';
import { proposeVersion, type VersionOutcome } from '../admin/policy-versions';
import { hashRef } from '../audit/audit-log';
import type { Runtime } from '../deployment/runtime';
import { json, problem } from '../http/responses';
import { type AdminCaller, adminEventScope, NOT_FOUND_APP, viaOf } from './admin-access';
import { auditBase } from './endpoint-helpers';

/** The audit events of a version change. */
export type VersionEvent = 'policy.version_created' | 'policy.version_proposed' | 'policy.version_approved' | 'policy.rolled_back';

/** Record a version change with the classifier's reasons (at most 50 of them). */
export async function recordVersionEvent(
  rt: Runtime,
  req: Request,
  caller: AdminCaller,
  type: VersionEvent,
  o: { org: string; appId: string; r: Extract<VersionOutcome, { ok: true }> },
): Promise<void> {
  await rt.audit.record({
    type,
    outcome: 'success',
    ...(await auditBase(req, caller.me, viaOf(caller))),
    ...adminEventScope(rt, caller.me),
    details: {
      org: o.org,
      app_id: o.appId,
      ...(caller.token ? { token: await hashRef(caller.token.id) } : {}),
      version: o.r.version,
      from: o.r.from,
      state: o.r.state,
      policy: o.r.hash,
      weakens: o.r.change.weakens,
      reasons: o.r.change.changes
        .filter((c) => c.kind !== 'neutral')
        .slice(0, 50)
        .map((c) => c.message),
    },
  });
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
  o: { org: string; appId: string; policy: unknown; comment: string },
): Promise<Response> {
  const r = await proposeRecorded(rt, req, caller, o);
  return r instanceof Response ? r : versionAnswer(o.appId, r);
}

/** Propose a version and record what happened; the outcome, or a 400 answer for an invalid policy. */
export async function proposeRecorded(
  rt: Runtime,
  req: Request,
  caller: AdminCaller,
  o: { org: string; appId: string; policy: unknown; comment: string },
): Promise<VersionOutcome | Response> {
  let r: VersionOutcome;
  try {
    r = await proposeVersion(rt.db, rt.keys, {
      orgId: o.org,
      appId: o.appId,
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
