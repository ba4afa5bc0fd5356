/**
 * @module How a person can answer one challenge right now (`GET /.stepgate/api/challenges/:id/how-to-answer`):
 * the ways they have, strongest first, the tries left, and whether they must wait or are locked out.
 * Written by the edge (edge/endpoints/challenge-answering.ts), read by the step-up page's script.
 */

/** A way to answer a challenge. */
export type AnswerFactor = 'webauthn' | 'totp' | 'recovery';

/** Strongest first: a passkey (phishing-resistant), then an app code, then a one-time recovery code. */
export const FACTOR_STRENGTH: readonly AnswerFactor[] = ['webauthn', 'totp', 'recovery'];

/** The answer of `GET /.stepgate/api/challenges/:id/how-to-answer`. */
export interface HowToAnswer {
  /** The ways this person can answer now: allowed by the rule and set up by them, strongest first. */
  factors: AnswerFactor[];
  /** The ways the rule allows, strongest first (what to set up when `factors` is empty). */
  allowed: AnswerFactor[];
  /** Whether the person has set up any way at all (of any kind). */
  has_factors: boolean;
  /** Wrong answers this challenge still takes; at 0 it can no longer be answered. */
  attempts_left: number;
  /** While the person must wait after failures in a row: until when (ISO 8601); null when they need not wait. */
  retry_at: string | null;
  /** Locked after too many failures: only an administrator can unlock them. */
  locked_out: boolean;
}

/** A way in words, for a sentence: "a passkey", "a code from an authenticator app", "a recovery code". */
export const FACTOR_WORDS: Record<AnswerFactor, string> = {
  webauthn: 'a passkey',
  totp: 'a code from an authenticator app',
  recovery: 'a recovery code',
};

/** "a passkey or a code from an authenticator app". */
export const factorsInWords = (factors: readonly AnswerFactor[]): string => {
  const words = factors.map((f) => FACTOR_WORDS[f]);
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
};
