/**
 * @module Factor recovery through the admin API (docs/admin.md, "Factor recovery"): start one for a
 * person who lost every factor, list the open ones, approve one (a different admin or owner), cancel
 * one. Only a person in a browser with a fresh step-up (never a token); who may is `authorize`'s
 * (only an owner on an owner's recovery); starts are capped per day (recovery-limits.ts);
 * the person is told (a notice in their Durable Object) before a start or an approval is answered,
 * and neither stands if they cannot be told. Every change is audited with who started and approved.
 */
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { ErrorCode } from '../../shared/errors';
import { REFUSALS } from '../admin/authorization';
import { cancelTarget, mayListRecoveries, type RecoveryWaitSettings, recoveryWaitMs } from '../admin/recovery';
import { recoveryStartOverCap } from '../admin/recovery-limits';
import {
  approveRecovery,
  cancelRecovery,
  getRecovery,
  listOpenRecoveries,
  type Recovery,
  startRecovery,
  undoApproval,
} from '../admin/recovery-store';
import { rolesOf } from '../admin/role-store';
import type { AuditDetails } from '../audit/events';
import type { Runtime } from '../deployment/runtime';
import { json, problem } from '../http/responses';
import {
  type AdminCaller,
  adminBody,
  personOf,
  recordRefusal,
  refuseToken,
  requireAdminCaller,
  requireAllowed,
  subjectOf,
} from './admin-access';
import { auditBase } from './endpoint-helpers';
import { forgetNotice, tellPerson } from './recovery-notices';

const BASE = '/.stepgate/api/admin/orgs/:org/recoveries';
const NO_SUCH = 'No such recovery in this organisation.';
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A recovery as the admin API shows it: people by their subject in the organisation. */
export const recoveryJson = (org: string, r: Recovery) => ({
  id: r.id,
  user: subjectOf(org, r.person),
  state: r.state,
  started_by: subjectOf(org, r.startedBy),
  started_at: iso(r.startedAt),
  approved_by: r.approvedBy === null ? null : subjectOf(org, r.approvedBy),
  approved_at: iso(r.approvedAt),
  effective_at: iso(r.effectiveAt),
  expires_at: iso(r.expiresAt),
});

/** Who started and approved it, as every recovery event names them. */
const whoDetails = (org: string, r: Recovery): AuditDetails => ({
  org,
  recovery: r.id,
  started_by: r.startedBy,
  approved_by: r.approvedBy,
});

/** Record a recovery change by an administrator (after it is stored and the person told, before the answer). */
async function recordByAdmin(
  rt: Runtime,
  req: Request,
  caller: AdminCaller,
  type: 'recovery.started' | 'recovery.approved' | 'recovery.cancelled',
  r: Recovery,
  details: AuditDetails,
): Promise<void> {
  await rt.audit.record({
    type,
    outcome: 'success',
    ...(await auditBase(req, caller.me)),
    target: r.person,
    details: { ...whoDetails(r.orgId, r), ...details },
  });
}

/** The recovery named by the path, in the caller's organisation, or a 404 answer. */
async function named(rt: Runtime, c: Context, org: string): Promise<Recovery | Response> {
  return (await getRecovery(rt.db, rt.keys, org, c.req.param('id') ?? '', rt.now())) ?? problem(ErrorCode.NotFound, 404, NO_SUCH);
}

const notOpen = (r: Recovery) => problem(ErrorCode.Conflict, 409, `This recovery is ${r.state}: start a new one if it is still needed.`);

/** The caller of a recovery call: a person in a browser (a token is refused: recovery needs one), then the admin checks. */
async function recoveryCaller(rt: Runtime, req: Request, org: string, write: boolean): Promise<AdminCaller> {
  refuseToken(req);
  return requireAdminCaller(rt, req, org, { write });
}

