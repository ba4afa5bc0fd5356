/**
 * @module Managing the person's factors: listing them, starting the fresh step-up that changing them
 * needs (`POST /.stepgate/api/factors/step-up`, a challenge of the reserved rule `stepgate-factors`),
 * removing one, regenerating recovery codes. Adding one is in enrolment-routes.ts.
 */
import type { Hono } from 'hono';
import * as z from '../http/zod';
import { ErrorCode } from '../../shared/errors';
import type { FactorList, FreshStepUpChallenge } from '../../shared/wire-shapes';
import { hashRef } from '../audit/audit-log';
import type { Runtime } from '../deployment/runtime';
import { activeFactorCount, removeFactor } from '../factors/active-factors';
import { issueRecoveryCodes, recoveryCodesLeft } from '../factors/recovery/recovery-code-store';
import { totpFactors } from '../factors/totp/totp-store';
import { webauthnCredentials } from '../factors/webauthn/passkey-store';
import { requireSameOriginJson } from '../http/csrf';
import { json, problem } from '../http/responses';
import { recordChallengeRefused } from '../challenges/challenge-refused';
import { challengeRefusedAnswer } from '../pages/refusal-responses';
import { challengeUrl } from '../policy/canonical-request';
import { auditBase, jsonBody, requireIdentity, siteOf } from './endpoint-helpers';
import { FRESH_STEP_UP_MAX_AGE, FRESH_STEP_UP_RULE, requireFreshStepUp } from './fresh-step-up';

export function registerFactorRoutes(app: Hono, rt: Runtime): void {
  app.get('/.stepgate/api/factors', async (c) => {
    const me = await requireIdentity(rt, c.req.raw);
    return json({
      totp: (await totpFactors(rt.db, rt.keys, me.sub, 'active')).map((f) => ({ id: f.id })),
      webauthn: (await webauthnCredentials(rt.db, rt.keys, me.sub)).map((c) => ({
        id: c.id,
        nickname: c.nickname,
        backed_up: c.backedUp,
        created_at: new Date(c.createdAt).toISOString(),
        last_used_at: c.lastUsedAt === null ? null : new Date(c.lastUsedAt).toISOString(),
      })),
      recovery_codes_left: await recoveryCodesLeft(rt.db, rt.keys, me.sub),
      enrolment: rt.enrolment,
    } satisfies FactorList);
  });

  app.post('/.stepgate/api/factors/step-up', async (c) => {
    const req = c.req.raw;
    requireSameOriginJson(req, siteOf(req.url).origin, rt.webauthnOrigins);
    const me = await requireIdentity(rt, req);
    if ((await activeFactorCount(rt.db, rt.keys, me.sub)) === 0)
      return problem(ErrorCode.NoFactor, 400, 'You have no factor yet; enrol one first.');
    const site = siteOf(req.url);
    const opened = await rt.userState(me.sub).openChallenge({
      sid: me.sid,
      rule: FRESH_STEP_UP_RULE,
      bind: 'session',
      factors: ['webauthn', 'totp', 'recovery'],
      maxAgeSeconds: FRESH_STEP_UP_MAX_AGE,
      actionDigest: null,
      action: { method: 'POST', host: site.host, path: '/.stepgate/api/factors', query: '', bodySha256: '' },
      matchedMethod: 'POST',
    });
    // The same creation limits as any step-up (429 ERR_TOO_MANY_CHALLENGES, audited).
    if (!opened.ok) {
      const now = rt.now();
      await recordChallengeRefused(rt.audit, opened, { ...(await auditBase(req, me)), rule: FRESH_STEP_UP_RULE });
      return challengeRefusedAnswer(req, opened, now);
    }
    const ch = opened.challenge;
    return json(
      {
        challenge_id: ch.id,
        challenge_url: challengeUrl(site.origin, ch.id),
        expires_at: new Date(ch.expiresAt).toISOString(),
      } satisfies FreshStepUpChallenge,
      201,
    );
  });

  app.post('/.stepgate/api/factors/remove', async (c) => {
    const req = c.req.raw;
    requireSameOriginJson(req, siteOf(req.url).origin, rt.webauthnOrigins);
    const me = await requireIdentity(rt, req);
    const { kind, id } = await jsonBody(
      req,
      z.strictObject({ kind: z.enum(['totp', 'webauthn']), id: z.string().check(z.minLength(1), z.maxLength(1024)) }),
    );
    await requireFreshStepUp(rt, req, me);
    // Why: without a factor, the person could not step up again, and the next enrolment would be a "first" one.
    if ((await activeFactorCount(rt.db, rt.keys, me.sub)) <= 1)
      return problem(ErrorCode.Conflict, 409, 'This is your last factor; add another before removing it.');
    if (!(await removeFactor(rt.db, rt.keys, me.sub, kind, id))) return problem(ErrorCode.NotFound, 404, 'No such factor of yours.');
    await rt.audit.record({
      type: 'factor.removed',
      outcome: 'success',
      ...(await auditBase(req, me)),
      factor: kind,
      details: { factor_id: kind === 'totp' ? id : await hashRef(id) },
    });
    return json({ removed: true, kind, id });
  });

  app.post('/.stepgate/api/recovery-codes', async (c) => {
    const req = c.req.raw;
    requireSameOriginJson(req, siteOf(req.url).origin, rt.webauthnOrigins);
    const me = await requireIdentity(rt, req);
    await requireFreshStepUp(rt, req, me);
    const codes = await issueRecoveryCodes(rt.db, rt.keys, me.sub, rt.now());
    await rt.audit.record({
      type: 'factor.enrolled',
      outcome: 'success',
      ...(await auditBase(req, me)),
      factor: 'recovery',
      details: { count: codes.length, regenerated: true },
    });
    return json({ recovery_codes: codes }, 201);
  });
}
