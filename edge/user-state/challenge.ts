/** @module The challenge: what it is bound to, how it is stored in the UserState, and number matching. */
import type { CanonicalAction } from '../policy/canonical-action';
import type { BodySummary } from '../../shared/wire-shapes';
import type { RequestedFrom } from '../../shared/wire-shapes';
import { base64url } from '../crypto/base64';

/** What a challenge is bound to. It can only be answered by the same user, in the same app session. */
export interface ChallengeInput {
  sid: string;
  rule: string;
  bind: 'session' | 'action';
  factors: readonly string[];
  maxAgeSeconds: number;
  /** Digest of the exact action (`bind: "action"`), else null. */
  actionDigest: string | null;
  /** The action as shown to the person approving it. */
  action: CanonicalAction;
  /** The method the rule matched: differs from `action.method` when an override (`_method`) claimed it. */
  matchedMethod: string;
  /** What the body carries, for the approval page (secrets masked). */
  bodySummary?: BodySummary | null;
  /** Where the request came from, for the approval prompt: the page's origin, the client's IP and browser. */
  requestedFrom?: RequestedFrom | null;
}

export interface Challenge extends ChallengeInput {
  id: string;
  /**
   * 100–999, shown where the request was made; an approval from another session must name it,
   * typed by the person (number matching). 0 for rows stored before numbers existed: never matched.
   */
  number: number;
  createdAt: number;
  expiresAt: number;
  status: 'pending';
}

/** A new challenge id: 128 random bits, base64url (22 characters). */
export const newChallengeId = (): string => base64url(crypto.getRandomValues(new Uint8Array(16)));

/** Whether `id` has the shape of a challenge id (checked before any lookup). */
export const isChallengeId = (id: string): boolean => /^[A-Za-z0-9_-]{22}$/.test(id);

/** Challenges expire after five minutes (NIST SP 800-63B reauthentication prompts). */
export const CHALLENGE_TTL_MS = 5 * 60 * 1000;
/** At most this many open challenges per user; the oldest are dropped first. */
export const MAX_OPEN_CHALLENGES = 32;

export interface ChallengeRow extends Record<string, SqlStorageValue> {
  id: string;
  sid: string;
  rule: string;
  bind: string;
  factors: string;
  max_age: number;
  action_digest: string | null;
  action: string;
  matched_method: string;
  created_at: number;
  expires_at: number;
}

/** The number matching numbers: three digits, so a guess is right 1 time in 900. */
export const MATCH_NUMBER_MIN = 100;
export const MATCH_NUMBER_MAX = 999;

/**
 * A random number for number matching, MATCH_NUMBER_MIN–MATCH_NUMBER_MAX, uniform: 2^32 is not a
 * multiple of 900, so draws from the short last range are drawn again.
 */
export function matchNumber(): number {
  const span = MATCH_NUMBER_MAX - MATCH_NUMBER_MIN + 1;
  const limit = 2 ** 32 - (2 ** 32 % span);
  for (;;) {
    const r = crypto.getRandomValues(new Uint32Array(1))[0]!;
    if (r < limit) return MATCH_NUMBER_MIN + (r % span);
  }
}

/** A stored row as the challenge it is. */
export const toChallenge = (r: ChallengeRow): Challenge => {
  const { summary, from, ...action } = JSON.parse(r.action) as CanonicalAction & {
    summary?: BodySummary | null;
    from?: RequestedFrom | null;
  };
  return {
    id: r.id,
    sid: r.sid,
    rule: r.rule,
    bind: r.bind as Challenge['bind'],
    factors: JSON.parse(r.factors) as string[],
    maxAgeSeconds: r.max_age,
    actionDigest: r.action_digest,
    action,
    bodySummary: summary ?? null,
    requestedFrom: from ?? null,
    matchedMethod: r.matched_method,
    // Rows from before number matching have 0, and their old `choices` column is no longer read.
    number: Number(r.number ?? 0),
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    status: 'pending',
  };
};
