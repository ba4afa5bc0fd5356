/**
 * @module Enrolling a factor (a passkey, an authenticator app). The first factor follows the
 * enrolment policy (`first-use` or `invite`); adding more needs a fresh step-up with an existing
 * factor (the grant of the reserved rule `stepgate-factors`). The rule is applied when an enrolment
 * starts and again when it completes, and a first factor is stored only while the person still has none.
 */
import type { Hono } from 'hono';
import { generateURI } from 'otplib';
import { renderSVG } from 'uqr';
import * as z from '../http/zod';
import { ErrorCode } from '../../shared/errors';
import type { PasskeyRegistered, TotpActivated, TotpEnrolment } from '../../shared/wire-shapes';
import { hashRef } from '../audit/audit-log';
import type { Runtime } from '../deployment/runtime';
import { activeFactorCount, type EnrolmentKind } from '../factors/active-factors';
import { useInvite } from '../factors/invites/invite-store';
import { issueRecoveryCodes, RECOVERY_CODE_COUNT } from '../factors/recovery/recovery-code-store';
import {
  activateTotp,
  createPendingTotp,
  dropPendingTotp,
  PENDING_TOTP_TTL_MS,
  pendingTotpInvited,
  totpFactors,
} from '../factors/totp/totp-store';
import { verifyTotp } from '../factors/totp/verify-totp';
import { addWebauthnCredential, webauthnCredentials } from '../factors/webauthn/passkey-store';
import { dropRegistrations, registrationOptions, relyingParty, takeRegistration, verifyRegistration } from '../factors/webauthn/webauthn';
import { requireSameOriginJson } from '../http/csrf';
import { json, problem } from '../http/responses';
import { StepgateError } from '../http/stepgate-error';
import type { Identity } from '../identity/identity-source';
import { auditBase, cookieSecurity, jsonBody, passkeyContext, requireIdentity, siteOf } from './endpoint-helpers';
import { requireFreshStepUp } from './fresh-step-up';

/**
 * The enrolment rule: while the person has no active factor, the first-factor policy
 * (`first-use`, or `invite` when `invited()` holds); otherwise a fresh step-up. How the factor is
 * being enrolled, or a 403 thrown.
 */
async function enrolmentRule(
  rt: Runtime,
  req: Request,
  me: Identity,
  invited: () => Promise<boolean>,
  noInvite: string,
): Promise<EnrolmentKind> {
  if ((await activeFactorCount(rt.db, rt.keys, me.sub)) > 0) {
    await requireFreshStepUp(rt, req, me);
    return 'step-up';
  }
  // Why: with a stolen session alone, an attacker could enrol their own key as the first factor.
  if (rt.enrolment === 'invite') {
    if (!(await invited())) throw new StepgateError(ErrorCode.Forbidden, 403, noInvite);
    return 'invite';
  }
  return 'first-use';
}

/**
 * Whether an enrolment may be completed now, and how: every completion (passkey, authenticator
 * app) calls this before it stores the factor. The rule is applied again, as it stands now, not as
 * it stood when the enrolment started: a registration begun while the person had no factor needs
 * a step-up once they have one. Under `invite`, only an enrolment started by spending an
 * invitation (`begunWithInvite`) completes as a first factor. A first factor must then be stored
 * on the condition that none exists yet (`activateTotp`, `addWebauthnCredential` with
 * `onlyIfFirst`), which settles racing completions.
 */
const requireMayCompleteEnrolment = (
  rt: Runtime,
  req: Request,
  me: Identity,
  begunWithInvite: () => Promise<boolean>,
): Promise<EnrolmentKind> =>
  enrolmentRule(
    rt,
    req,
    me,
    begunWithInvite,
    'This enrolment was not started with an invitation code; start again with the code from your administrator.',
  );

