/**
 * @module The factor of a challenge answer: checkFactor verifies it (an authenticator-app code
 * once, a passkey of this person, a recovery code once); recordRefusedFactor puts a refusal on the
 * record with the person's failure count.
 */
import type { AuditLog } from '../audit/audit-log';
import type { AuditDetails, AuditInput } from '../audit/events';
import type { Keyring } from '../crypto/keyring';
import { useRecoveryCode } from '../factors/recovery/recovery-code-store';
import { totpFactors } from '../factors/totp/totp-store';
import { verifyTotp } from '../factors/totp/verify-totp';
import { type RelyingParty, verifyAuthentication } from '../factors/webauthn/webauthn';
import type { Identity } from '../identity/identity-source';
import { backoffMs } from '../user-state/limits';
import type { UserState } from '../user-state/user-state';

/** The factor a challenge is answered with, and for another session's request the number chosen there. */
export type ChallengeAnswer =
  | { method: 'totp' | 'recovery'; code: string; number?: number }
  /** `response`: the browser's assertion, unverified (the WebAuthn library checks its shape). */
  | { method: 'webauthn'; response: { id: string }; number?: number };

/** Who acted, where: the common part of every record written for a request. */
export type AuditWho = Required<Pick<AuditInput, 'actor' | 'via' | 'app' | 'request'>>;

/** What checking a factor needs. */
export interface FactorCheckOptions {
  /** The challenge answered (the id in the URL). */
  challengeId: string;
  /** Who answers: the identified caller, in their own session. */
  me: Identity;
  answer: ChallengeAnswer;
  /** The person's UserState: attempts, TOTP steps seen, failure counts, completing the challenge, releasing a held request. */
  userState: DurableObjectStub<UserState>;
  /** D1: the person's factors. */
  db: D1Database;
  keys: Keyring;
  /** Clock, milliseconds. */
  now: () => number;
  /** The relying party a passkey must have been used for. */
  rp: RelyingParty;
  /** A passkey whose backup state changed since registration: accepted and logged ("flag") or refused. */
  backupChange: 'flag' | 'refuse';
}

/** A checked factor: verified (with its `amr`), refused (with the reason to record), or none to check (no authenticator app). */
export type FactorCheck =
  | { verdict: 'verified'; amr: string[] }
  | { verdict: 'refused'; replayed: boolean; reason: string }
  | { verdict: 'no-factor' };

const invalid: FactorCheck = { verdict: 'refused', replayed: false, reason: 'invalid' };

/** Check the answer's factor at `nowMs`. Spends what it accepts: a TOTP step, a recovery code, a passkey challenge. */
export async function checkFactor(o: FactorCheckOptions, nowMs: number): Promise<FactorCheck> {
  const { answer, me } = o;
  if (answer.method === 'totp') {
    const factors = await totpFactors(o.db, o.keys, me.sub, 'active');
    if (factors.length === 0) return { verdict: 'no-factor' };
    for (const f of factors) {
      const r = await verifyTotp(f.secret, answer.code, Math.floor(nowMs / 1000));
      if (!r.ok) continue;
      // Why: a code seen once (here or in another session) must never pass again.
      if (await o.userState.acceptTotpStep(f.id, r.timeStep)) return { verdict: 'verified', amr: ['otp'] };
      return { verdict: 'refused', replayed: true, reason: 'replayed' };
    }
    return invalid;
  }
  if (answer.method === 'webauthn') {
    const r = await verifyAuthentication({
      db: o.db,
      keys: o.keys,
      userState: o.userState,
      me,
      rp: o.rp,
      challengeId: o.challengeId,
      response: answer.response as never,
      backupChange: o.backupChange,
      now: o.now,
    });
    if (r.ok) return { verdict: 'verified', amr: r.amr };
    console.warn('stepgate: passkey refused:', r.reason);
    return { verdict: 'refused', replayed: false, reason: r.reason.slice(0, 120) };
  }
  return (await useRecoveryCode(o.db, o.keys, me.sub, answer.code, nowMs)) ? { verdict: 'verified', amr: ['recovery'] } : invalid;
}

/** Where a refused factor is recorded: who, the factor, the rule, the challenge. */
export type FactorRecord = AuditWho & { factor: ChallengeAnswer['method']; rule: string; details: AuditDetails };

/**
 * Record a refused factor with the person's consecutive failures, and `user.locked_out` beside it
 * once they are locked or backing off. Their failure state, for the answer.
 */
export async function recordRefusedFactor(
  userState: DurableObjectStub<UserState>,
  audit: AuditLog,
  where: FactorRecord,
  refused: { replayed: boolean; reason: string },
): Promise<{ retryAt: number | null; consecutiveFailures: number }> {
  const f = await userState.failureState();
  const retryAt = f.retryAt === null ? null : new Date(f.retryAt).toISOString();
  const lockedNow = f.retryAt === null || backoffMs(f.consecutive) > 0;
  await audit.record(
    {
      type: 'factor.failed',
      outcome: 'failure',
      ...where,
      reason: refused.reason,
      details: { ...where.details, consecutive_failures: f.consecutive },
    },
    ...(lockedNow
      ? [
          {
            type: 'user.locked_out' as const,
            outcome: 'denied' as const,
            ...where,
            details: { ...where.details, retry_at: retryAt, consecutive_failures: f.consecutive },
          },
        ]
      : []),
  );
  return { retryAt: f.retryAt, consecutiveFailures: f.consecutive };
}
