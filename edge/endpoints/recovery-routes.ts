/**
 * @module Factor recovery through the admin API (docs/admin.md, "Factor recovery"): start one for a
 * person who lost every factor, list the open ones, approve one (a different admin or owner), cancel
 * one. Only a person in a browser with a fresh step-up (never a token); who may is `authorize`'s
 * (only an owner on an owner's recovery); starts are capped per day (recovery-limits.ts);
 * the person is told (a notice in their Durable Object) before a start or an approval is answered,
 * and neither stands if they cannot be told. Every change is audited with who started and approved.
 */
import type { Context, Hono } from 'hono';
import * as z from '../http/zod';
import { ErrorCode } from '../../shared/errors';
import { type HeldRole, REFUSALS } from '../admin/authorization';
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
import type { Runtime } from '../deployment/runtime';
import { json, problem } from '../http/responses';
import { type AdminCaller, adminBody, personOf, recordRefusal, refuseToken, requireAllowed, subjectOf } from './admin-access';
import { adminCall } from './admin-call';
import { recordRecoveryChange } from './recovery-events';
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

const notOpen = (r: Recovery) => problem(ErrorCode.Conflict, 409, `This recovery is ${r.state}: start a new one if it is still needed.`);

/** The opening of a recovery call: a person in a browser (a token is refused: recovery needs one), then the admin checks. */
function recoveryCall(rt: Runtime, c: Context, write: boolean): ReturnType<typeof adminCall> {
  refuseToken(c.req.raw);
  return adminCall(rt, c, write);
}

/** The recovery named by the path, in the caller's organisation, or a 404 answer. */
async function named(rt: Runtime, c: Context, org: string): Promise<Recovery | Response> {
  return (await getRecovery(rt.db, rt.keys, org, c.req.param('id') ?? '', rt.now())) ?? problem(ErrorCode.NotFound, 404, NO_SUCH);
}

/** A change to the recovery the path names (approve, cancel): its caller, the recovery and its person's roles; or a 404 answer. */
async function namedChange(
  rt: Runtime,
  c: Context,
): Promise<{ req: Request; org: string; caller: AdminCaller; r: Recovery; personRoles: HeldRole[] } | Response> {
  const { req, org, caller } = await recoveryCall(rt, c, true);
  await adminBody(req, z.strictObject({}));
  const r = await named(rt, c, org);
  if (r instanceof Response) return r;
  return { req, org, caller, r, personRoles: await rolesOf(rt.db, rt.keys, org, r.person) };
}

/**
 * Tell the person of the recovery `r` (its notice); when they cannot be told, take the change back
 * (`undo`) and answer 503 naming it (`what`). Null when they were told.
 */
async function toldOrTakenBack(
  rt: Runtime,
  r: Recovery,
  what: 'started' | 'approved',
  undo: () => Promise<unknown>,
): Promise<Response | null> {
  try {
    await tellPerson(rt, r);
    return null;
  } catch (err) {
    const notice = what === 'started' ? 'kept' : 'updated';
    console.error(`stepgate: a recovery notice was not ${notice}:`, err instanceof Error ? err.message : 'non-error');
    await undo();
    return problem(ErrorCode.Unavailable, 503, `The person could not be notified, so the recovery was not ${what}. Try again.`);
  }
}

export function registerRecoveryRoutes(app: Hono, rt: Runtime): void {
  app.post(BASE, async (c) => {
    const { req, org, caller } = await recoveryCall(rt, c, true);
    const body = await adminBody(req, z.strictObject({ user: z.string().check(z.minLength(1), z.maxLength(256)) }));
    const person = personOf(org, body.user);
    const personRoles = await rolesOf(rt.db, rt.keys, org, person);
    await requireAllowed(rt, req, caller, 'recovery.start', { orgId: org, person, personRoles });
    const now = rt.now();
    const limits = { person, startedBy: caller.me.sub, now };
    const capped = await recoveryStartOverCap(rt.db, rt.keys, limits);
    if (capped !== null) return problem(ErrorCode.Conflict, 409, `${capped}.`);
    const r = await startRecovery(rt.db, rt.keys, { orgId: org, person, startedBy: caller.me.sub, now });
    if (!r.ok) return problem(ErrorCode.Conflict, 409, `${r.reason}.`);
    const takeBack = () => cancelRecovery(rt.db, rt.keys, { orgId: org, id: r.recovery.id, now: rt.now(), by: 'admin' });
    // Racing starts may all have passed the check above: those past the cap are taken back, untold.
    const over = await recoveryStartOverCap(rt.db, rt.keys, { ...limits, started: { id: r.recovery.id, at: r.recovery.startedAt } });
    if (over !== null) {
      await takeBack();
      return problem(ErrorCode.Conflict, 409, `${over}.`);
    }
    // Why: a recovery the person was not told of must not run its course; it is taken back.
    const untold = await toldOrTakenBack(rt, r.recovery, 'started', takeBack);
    if (untold) return untold;
    await recordRecoveryChange(rt, req, caller.me, 'recovery.started', r.recovery, { expires_at: iso(r.recovery.expiresAt) });
    return json({ recovery: recoveryJson(org, r.recovery) }, 201);
  });

  app.get(BASE, async (c) => {
    const { req, org, caller } = await recoveryCall(rt, c, false);
    if (!mayListRecoveries(caller.actor)) {
      const reason = `${REFUSALS['not-allowed']} (recovery.start)`;
      await recordRefusal(rt, req, caller.me, { action: 'recovery.start', code: 'not-allowed', reason, org });
      return problem(ErrorCode.Forbidden, 403, reason);
    }
    const open = await listOpenRecoveries(rt.db, rt.keys, org, rt.now());
    return json({ recoveries: open.map((r) => recoveryJson(org, r)) });
  });

  app.post(`${BASE}/:id/approve`, async (c) => {
    const change = await namedChange(rt, c);
    if (change instanceof Response) return change;
    const { req, org, caller, r, personRoles } = change;
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
    // Why: the waiting period is the person's time to object; it does not start before they are told.
    const untold = await toldOrTakenBack(rt, a.recovery, 'approved', () =>
      undoApproval(rt.db, { id: a.recovery.id, approvedAt: a.recovery.approvedAt! }),
    );
    if (untold) return untold;
    await recordRecoveryChange(rt, req, caller.me, 'recovery.approved', a.recovery, {
      effective_at: iso(a.recovery.effectiveAt),
      wait_minutes: Math.round(waitMs / 60_000),
    });
    return json({ recovery: recoveryJson(org, a.recovery) });
  });

  app.post(`${BASE}/:id/cancel`, async (c) => {
    const change = await namedChange(rt, c);
    if (change instanceof Response) return change;
    const { req, org, caller, r, personRoles } = change;
    await requireAllowed(rt, req, caller, 'recovery.approve', { ...cancelTarget(org, r.person), personRoles });
    if (r.state !== 'started' && r.state !== 'approved') return notOpen(r);
    const cancelled = await cancelRecovery(rt.db, rt.keys, { orgId: org, id: r.id, now: rt.now(), by: 'admin' });
    if (!cancelled) return problem(ErrorCode.Conflict, 409, 'This recovery already ended.');
    await forgetNotice(rt, r.person, r.id);
    await recordRecoveryChange(rt, req, caller.me, 'recovery.cancelled', cancelled, { by: 'admin' });
    return json({ recovery: recoveryJson(org, cancelled) });
  });
}