export function registerRecoveryRoutes(app: Hono, rt: Runtime): void {
  app.post(BASE, async (c) => {
    const req = c.req.raw;
    const org = c.req.param('org');
    const caller = await recoveryCaller(rt, req, org, true);
    const body = await adminBody(req, z.strictObject({ user: z.string().min(1).max(256) }));
    const person = personOf(org, body.user);
    const personRoles = await rolesOf(rt.db, rt.keys, org, person);
    await requireAllowed(rt, req, caller, 'recovery.start', { orgId: org, person, personRoles });
    const now = rt.now();
    const limits = { person, startedBy: caller.me.sub, now };
    const capped = await recoveryStartOverCap(rt.db, rt.keys, limits);
    if (capped !== null) return problem(ErrorCode.Conflict, 409, `${capped}.`);
    const r = await startRecovery(rt.db, rt.keys, { orgId: org, person, startedBy: caller.me.sub, now });
    if (!r.ok) return problem(ErrorCode.Conflict, 409, `${r.reason}.`);
    // Racing starts may all have passed the check above: those past the cap are taken back, untold.
    const over = await recoveryStartOverCap(rt.db, rt.keys, { ...limits, started: { id: r.recovery.id, at: r.recovery.startedAt } });
    if (over !== null) {
      await cancelRecovery(rt.db, rt.keys, { orgId: org, id: r.recovery.id, now: rt.now(), by: 'admin' });
      return problem(ErrorCode.Conflict, 409, `${over}.`);
    }
    try {
      await tellPerson(rt, r.recovery);
    } catch (err) {
      // Why: a recovery the person was not told of must not run its course; it is taken back.
      console.error('stepgate: a recovery notice was not kept:', err instanceof Error ? err.message : 'non-error');
      await cancelRecovery(rt.db, rt.keys, { orgId: org, id: r.recovery.id, now: rt.now(), by: 'admin' });
      return problem(ErrorCode.Unavailable, 503, 'The person could not be notified, so the recovery was not started. Try again.');
    }
    await recordByAdmin(rt, req, caller, 'recovery.started', r.recovery, { expires_at: iso(r.recovery.expiresAt) });
    return json({ recovery: recoveryJson(org, r.recovery) }, 201);
  });

  app.get(BASE, async (c) => {
    const req = c.req.raw;
    const org = c.req.param('org');
    const caller = await recoveryCaller(rt, req, org, false);
    if (!mayListRecoveries(caller.actor)) {
      const reason = `${REFUSALS['not-allowed']} (recovery.start)`;
      await recordRefusal(rt, req, caller.me, { action: 'recovery.start', code: 'not-allowed', reason, org });
      return problem(ErrorCode.Forbidden, 403, reason);
    }
    const open = await listOpenRecoveries(rt.db, rt.keys, org, rt.now());
    return json({ recoveries: open.map((r) => recoveryJson(org, r)) });
  });

  app.post(`${BASE}/:id/approve`, async (c) => {
    const req = c.req.raw;
    const org = c.req.param('org');
    const caller = await recoveryCaller(rt, req, org, true);
    await adminBody(req, z.strictObject({}));
    const r = await named(rt, c, org);
    if (r instanceof Response) return r;
    const personRoles = await rolesOf(rt.db, rt.keys, org, r.person);
    await requireAllowed(rt, req, caller, 'recovery.approve', {
      orgId: org,
      person: r.person,
      recoveryStartedBy: r.startedBy,
      personRoles,
    });
    if (r.state === 'approved') return problem(ErrorCode.Conflict, 409, 'This recovery is already approved.');
    if (r.state !== 'started') return notOpen(r);
    const waitMs = recoveryWaitMs((c.env ?? {}) as RecoveryWaitSettings, rt.development);
    const a = await approveRecovery(rt.db, rt.keys, { orgId: org, id: r.id, approvedBy: caller.me.sub, now: rt.now(), waitMs });
    if (!a.ok) {
      return a.code === 'same-person'
        ? problem(ErrorCode.Forbidden, 403, REFUSALS['same-person-approves'])
        : problem(ErrorCode.Conflict, 409, 'This recovery is no longer waiting for approval.');
    }
    try {
      await tellPerson(rt, a.recovery);
    } catch (err) {
      // Why: the waiting period is the person's time to object; it does not start before they are told.
      console.error('stepgate: a recovery notice was not updated:', err instanceof Error ? err.message : 'non-error');
      await undoApproval(rt.db, { id: a.recovery.id, approvedAt: a.recovery.approvedAt! });
      return problem(ErrorCode.Unavailable, 503, 'The person could not be notified, so the recovery was not approved. Try again.');
    }
    await recordByAdmin(rt, req, caller, 'recovery.approved', a.recovery, {
      effective_at: iso(a.recovery.effectiveAt),
      wait_minutes: Math.round(waitMs / 60_000),
    });
    return json({ recovery: recoveryJson(org, a.recovery) });
  });

  app.post(`${BASE}/:id/cancel`, async (c) => {
    const req = c.req.raw;
    const org = c.req.param('org');
    const caller = await recoveryCaller(rt, req, org, true);
    await adminBody(req, z.strictObject({}));
    const r = await named(rt, c, org);
    if (r instanceof Response) return r;
    const personRoles = await rolesOf(rt.db, rt.keys, org, r.person);
    await requireAllowed(rt, req, caller, 'recovery.approve', { ...cancelTarget(org, r.person), personRoles });
    if (r.state !== 'started' && r.state !== 'approved') return notOpen(r);
    const cancelled = await cancelRecovery(rt.db, rt.keys, { orgId: org, id: r.id, now: rt.now(), by: 'admin' });
    if (!cancelled) return problem(ErrorCode.Conflict, 409, 'This recovery already ended.');
    await forgetNotice(rt, r.person, r.id);
    await recordByAdmin(rt, req, caller, 'recovery.cancelled', cancelled, { by: 'admin' });
    return json({ recovery: recoveryJson(org, cancelled) });
  });
}
