/** @module challengeJson: a challenge as Stepgate's API shows it (the approval page, the extension). */
import type { Challenge } from '../user-state/user-state';

/** A challenge as Stepgate's API shows it. */
export const challengeJson = (ch: Challenge) => ({
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
