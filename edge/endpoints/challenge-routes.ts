/**
 * @module The challenge endpoints: the extension's pending approvals, one challenge's details, denying
 * a challenge, passkey options for one, and answering one (answerChallenge, edge/challenges) — its
 * outcome mapped to HTTP.
 */
import type { Hono } from 'hono';
import * as z from '../http/zod';
import { ErrorCode } from '../../shared/errors';
import { answerChallenge, type AnswerChallengeResult } from '../challenges/answer-challenge';
import type { PasskeyEvidence } from '../approvals/approval-votes';
import { approvalOfRule, castApprovalVote } from './approval-vote';
import { denyChallenge } from '../challenges/deny-challenge';
import { authenticationOptions } from '../factors/webauthn/webauthn';
import { grantCookie } from '../grants/grant-cookie';
import { requireSameOriginJson } from '../http/csrf';
import { json, problem } from '../http/responses';
import type { Runtime } from '../deployment/runtime';
import { MAX_ATTEMPTS_PER_CHALLENGE } from '../user-state/limits';
import { MATCH_NUMBER_MAX, MATCH_NUMBER_MIN } from '../user-state/challenge';
import { MAX_WRONG_NUMBERS } from '../user-state/number-match';
import { signPrompt } from '../signing/prompt-signature';
import { howToAnswer } from './challenge-answering';
import { challengeDetailJson, challengeJson } from './challenge-view';
import { auditBase, cookieSecurity, jsonBody, loadChallenge, passkeyContext, requireIdentity, siteOf } from './endpoint-helpers';
import { locked } from '../pages/refusal-responses';

/** For another session's request: the number shown where the request was made, as the approver typed it. */
const chosenNumber = z.optional(z.number().check(z.int(), z.gte(MATCH_NUMBER_MIN), z.lte(MATCH_NUMBER_MAX)));
const VerifyBody = z.discriminatedUnion('method', [
  z.strictObject({ method: z.literal('totp'), code: z.string().check(z.minLength(1), z.maxLength(64)), number: chosenNumber }),
  z.strictObject({ method: z.literal('recovery'), code: z.string().check(z.minLength(1), z.maxLength(64)), number: chosenNumber }),
  z.strictObject({
    method: z.literal('webauthn'),
    response: z.looseObject({ id: z.string().check(z.maxLength(1024)) }),
    number: chosenNumber,
  }),
]);

const challengeNotFound = () =>
  problem(ErrorCode.ChallengeNotFound, 404, 'No such challenge, or it has expired, or it belongs to another session.');

/** An answer's outcome as HTTP: a problem, an approval, or a session grant with its cookie. */
function answerResponse(
  r: AnswerChallengeResult,
  method: string,
  secure: boolean,
  now: number,
  attemptsLeft: number | null = null,
): Response {
  switch (r.outcome) {
    case 'not-found':
      return challengeNotFound();
    case 'number-mismatch':
      // Never the right number: only how many more tries there are before the request is denied.
      return problem(ErrorCode.NumberMismatch, 400, 'That is not the number shown where the request was made.', {
        tries_left: r.triesLeft,
      });
    case 'number-denied':
      return problem(
        ErrorCode.StepUpDenied,
        403,
        `That was the wrong number ${MAX_WRONG_NUMBERS} times, so this request was denied. Start the action again if you meant it.`,
        { tries_left: 0 },
      );
    case 'locked':
      return locked(r.retryAt, now);
    case 'too-many-attempts':
      return problem(
        ErrorCode.LockedOut,
        429,
        `That was more than ${MAX_ATTEMPTS_PER_CHALLENGE} tries for this confirmation; start the action again.`,
        { attempts_left: 0 },
      );
    case 'factor-not-allowed':
      return problem(ErrorCode.BadRequest, 400, `This action needs ${r.allowed.join(' or ')}.`);
    case 'no-factor':
      return problem(ErrorCode.NoFactor, 400, 'You have no authenticator app enrolled.');
    case 'factor-refused': {
      const extra = {
        retry_at: r.retryAt === null ? null : new Date(r.retryAt).toISOString(),
        consecutive_failures: r.consecutiveFailures,
        // The step-up page says how many tries are left; at 0 it closes its form.
        ...(attemptsLeft === null ? {} : { attempts_left: attemptsLeft }),
      };
      return r.replayed
        ? problem(ErrorCode.FactorReplayed, 401, 'That code was already used. Wait for the next one.', extra)
        : problem(
            ErrorCode.FactorInvalid,
            401,
            method === 'webauthn' ? 'That passkey was not accepted.' : 'That code is not right.',
            extra,
          );
    }
    case 'already-answered':
      return problem(ErrorCode.ChallengeUsed, 409, 'This challenge was already answered.');
    case 'approved':
      return json({
        approved: true,
        bind: 'action',
        rule: r.rule,
        expires_at: new Date(r.expiresAt).toISOString(),
        detail: 'Approved. Send the identical request again; it passes once.',
      });
    case 'granted':
      return json({ granted: true, bind: 'session', rule: r.rule, grant: r.grant, expires_at: new Date(r.expiresAt).toISOString() }, 200, {
        'set-cookie': grantCookie(r.rule, r.grant, r.maxAgeSeconds, secure),
      });
  }
}