/** A first factor that lost the race to another: the rest need a step-up with the winner. */
const lostFirstRace = () =>
  problem(
    ErrorCode.Conflict,
    409,
    'Another factor was enrolled first; confirm it is you with it (POST /.stepgate/api/factors/step-up), then add this one again.',
  );

const EnrolBody = z.strictObject({ invite: z.optional(z.string().check(z.maxLength(64))) });

/** Record an added factor, with how it was enrolled (and, for a first factor, the recovery codes issued with it). */
async function recordEnrolment(
  rt: Runtime,
  req: Request,
  me: Identity,
  factor: 'webauthn' | 'totp',
  details: Record<string, string | boolean>,
  how: EnrolmentKind,
): Promise<void> {
  const base = await auditBase(req, me);
  const first = how !== 'step-up';
  await rt.audit.record(
    { type: 'factor.enrolled', outcome: 'success', ...base, factor, details: { ...details, first, enrolment: how } },
    ...(first
      ? [
          {
            type: 'factor.enrolled' as const,
            outcome: 'success' as const,
            ...base,
            factor: 'recovery' as const,
            details: { count: RECOVERY_CODE_COUNT, regenerated: false },
          },
        ]
      : []),
  );
}

/**
 * After a factor is stored: a first factor drops every other enrolment in progress (pending
 * authenticator apps, passkey registrations of any session) and brings recovery codes, shown once.
 */
async function enrolled(
  rt: Runtime,
  req: Request,
  me: Identity,
  how: EnrolmentKind,
  factor: 'webauthn' | 'totp',
  details: Record<string, string>,
): Promise<{ recovery_codes?: string[] }> {
  const first = how !== 'step-up';
  if (first) {
    // The factor is stored, so a failure here must not cost the recovery codes or the record. It is
    // logged: what is left over still cannot be completed without a step-up (requireMayCompleteEnrolment).
    await Promise.all([dropPendingTotp(rt.db, rt.keys, me.sub), dropRegistrations(rt.userState(me.sub))]).catch((err: unknown) =>
      console.error('stepgate: pending enrolments were not dropped:', err instanceof Error ? err.message : 'non-error'),
    );
  }
  const recovery = first ? { recovery_codes: await issueRecoveryCodes(rt.db, rt.keys, me.sub, rt.now()) } : {};
  await recordEnrolment(rt, req, me, factor, details, how);
  return recovery;
}

/**
 * The common start of adding a factor: same-origin JSON, a secure context, the person, and
 * whether they may (spending an invitation, under `invite`); `how` is kept with the pending
 * enrolment so that its completion can apply the rule again. `at` is when it started.
 */
async function beginEnrolment(rt: Runtime, req: Request): Promise<{ me: Identity; how: EnrolmentKind; at: number }> {
  requireSameOriginJson(req, siteOf(req.url).origin, rt.webauthnOrigins);
  cookieSecurity(rt, req.url);
  const me = await requireIdentity(rt, req);
  const { invite } = await jsonBody(req, EnrolBody);
  const at = rt.now();
  const invited = async () => invite !== undefined && (await useInvite(rt.db, rt.keys, me.sub, invite, at));
  return { me, how: await enrolmentRule(rt, req, me, invited, 'Enrolment needs a valid invitation code from an administrator.'), at };
}

