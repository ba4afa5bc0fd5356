/**
 * @module The answers to a refused step-up: locked out (429), or too many challenges or held requests
 * (429, a page for a browser). Answers only: the caller records the refusal first.
 */
import { ErrorCode } from '../../shared/errors';
import { htmlResponse, isNavigation, problem } from '../http/responses';
import {
  MAX_CHALLENGES_PER_SESSION_PER_MINUTE,
  MAX_CHALLENGES_PER_USER_PER_MINUTE,
  MAX_HELD_BYTES_PER_SESSION,
  MAX_HELD_REQUESTS,
  MAX_HELD_REQUESTS_PER_SESSION,
  MAX_HELD_TOTAL_BYTES,
} from '../user-state/limits';
import type { ChallengeRefusal } from '../user-state/results';
import { refusalPage } from './step-up-page';

/** 429 for a person backing off after failures (with `Retry-After`), or locked until an administrator unlocks them. */
export function locked(retryAt: number | null, now: number): Response {
  return problem(
    ErrorCode.LockedOut,
    429,
    retryAt === null
      ? 'Too many failed attempts: ask an administrator to unlock your account.'
      : `Too many failed attempts. Try again after ${new Date(retryAt).toISOString()}.`,
    { retry_at: retryAt === null ? null : new Date(retryAt).toISOString() },
    retryAt === null ? {} : { 'retry-after': String(Math.max(1, Math.ceil((retryAt - now) / 1000))) },
  );
}

/**
 * 429 for a request whose challenge the person's limits refused (nothing was created or held; the
 * caller has recorded it, `recordChallengeRefused`): a page for a browser navigating, problem+json
 * for anyone else, with `Retry-After`.
 */
export async function challengeRefusedAnswer(req: Request, r: ChallengeRefusal, now: number): Promise<Response> {
  const retryAt = new Date(r.retryAt).toISOString();
  const rate = r.reason === 'challenge-rate-limit';
  const code = rate ? ErrorCode.TooManyChallenges : ErrorCode.TooManyHeldRequests;
  const message = rate
    ? r.limit === 'session'
      ? `This session asked for more than ${MAX_CHALLENGES_PER_SESSION_PER_MINUTE} confirmations in the last minute.`
      : `More than ${MAX_CHALLENGES_PER_USER_PER_MINUTE} confirmations were asked for you in the last minute, across your sessions.`
    : r.scope === 'session'
      ? `This browser session already has ${MAX_HELD_REQUESTS_PER_SESSION} actions, ` +
        `or ${MAX_HELD_BYTES_PER_SESSION / 1024 / 1024} MiB of them, waiting for your approval. ` +
        `Approve or cancel one of them, or wait until they expire.`
      : `You already have ${MAX_HELD_REQUESTS} actions, or ${MAX_HELD_TOTAL_BYTES / 1024 / 1024} MiB of them, waiting for your approval. ` +
        `Approve or cancel one of them, or wait until they expire.`;
  const headers = { 'retry-after': String(Math.max(1, Math.ceil((r.retryAt - now) / 1000))) };
  if (isNavigation(req)) {
    const title = rate ? 'Too many requests to confirm' : 'Too many actions waiting';
    return htmlResponse(await refusalPage({ title, message, retryAt: r.retryAt, code }), 429, headers);
  }
  return problem(code, 429, `${message} Try again after ${retryAt}.`, { retry_at: retryAt, limit: r.limit }, headers);
}
