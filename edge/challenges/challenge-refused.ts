/**
 * @module recordChallengeRefused: a challenge the person's limits refused (nothing was created or
 * held) is put on the record as `request.denied` before it is answered (the answer is
 * `challengeRefusedAnswer`, edge/pages/refusal-responses.ts).
 */
import { type AuditLog, recordRefusal } from '../audit/audit-log';
import type { AuditInput } from '../audit/events';
import type { ChallengeRefusal } from '../user-state/results';

/**
 * Record the refusal: reason `challenge-rate-limit` or `hold-limit`, with the limit (and for a hold
 * its scope) and when to retry. Folded per person, reason and rule, like other repeated refusals.
 */
export async function recordChallengeRefused(
  audit: AuditLog,
  r: ChallengeRefusal,
  event: Pick<AuditInput, 'actor' | 'via' | 'app' | 'request' | 'rule'>,
): Promise<void> {
  await recordRefusal(audit, {
    type: 'request.denied',
    outcome: 'denied',
    ...event,
    reason: r.reason,
    details: {
      limit: r.limit,
      ...(r.reason === 'hold-limit' ? { scope: r.scope } : {}),
      retry_at: new Date(r.retryAt).toISOString(),
    },
  });
}
