/**
 * @module answerChallenge: answer a step-up challenge with a factor — verify it, complete the
 * challenge exactly once, and grant: a session grant (a token for the cookie) for `bind: "session"`,
 * a one-use approval for `bind: "action"`. Every outcome is recorded before it is answered.
 */
import { base64url } from '../crypto/base64';
import { type AuditLog, hashRef } from '../audit/audit-log';
import type { AuditInput } from '../audit/events';
import { mintGrant } from '../grants/grant-token';
import { hostnameOf } from '../policy/canonical-request';
import { type AuditWho, checkFactor, type FactorCheckOptions, recordRefusedFactor } from './check-factor';

/** Everything answering a challenge needs, explicitly: no Runtime. `keys` also signs the grant. */
export interface AnswerChallengeOptions extends FactorCheckOptions {
  audit: AuditLog;
  /** Who acted, where: the common part of every record written. */
  recordAs: AuditWho;
}

/** What came of an answer: a refusal (each recorded, except `not-found`), an approval, or a session grant. */
export type AnswerChallengeResult =
  | { outcome: 'not-found' }
  /** A wrong number from another session: `triesLeft` more may be typed. */
  | { outcome: 'number-mismatch'; triesLeft: number }
  /** The last wrong number: the challenge was denied (its held request refused). */
  | { outcome: 'number-denied' }
  | { outcome: 'locked'; retryAt: number | null }
  | { outcome: 'too-many-attempts' }
  | { outcome: 'factor-not-allowed'; allowed: readonly string[] }
  | { outcome: 'no-factor' }
  | { outcome: 'factor-refused'; replayed: boolean; retryAt: number | null; consecutiveFailures: number }
  | { outcome: 'already-answered' }
  /** `bind: "action"`: the identical request passes once, until `expiresAt` (ms). */
  | { outcome: 'approved'; rule: string; expiresAt: number }
  /** `bind: "session"`: a grant token for the rule's cookie, valid `maxAgeSeconds`, until `expiresAt` (ms). */
  | { outcome: 'granted'; rule: string; grant: string; maxAgeSeconds: number; expiresAt: number };

/**
 * Answer a challenge. The attempt is counted first (and discarded past its limit); the factor is
 * checked; the challenge is completed exactly once; the grant is recorded before it is released.
 *
 * @throws {StepgateError} 503 when the audit log cannot be written: nothing is granted then
 */
export async function answerChallenge(o: AnswerChallengeOptions): Promise<AnswerChallengeResult> {
  const { challengeId: id, me, answer, userState, audit } = o;
  const attempt = await userState.beginAttempt(id, me.sid, answer.number);
  const base = { ...o.recordAs, factor: answer.method };
  const challengeRef = await hashRef(id);
  if (!attempt.ok) {
    if (attempt.reason === 'not-found') return { outcome: 'not-found' };
    const wrongNumber = attempt.reason === 'number-mismatch' || attempt.reason === 'number-denied';
    const reason = attempt.reason === 'locked' ? 'locked' : wrongNumber ? 'number-mismatch' : 'attempts';
    await audit.record({
      type: 'factor.failed',
      outcome: 'failure',
      ...base,
      reason,
      details: {
        challenge: challengeRef,
        other_session: wrongNumber,
        ...(attempt.reason === 'number-denied' ? { denied: true } : {}),
      },
    });
    if (attempt.reason === 'number-mismatch') return { outcome: 'number-mismatch', triesLeft: attempt.triesLeft };
    if (attempt.reason === 'number-denied') return { outcome: 'number-denied' };
    if (attempt.reason === 'locked') return { outcome: 'locked', retryAt: attempt.retryAt };
    return { outcome: 'too-many-attempts' };
  }
  const ch = attempt.challenge;
  const where = { ...base, rule: ch.rule, details: { challenge: challengeRef, other_session: attempt.otherSession } };
  // Why: a rule that lists only passkeys must not be passed with a phishable code.
  if (!ch.factors.includes(answer.method)) {
    await audit.record({ type: 'factor.failed', outcome: 'failure', ...where, reason: 'not-allowed' });
    return { outcome: 'factor-not-allowed', allowed: ch.factors };
  }

  const nowMs = o.now();
  const checked = await checkFactor(o, nowMs);
  if (checked.verdict === 'no-factor') {
    await audit.record({ type: 'factor.failed', outcome: 'failure', ...where, reason: 'no-factor' });
    return { outcome: 'no-factor' };
  }
  if (checked.verdict === 'refused') {
    const failures = await recordRefusedFactor(userState, audit, where, checked);
    return { outcome: 'factor-refused', replayed: checked.replayed, ...failures };
  }
  const { amr } = checked;

  const done = await userState.completeChallenge(id, me.sid, amr, answer.number);
  if (!done) {
    await audit.record({ type: 'factor.failed', outcome: 'failure', ...where, reason: 'already-answered' });
    return { outcome: 'already-answered' };
  }
  const authTime = Math.floor(nowMs / 1000);
  const granted = {
    ...where,
    request: { ...where.request },
    details: { ...where.details, amr, bind: done.bind, max_age: done.maxAgeSeconds, action_digest: done.actionDigest },
  };
  const verified: AuditInput = { type: 'factor.verified', outcome: 'success', ...where };
  if (done.bind === 'action') {
    // Fail closed: an approval that is not on the record is withdrawn before anyone can use it.
    await recordElseRelease(o, id, amr, [verified, { type: 'grant.issued', outcome: 'success', ...granted }], async () => {
      if (done.actionDigest) await userState.consumeApproval(done.sid, done.actionDigest, done.rule);
    });
    return { outcome: 'approved', rule: done.rule, expiresAt: nowMs + done.maxAgeSeconds * 1000 };
  }
  const exp = authTime + done.maxAgeSeconds;
  const jti = base64url(crypto.getRandomValues(new Uint8Array(12)));
  const token = await mintGrant(o.keys, {
    sub: me.sub,
    sid: me.sid,
    aud: hostnameOf(done.action.host),
    rule: done.rule,
    amr,
    auth_time: authTime,
    exp,
    jti,
  });
  // Fail closed: a grant that is not on the record is never returned.
  const issued: AuditInput = {
    type: 'grant.issued',
    outcome: 'success',
    ...granted,
    details: { ...granted.details, grant: await hashRef(jti) },
  };
  await recordElseRelease(o, id, amr, [verified, issued]);
  return { outcome: 'granted', rule: done.rule, grant: token, maxAgeSeconds: done.maxAgeSeconds, expiresAt: exp * 1000 };
}

/**
 * Record the verified factor and the grant, then release the challenge's held request as approved.
 * If the record fails: `withdraw` what was granted, release the request as gone, and rethrow (503).
 */
async function recordElseRelease(
  o: Pick<AnswerChallengeOptions, 'audit' | 'userState'>,
  id: string,
  amr: string[],
  events: AuditInput[],
  withdraw: () => Promise<void> = async () => {},
): Promise<void> {
  try {
    await o.audit.record(...events);
  } catch (err) {
    await withdraw();
    await o.userState.release(id, { kind: 'gone' });
    throw err;
  }
  await o.userState.release(id, { kind: 'approved', amr });
}
