/** @module The shapes of the UserState's answers: an attempt begun, a challenge refused, a held request's decision, an approval. */
import type { Challenge } from './challenge';

/** How a held request's challenge ended. */
export type Decision = { kind: 'approved'; amr: string[] } | { kind: 'denied' } | { kind: 'timeout' } | { kind: 'gone' };

/**
 * Why no challenge was opened: a creation limit, or held requests at their cap — this session's
 * share (`scope: "session"`) or the person's (`"person"`). Nothing was created.
 */
export type ChallengeRefusal =
  | { ok: false; reason: 'challenge-rate-limit'; limit: 'session' | 'person'; retryAt: number }
  | { ok: false; reason: 'hold-limit'; limit: 'count' | 'bytes'; scope: 'session' | 'person'; retryAt: number };

/** An attempt to answer a challenge: begun (the challenge, and whether another session answers it), or refused. */
export type AttemptResult =
  | { ok: true; challenge: Challenge; otherSession: boolean }
  | { ok: false; reason: 'not-found' | 'too-many' }
  /** Number matching (number-match.ts): a wrong number, or the last wrong one, which denied the challenge. */
  | { ok: false; reason: 'number-mismatch'; triesLeft: number }
  | { ok: false; reason: 'number-denied' }
  | { ok: false; reason: 'locked'; retryAt: number | null };

/** An approved action waiting for its one use. */
export interface Approval {
  rule: string;
  amr: string[];
  authTime: number;
}
