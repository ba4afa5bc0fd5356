/**
 * @module How often an organisation may send a test notice (`POST …/webhook/test`, docs/admin.md
 * "Webhooks"): at most TESTS_PER_MINUTE in any 60 s. Counted in the organisation's ApprovalNotifier
 * (one Durable Object per organisation, which queues one notice at a time), so racing calls cannot
 * all slip under the limit; the storage holds only the last TESTS_PER_MINUTE times.
 *
 * Why a limit: each test is a Worker subrequest to a URL an admin chose, with no approval behind it.
 */

export const TESTS_PER_MINUTE = 5;
const WINDOW_MS = 60_000;
const KEY = 'webhook-tests';

/** The slice of Durable Object storage this needs. */
export interface TestRateStorage {
  get<T>(key: string): Promise<T | undefined>;
  put<T>(key: string, value: T): Promise<void>;
}

/**
 * Take one test slot at `now`: 0 when taken (and recorded), else the seconds until one is free
 * (for Retry-After, at least 1). Call only where calls are serialised (the notifier's queue).
 */
export async function takeTestSlot(storage: TestRateStorage, now: number): Promise<number> {
  const recent = ((await storage.get<number[]>(KEY)) ?? []).filter((t) => typeof t === 'number' && t > now - WINDOW_MS && t <= now);
  if (recent.length >= TESTS_PER_MINUTE) {
    const oldest = Math.min(...recent);
    return Math.max(1, Math.ceil((oldest + WINDOW_MS - now) / 1000));
  }
  await storage.put(KEY, [...recent, now].slice(-TESTS_PER_MINUTE));
  return 0;
}