export function registerEnrolmentRoutes(app: Hono, rt: Runtime): void {
  app.post('/.stepgate/api/factors/webauthn/options', async (c) => {
    const req = c.req.raw;
    const { me, how } = await beginEnrolment(rt, req);
    return json(await registrationOptions({ ...passkeyContext(rt, req, me), begun: how }));
  });

  app.post('/.stepgate/api/factors/webauthn/verify', async (c) => {
    const req = c.req.raw;
    requireSameOriginJson(req, siteOf(req.url).origin, rt.webauthnOrigins);
    const me = await requireIdentity(rt, req);
    const body = await jsonBody(
      req,
      z.strictObject({ response: z.looseObject({ id: z.string() }), nickname: z.optional(z.string().check(z.maxLength(64))) }),
    );
    // Taken (once) before the rule is applied: it records whether it was started with an invitation.
    const pending = await takeRegistration(rt.userState(me.sub), me.sid);
    // Why: options fetched while the person had no factor must not be completed after their first one without a step-up.
    const how = await requireMayCompleteEnrolment(rt, req, me, async () => pending?.begun === 'invite');
    if (!pending)
      return problem(ErrorCode.FactorInvalid, 400, 'The passkey could not be registered: no registration in progress (or it expired).');
    const rp = relyingParty(req.url, rt.webauthnOrigins);
    const r = await verifyRegistration({ rp, pending, response: body.response as never, nickname: body.nickname ?? null });
    if (!r.ok) return problem(ErrorCode.FactorInvalid, 400, `The passkey could not be registered: ${r.reason}.`);
    if (!(await addWebauthnCredential(rt.db, rt.keys, me.sub, r.credential, rt.now(), how !== 'step-up'))) {
      if ((await webauthnCredentials(rt.db, rt.keys, me.sub, r.credential.id)).length || how === 'step-up') {
        return problem(ErrorCode.Conflict, 409, 'This passkey is already registered.');
      }
      return lostFirstRace();
    }
    const recovery = await enrolled(rt, req, me, how, 'webauthn', { credential: await hashRef(r.credential.id) });
    return json({ registered: true, ...recovery } satisfies PasskeyRegistered, 201);
  });

  app.post('/.stepgate/api/factors/totp', async (c) => {
    const req = c.req.raw;
    const { me, how, at } = await beginEnrolment(rt, req);
    const f = await createPendingTotp(rt.db, rt.keys, me.sub, at, how);
    const uri = generateURI({ issuer: `Stepgate (${siteOf(req.url).hostname})`, label: me.sub, secret: f.secret });
    return json({ id: f.id, secret: f.secret, otpauth_uri: uri, qr_svg: renderSVG(uri) } satisfies TotpEnrolment, 201);
  });

  app.post('/.stepgate/api/factors/totp/:id/confirm', async (c) => {
    const req = c.req.raw;
    requireSameOriginJson(req, siteOf(req.url).origin, rt.webauthnOrigins);
    const me = await requireIdentity(rt, req);
    const { code } = await jsonBody(req, z.strictObject({ code: z.string().check(z.minLength(1), z.maxLength(16)) }));
    const id = c.req.param('id');
    // Why: a pending factor planted before the first enrolment must not be switched on later without a step-up.
    const how = await requireMayCompleteEnrolment(rt, req, me, () => pendingTotpInvited(rt.db, rt.keys, me.sub, id));
    const pending = (await totpFactors(rt.db, rt.keys, me.sub, 'pending', rt.now() - PENDING_TOTP_TTL_MS)).find((f) => f.id === id);
    if (!pending) return problem(ErrorCode.NotFound, 404, 'No such pending authenticator.');
    const r = await verifyTotp(pending.secret, code, Math.floor(rt.now() / 1000));
    // The confirming code is spent, so it cannot also answer a challenge.
    if (!r.ok || !(await rt.userState(me.sub).acceptTotpStep(pending.id, r.timeStep))) {
      return problem(ErrorCode.FactorInvalid, 400, 'That code is not right (or was already used); try the next one.');
    }
    if (!(await activateTotp(rt.db, rt.keys, me.sub, pending.id, rt.now(), how !== 'step-up'))) {
      const confirmed = (await totpFactors(rt.db, rt.keys, me.sub, 'active')).some((f) => f.id === pending.id);
      return confirmed || how === 'step-up' ? problem(ErrorCode.Conflict, 409, 'Already confirmed.') : lostFirstRace();
    }
    const recovery = await enrolled(rt, req, me, how, 'totp', { factor_id: pending.id });
    return json({ activated: true, id: pending.id, ...recovery } satisfies TotpActivated);
  });
}
