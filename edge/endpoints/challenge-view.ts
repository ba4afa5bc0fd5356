/** @module challengeJson, challengeDetailJson: a challenge as Stepgate's API shows it (the approval page, the extension). */
import type { ChallengeDetailJson, ChallengeJson } from '../../shared/wire-shapes';
import type { Challenge } from '../user-state/challenge';

/** A challenge as Stepgate's API shows it. */
export const challengeJson = (ch: Challenge): ChallengeJson => ({
  id: ch.id,
  rule: ch.rule,
  bind: ch.bind,
  factors: ch.factors,
  max_age: ch.maxAgeSeconds,
  action: ch.action,
  matched_method: ch.matchedMethod,
  body: ch.bodySummary ?? null,
  requested_from: ch.requestedFrom ?? null,
  expires_at: new Date(ch.expiresAt).toISOString(),
});

/** GET /.stepgate/api/challenges/:id: the challenge and the number shown where the request was made (number matching). */
export const challengeDetailJson = (ch: Challenge): ChallengeDetailJson => ({ ...challengeJson(ch), number: ch.number });
