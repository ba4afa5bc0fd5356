/**
 * @module Answering a challenge: verify a factor, complete the challenge exactly once, and grant —
 * a session grant (cookie + token) for `bind: "session"`, a one-use approval for `bind: "action"`.
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import { ErrorCode } from '../../shared/errors';
import { totpFactors, useRecoveryCode } from '../factors/factor-store';
import { verifyTotp } from '../factors/totp/verify-totp';
import { authenticationOptions, verifyAuthentication } from '../factors/webauthn/webauthn';
import { grantCookie } from '../grants/grant-cookie';
import { mintGrant } from '../grants/grant-token';
import { requireSameOriginJson } from '../http/csrf';
import { json, problem } from '../http/responses';
import type { Runtime } from '../deployment/runtime';
import { backoffMs, MAX_ATTEMPTS_PER_CHALLENGE } from '../user-state/user-state';
import { base64url } from '../../shared/base64';
import { hashRef } from '../audit/audit-log';
import { signPrompt } from '../signing/prompt-signature';
import { challengeJson } from './challenge-view';
import { auditBase, cookieSecurity, jsonBody, originOf, requireIdentity } from './endpoint-helpers';
import { locked } from '../pages/refusal-responses';

const VerifyBody = z.discriminatedUnion('method', [
  z.strictObject({ method: z.literal('totp'), code: z.string().min(1).max(64), number: z.number().int().min(10).max(99).optional() }),
  z.strictObject({ method: z.literal('recovery'), code: z.string().min(1).max(64), number: z.number().int().min(10).max(99).optional() }),
  z.strictObject({
    method: z.literal('webauthn'),
    response: z.looseObject({ id: z.string().max(1024) }),
    number: z.number().int().min(10).max(99).optional(),
  }),
]);

export function registerChallengeRoutes(app: Hono, rt: Runtime): void {
  // The extension asks which approvals this browser session has pending; each comes with the
  // edge-signed prompt it must render from.
  app.get('/.stepgate/api/challenges', async (c) => {
    const me = await requireIdentity(rt, c.req.raw);
    const host = new URL(c.req.url).hostname;
    const nowS = Math.floor(rt.now() / 1000);
    const list = await rt.userState(me.sub).pendingChallenges(me.sid);
    return json({
      challenges: await Promise.all(
        list.map(async (ch) => {
          const view = {
            ...challengeJson(ch),
            created_at: new Date(ch.createdAt).toISOString(),
            // Another browser's request: the approver must pick the number shown there.
            other_session: ch.otherSession,
            ...(ch.otherSession ? { number_choices: ch.numberChoices } : {}),
            held: ch.prompt,
            // The held fetch waits at most holdMs; after that an approval only covers a repeat.
            hold_until: ch.prompt ? new Date(ch.createdAt + rt.holdMs).toISOString() : null,
          };
          return { ...view, prompt: await signPrompt(rt.keys, view, host, nowS, Math.floor(ch.expiresAt / 1000)) };
        }),
      ),
    });
  });

  app.post('/.stepgate/api/challenges/:id/deny', async (c) => {
    const req = c.req.raw;
    requireSameOriginJson(req, originOf(req.url), rt.webauthnOrigins);
    const me = await requireIdentity(rt, req);
    await jsonBody(req, z.strictObject({}));
    const id = c.req.param('id');
    // Withdrawn and its held request refused in any case; counted toward the back-off only when
    // another session of the person raised it (push bombing), and not while they back off.
    const ch = await rt.userState(me.sub).denyChallenge(id, me.sid);
    if (!ch) return problem(ErrorCode.ChallengeNotFound, 404, 'No such challenge, or it has expired, or it belongs to another session.');
    await rt.audit.record({
      type: 'request.denied',
      outcome: 'denied',
      ...(await auditBase(req, me)),
      rule: ch.rule,
      reason: 'denied-by-user',
      details: {
        challenge: await hashRef(id),
        method: ch.action.method,
        path: ch.action.path,
        other_session: ch.otherSession,
        counted: ch.counted,
      },
    });
    return json({ denied: true, id });
  });

  app.post('/.stepgate/api/challenges/:id/webauthn/options', async (c) => {
    const req = c.req.raw;
    requireSameOriginJson(req, originOf(req.url), rt.webauthnOrigins);
    const me = await requireIdentity(rt, req);
    const id = c.req.param('id');
    const ch = await rt.userState(me.sub).getChallenge(id, me.sid, true);
    if (!ch) return problem(ErrorCode.ChallengeNotFound, 404, 'No such challenge, or it has expired, or it belongs to another session.');
    if (!ch.factors.includes('webauthn')) return problem(ErrorCode.BadRequest, 400, 'This action does not accept a passkey.');
    const options = await authenticationOptions(rt, me, req.url, id);
    return options ? json(options) : problem(ErrorCode.NoFactor, 400, 'You have no passkey registered.');
  });

  app.post('/.stepgate/api/challenges/:id/verify', async (c) => {
    const req = c.req.raw;
    requireSameOriginJson(req, originOf(req.url), rt.webauthnOrigins);
    const secure = cookieSecurity(rt, req.url);
    const me = await requireIdentity(rt, req);
    const body = await jsonBody(req, VerifyBody);
    const id = c.req.param('id');
    const gate = rt.userState(me.sub);

    const attempt = await gate.beginAttempt(id, me.sid, body.number);
    const base = { ...(await auditBase(req, me)), factor: body.method };
    const challengeRef = await hashRef(id);
    if (!attempt.ok) {
      if (attempt.reason === 'not-found')
        return problem(ErrorCode.ChallengeNotFound, 404, 'No such challenge, or it has expired, or it belongs to another session.');
      const reason = attempt.reason === 'locked' ? 'locked' : attempt.reason === 'number-mismatch' ? 'number-mismatch' : 'attempts';
      await rt.audit.record({
        type: 'factor.failed',
        outcome: 'failure',
        ...base,
        reason,
        details: { challenge: challengeRef, other_session: attempt.reason === 'number-mismatch' },
      });
      if (attempt.reason === 'number-mismatch')
        return problem(ErrorCode.NumberMismatch, 400, 'That is not the number shown where the request was made.');
      if (attempt.reason === 'locked') return locked(attempt.retryAt, rt.now());
      return problem(
        ErrorCode.LockedOut,
        429,
        `Too many attempts for this challenge (${MAX_ATTEMPTS_PER_CHALLENGE}); start the action again.`,
      );
    }
    const ch = attempt.challenge;
    const where = { ...base, rule: ch.rule, details: { challenge: challengeRef, other_session: attempt.otherSession } };
    // Why: a rule that lists only passkeys must not be passed with a phishable code.
    if (!ch.factors.includes(body.method)) {
      await rt.audit.record({ type: 'factor.failed', outcome: 'failure', ...where, reason: 'not-allowed' });
      return problem(ErrorCode.BadRequest, 400, `This action needs ${ch.factors.join(' or ')}.`);
    }

    const nowMs = rt.now();
    let amr: string[] | null = null;
    let replayed = false;
    let refusal = 'invalid';
    if (body.method === 'totp') {
      const factors = await totpFactors(rt.db, rt.keys, me.sub, 'active');
      if (factors.length === 0) {
        await rt.audit.record({ type: 'factor.failed', outcome: 'failure', ...where, reason: 'no-factor' });
        return problem(ErrorCode.NoFactor, 400, 'You have no authenticator app enrolled.');
      }
      for (const f of factors) {
        const r = await verifyTotp(f.secret, body.code, Math.floor(nowMs / 1000));
        if (!r.ok) continue;
        // Why: a code seen once (here or in another session) must never pass again.
        if (await gate.acceptTotpStep(f.id, r.timeStep)) amr = ['otp'];
        else replayed = true;
        break;
      }
    } else if (body.method === 'webauthn') {
      const r = await verifyAuthentication(rt, me, req.url, id, body.response as never);
      if (r.ok) amr = r.amr;
      else {
        console.warn('stepgate: passkey refused:', r.reason);
        refusal = r.reason.slice(0, 120);
      }
    } else if (await useRecoveryCode(rt.db, rt.keys, me.sub, body.code, nowMs)) {
      amr = ['recovery'];
    }

    if (!amr) {
      const f = await gate.failureState();
      const extra = { retry_at: f.retryAt === null ? null : new Date(f.retryAt).toISOString(), consecutive_failures: f.consecutive };
      const lockedNow = f.retryAt === null || backoffMs(f.consecutive) > 0;
      await rt.audit.record(
        {
          type: 'factor.failed',
          outcome: 'failure',
          ...where,
          reason: replayed ? 'replayed' : refusal,
          details: { ...where.details, consecutive_failures: f.consecutive },
        },
        ...(lockedNow
          ? [
              {
                type: 'user.locked_out' as const,
                outcome: 'denied' as const,
                ...where,
                details: { ...where.details, retry_at: extra.retry_at, consecutive_failures: f.consecutive },
              },
            ]
          : []),
      );
      return replayed
        ? problem(ErrorCode.FactorReplayed, 401, 'That code was already used. Wait for the next one.', extra)
        : problem(
            ErrorCode.FactorInvalid,
            401,
            body.method === 'webauthn' ? 'That passkey was not accepted.' : 'That code is not right.',
            extra,
          );
    }

    const done = await gate.completeChallenge(id, me.sid, amr, body.number);
    if (!done) {
      await rt.audit.record({ type: 'factor.failed', outcome: 'failure', ...where, reason: 'already-answered' });
      return problem(ErrorCode.ChallengeUsed, 409, 'This challenge was already answered.');
    }
    const authTime = Math.floor(nowMs / 1000);
    const granted = {
      ...where,
      request: { ...where.request },
      details: { ...where.details, amr, bind: done.bind, max_age: done.maxAgeSeconds, action_digest: done.actionDigest },
    };
    if (done.bind === 'action') {
      // Fail closed: an approval that is not on the record is withdrawn before anyone can use it.
      try {
        await rt.audit.record(
          { type: 'factor.verified', outcome: 'success', ...where },
          { type: 'grant.issued', outcome: 'success', ...granted },
        );
      } catch (err) {
        if (done.actionDigest) await gate.consumeApproval(done.sid, done.actionDigest, done.rule);
        await gate.release(id, { kind: 'gone' });
        throw err;
      }
      await gate.release(id, { kind: 'approved', amr });
      return json({
        approved: true,
        bind: 'action',
        rule: done.rule,
        expires_at: new Date(nowMs + done.maxAgeSeconds * 1000).toISOString(),
        detail: 'Approved. Send the identical request again; it passes once.',
      });
    }
    const exp = authTime + done.maxAgeSeconds;
    const jti = base64url(crypto.getRandomValues(new Uint8Array(12)));
    const token = await mintGrant(rt.keys, {
      sub: me.sub,
      sid: me.sid,
      aud: new URL(`http://${done.action.host}`).hostname,
      rule: done.rule,
      amr,
      auth_time: authTime,
      exp,
      jti,
    });
    try {
      await rt.audit.record(
        { type: 'factor.verified', outcome: 'success', ...where },
        { type: 'grant.issued', outcome: 'success', ...granted, details: { ...granted.details, grant: await hashRef(jti) } },
      );
    } catch (err) {
      await gate.release(id, { kind: 'gone' });
      throw err;
    }
    await gate.release(id, { kind: 'approved', amr });
    return json({ granted: true, bind: 'session', rule: done.rule, grant: token, expires_at: new Date(exp * 1000).toISOString() }, 200, {
      'set-cookie': grantCookie(done.rule, token, done.maxAgeSeconds, secure),
    });
  });
}
