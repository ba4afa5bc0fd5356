/** @module The UserState's limits: attempts, back-off, challenge creation, prompts, held requests. */
import { CHALLENGE_TTL_MS } from './challenge';

/** Held prompts (extension approvals) a user may be sent per minute: push bombing meets a wall. */
export const MAX_PROMPTS_PER_MINUTE = 5;

/** Largest sealed held request kept: Durable Object SQLite rows hold at most 2 MB. */
export const MAX_HELD_BYTES = 1_900_000;
/** Held requests one person may have at once (waiting for approval, or approved and not yet continued). */
export const MAX_HELD_REQUESTS = 8;
/** Sealed bytes of all of one person's held requests together. */
export const MAX_HELD_TOTAL_BYTES = 8 * 1024 * 1024;
/**
 * One session's share of the person's held requests, in count and in bytes: half, so a single
 * session (a stolen one) can never fill the person's whole cap and leave their own browser with no
 * challenge at all; the person's other sessions always have room for as many again.
 */
export const MAX_HELD_REQUESTS_PER_SESSION = 4;
export const MAX_HELD_BYTES_PER_SESSION = 4 * 1024 * 1024;
/** How long a held request outlives its challenge: the time to continue it once approved. */
export const HELD_APPROVAL_WINDOW_MS = CHALLENGE_TTL_MS;

/**
 * Challenges one session may open per rolling minute, and one person across all their sessions.
 * A person clicks through a few step-ups a minute at most; a stolen session scripting requests
 * (to flood prompts, storage or the audit log) meets 429 `ERR_TOO_MANY_CHALLENGES`.
 */
export const MAX_CHALLENGES_PER_SESSION_PER_MINUTE = 10;
export const MAX_CHALLENGES_PER_USER_PER_MINUTE = 30;

/** Attempts one challenge allows before it is discarded. */
export const MAX_ATTEMPTS_PER_CHALLENGE = 5;
/** Consecutive failures (across sessions) at which the user is locked until an admin resets them (NIST SP 800-63B: at most 100). */
export const MAX_CONSECUTIVE_FAILURES = 100;
/** Back-off after `n` consecutive failures: none for the first 4, then doubling from 1 s, at most 15 minutes. */
export const backoffMs = (n: number): number => (n < 5 ? 0 : Math.min(1000 * 2 ** (n - 5), 15 * 60 * 1000));
