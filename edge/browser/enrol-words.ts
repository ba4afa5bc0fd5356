/**
 * @module What the enrolment page says when Stepgate refuses something: plain words chosen by the
 * refusal's code (the API's `detail` is written for programs too and may name endpoints), never a code.
 */
import { ErrorCode } from '../../shared/errors';
import { localTime } from '../../shared/local-time';
import type { Problem } from '../../shared/wire-shapes';

/** When a locked-out person may try again, in their own time zone (UTC beside it). */
export function tryAgainAt(at: number): string {
  const { local, utc } = localTime(at);
  return local === utc ? local : `${local} (${utc})`;
}

/** A refusal's detail, if it reads as words for people (no paths or methods), else null. */
const plainDetail = (p: Problem): string | null => (p.detail && !/\/\.stepgate|\bPOST\b|\bERR_/.test(p.detail) ? p.detail : null);

/** How many more answers the challenge takes (the step-up answer's `attempts_left`), or null when not said. */
export const attemptsLeft = (p: Problem): number | null => {
  const n = (p as { attempts_left?: unknown }).attempts_left;
  return typeof n === 'number' ? n : null;
};

/** A lock-out the refusal reports: until a time, or (`until` null) until an administrator lifts it; null when none. */
export interface Lock {
  until: number | null;
}

/**
 * The lock-out in a refusal, from its `retry_at`: null there means only an administrator can lift it;
 * a time still ahead, a wait; a time now or past (a wrong code answers with "now"), or none, no lock.
 */
export function lockOf(p: Problem): Lock | null {
  if (!('retry_at' in p) || p.retry_at === undefined) return null;
  if (p.retry_at === null) return { until: null };
  const until = Date.parse(p.retry_at);
  return until > Date.now() + 1000 ? { until } : null;
}

const lockWords = (lock: Lock): string =>
  lock.until === null
    ? 'Too many wrong tries: ask an administrator to unlock your account.'
    : `Too many wrong tries. You can try again after ${tryAgainAt(lock.until)}.`;

/** The refusal in words for the person. */
export function enrolWords(p: Problem): string {
  switch (p.code) {
    case ErrorCode.IdentityRequired:
      return 'You are no longer signed in. Sign in to the app again, then reload this page.';
    case ErrorCode.IdentityUnavailable:
      return 'We could not check who you are just now. Nothing changed; try again in a moment.';
    case ErrorCode.FreshStepUpRequired:
      return 'Confirm it is you first (step 1), then add the factor.';
    case ErrorCode.TooManyChallenges:
      return 'Too many confirmations were started in the last minute. Wait a minute, then try again.';
    case ErrorCode.LockedOut: {
      const lock = lockOf(p);
      return lock ? lockWords(lock) : 'Too many wrong tries for this confirmation. Try again: the next try starts a new one.';
    }
    case ErrorCode.FactorInvalid:
    case ErrorCode.FactorReplayed: {
      const said = plainDetail(p) ?? 'That was not accepted.';
      const lock = lockOf(p);
      if (lock) return `${said} ${lockWords(lock)}`;
      const left = attemptsLeft(p);
      if (left === 0) return `${said} That was the last try for this confirmation: your next try starts a new one.`;
      return left === null ? said : `${said} ${left === 1 ? '1 try' : `${left} tries`} left.`;
    }
    case ErrorCode.Conflict:
      if (p.detail?.startsWith('Another factor'))
        return (
          'Another factor was added first (in another tab or on another device). ' +
          'Reload this page, confirm it is you with it, then add this one.'
        );
      return plainDetail(p) ?? 'That was already done.';
    default:
      return plainDetail(p) ?? 'That did not work. Reload this page and try again.';
  }
}
