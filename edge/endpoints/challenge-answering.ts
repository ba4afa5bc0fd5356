/**
 * @module howToAnswer: what the step-up page needs to offer only what can work — the ways to confirm
 * the person has set up that the challenge's rule allows (strongest first), the wrong answers the
 * challenge still takes, and whether the person must wait or is locked out. Read only: it changes nothing.
 */
import { ErrorCode } from '../../shared/errors';
import { type AnswerFactor, FACTOR_STRENGTH, type HowToAnswer } from '../../shared/how-to-answer';
import type { Runtime } from '../deployment/runtime';
import { recoveryCodesLeft } from '../factors/recovery/recovery-code-store';
import { totpFactors } from '../factors/totp/totp-store';
import { webauthnCredentials } from '../factors/webauthn/passkey-store';
import { StepgateError } from '../http/stepgate-error';
import type { Identity } from '../identity/identity-source';
import { isChallengeId } from '../user-state/challenge';

const gone = () =>
  new StepgateError(ErrorCode.ChallengeNotFound, 404, 'This confirmation has ended: it expired, or was answered or closed.');

/** How `me` can answer their own challenge `id` now. @throws {StepgateError} 404 when it is not a live challenge of their session */
export async function howToAnswer(rt: Runtime, me: Identity, id: string): Promise<HowToAnswer> {
  if (!isChallengeId(id)) throw gone();
  const state = rt.userState(me.sub);
  const ch = await state.getChallenge(id, me.sid);
  const attemptsLeft = ch ? await state.attemptsLeft(id, me.sid) : null;
  if (!ch || attemptsLeft === null) throw gone();
  const [lock, apps, passkeys, codes] = await Promise.all([
    state.lockState(),
    totpFactors(rt.db, rt.keys, me.sub, 'active'),
    webauthnCredentials(rt.db, rt.keys, me.sub),
    recoveryCodesLeft(rt.db, rt.keys, me.sub),
  ]);
  const has: Record<AnswerFactor, boolean> = { webauthn: passkeys.length > 0, totp: apps.length > 0, recovery: codes > 0 };
  const allowed = FACTOR_STRENGTH.filter((f) => ch.factors.includes(f));
  return {
    factors: allowed.filter((f) => has[f]),
    allowed,
    has_factors: has.webauthn || has.totp || has.recovery,
    attempts_left: attemptsLeft,
    retry_at: !lock.lockedOut && lock.lockedUntil > rt.now() ? new Date(lock.lockedUntil).toISOString() : null,
    locked_out: lock.lockedOut,
  };
}