export function registerChallengeRoutes(app: Hono, rt: Runtime): void {
  // The extension asks which approvals this browser session has pending; each comes with the
  // edge-signed prompt it must render from.
  app.get('/.stepgate/api/challenges', async (c) => {
    const me = await requireIdentity(rt, c.req.raw);
    const host = siteOf(c.req.url).hostname;
    const nowS = Math.floor(rt.now() / 1000);
    const list = await rt.userState(me.sub).pendingChallenges(me.sid);
    return json({
      challenges: await Promise.all(
        list.map(async (ch) => {
          const view = {
            ...challengeJson(ch),
            created_at: new Date(ch.createdAt).toISOString(),
            // Another browser's request: the approver must type the number shown there (never sent here).
            other_session: ch.otherSession,
            held: ch.prompt,
            // The held fetch waits at most holdMs; after that an approval only covers a repeat.
            hold_until: ch.prompt ? new Date(ch.createdAt + rt.holdMs).toISOString() : null,
          };
          return { ...view, prompt: await signPrompt(rt.keys, view, host, nowS, Math.floor(ch.expiresAt / 1000)) };
        }),
      ),
    });
  });

  // The approval page reads the challenge it shows, with the number shown where the request was made.
  app.get('/.stepgate/api/challenges/:id', async (c) => json(challengeDetailJson(await loadChallenge(rt, c.req.raw, c.req.param('id')))));

  // The step-up page asks how this person can answer: it offers only that, or says why it cannot.
  app.get('/.stepgate/api/challenges/:id/how-to-answer', async (c) =>
    json(await howToAnswer(rt, await requireIdentity(rt, c.req.raw), c.req.param('id'))),
  );

  app.post('/.stepgate/api/challenges/:id/deny', async (c) => {
    const req = c.req.raw;
    requireSameOriginJson(req, siteOf(req.url).origin, rt.webauthnOrigins);
    const me = await requireIdentity(rt, req);
    await jsonBody(req, z.strictObject({}));
    const id = c.req.param('id');
    const recordAs = await auditBase(req, me);
    const denied = await denyChallenge({ challengeId: id, me, userState: rt.userState(me.sub), audit: rt.audit, recordAs });
    return denied ? json({ denied: true, id }) : challengeNotFound();
  });

  app.post('/.stepgate/api/challenges/:id/webauthn/options', async (c) => {
    const req = c.req.raw;
    requireSameOriginJson(req, siteOf(req.url).origin, rt.webauthnOrigins);
    const me = await requireIdentity(rt, req);
    const id = c.req.param('id');
    const passkeys = passkeyContext(rt, req, me);
    const ch = await passkeys.userState.getChallenge(id, me.sid, true);
    if (!ch) return challengeNotFound();
    if (!ch.factors.includes('webauthn')) return problem(ErrorCode.BadRequest, 400, 'This action does not accept a passkey.');
    const options = await authenticationOptions({ ...passkeys, challengeId: id, actionDigest: ch.actionDigest });
    return options ? json(options) : problem(ErrorCode.NoFactor, 400, 'You have no passkey registered.');
  });

  // Thin: answerChallenge (edge/challenges) does the work and records every outcome; this maps it to HTTP.
  app.post('/.stepgate/api/challenges/:id/verify', async (c) => {
    const req = c.req.raw;
    requireSameOriginJson(req, siteOf(req.url).origin, rt.webauthnOrigins);
    const secure = cookieSecurity(rt, req.url);
    const me = await requireIdentity(rt, req);
    const answer = await jsonBody(req, VerifyBody);
    const result = await answerChallenge({
      ...passkeyContext(rt, req, me),
      challengeId: c.req.param('id'),
      answer,
      audit: rt.audit,
      recordAs: await auditBase(req, me),
      now: () => rt.now(),
      backupChange: rt.backupChange,
    });
    // An approver's step-up for a dual-control request: answering it casts their approval.
    if (result.outcome === 'approved' && approvalOfRule(result.rule) !== null) {
      const approval = await castApprovalVote(rt, req, executionContextOf(c), me, result.rule, c.req.param('id'), passkeyEvidence(answer));
      return json({ approved: true, bind: 'action', rule: result.rule, expires_at: new Date(result.expiresAt).toISOString(), approval });
    }
    const attemptsLeft = result.outcome === 'factor-refused' ? await rt.userState(me.sub).attemptsLeft(c.req.param('id'), me.sid) : null;
    return answerResponse(result, answer.method, secure, rt.now(), attemptsLeft);
  });
}

/** The passkey assertion of an answer, as recorded with an approval (strings only; absent parts make it none). */
function passkeyEvidence(answer: z.infer<typeof VerifyBody>): PasskeyEvidence | null {
  if (answer.method !== 'webauthn') return null;
  const r = (answer.response as { response?: Record<string, unknown> }).response ?? {};
  const { clientDataJSON, authenticatorData, signature } = r;
  if (typeof clientDataJSON !== 'string' || typeof authenticatorData !== 'string' || typeof signature !== 'string') return null;
  return { credential: answer.response.id, clientDataJSON, authenticatorData, signature };
}

const executionContextOf = (c: { executionCtx: unknown }): ExecutionContext | null => {
  try {
    return c.executionCtx as ExecutionContext;
  } catch {
    return null;
  }
};
