/**
 * @module One delivery attempt to an organisation's webhook, and what follows from its outcome: a
 * signed POST (10 s timeout, redirects never followed: a receiver that moved is told by its 3xx, and
 * a redirect cannot send the notice somewhere the administrators did not name), delivered on 2xx,
 * retried with back-off on a network error, a timeout, 5xx or 429, given up on anything else or
 * after MAX_ATTEMPTS.
 */
import { MAX_PAYLOAD_BYTES, type NoticeFacts, renderPayload, signatureHeader } from './webhook-payload';
import type { WebhookTarget } from './webhook-store';

/** The wait after attempt n (1-based) before attempt n + 1. */
export const BACKOFF_MS = [2_000, 10_000, 60_000, 300_000, 1_800_000] as const;
export const MAX_ATTEMPTS = BACKOFF_MS.length + 1;
export const ATTEMPT_TIMEOUT_MS = 10_000;

export type AttemptOutcome =
  | { delivered: true; status: number }
  | { delivered: false; retryable: boolean; status?: number; error?: string };

/** POST the notice once. Never throws: every failure is an outcome. */
export async function attemptDelivery(target: WebhookTarget, facts: NoticeFacts, delivery: string, now: number): Promise<AttemptOutcome> {
  const body = renderPayload(facts, target.format, now, delivery);
  if (new TextEncoder().encode(body).length > MAX_PAYLOAD_BYTES) return { delivered: false, retryable: false, error: 'payload too large' };
  const t = Math.floor(now / 1000);
  let res: Response;
  try {
    res = await fetch(target.url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Stepgate-Webhook/1',
        'stepgate-signature': await signatureHeader(target.secret, t, body),
        'stepgate-event': facts.event,
        'stepgate-delivery': delivery,
      },
      body,
    });
  } catch (err) {
    const name = err instanceof Error ? err.name : '';
    return { delivered: false, retryable: true, error: name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network error' };
  }
  // The receiver's answer is not read: only its status counts.
  await res.body?.cancel().catch(() => undefined);
  if (res.status >= 200 && res.status < 300) return { delivered: true, status: res.status };
  return { delivered: false, retryable: res.status >= 500 || res.status === 429, status: res.status };
}

/** When to try again after attempt `attempt` (1-based) failed in a way worth retrying, or null: give up. */
export const retryAt = (attempt: number, now: number): number | null => (attempt < MAX_ATTEMPTS ? now + BACKOFF_MS[attempt - 1]! : null);
