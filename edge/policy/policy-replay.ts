/**
 * @module replayRoutes(): the recorded routes of an app (route-sample-store.ts) run through two
 * policies, and those whose outcome changes (pass, step-up, approve-action, report-only, refused),
 * most requests first. Pure: both policies are asked as the tester asks (policy-tester.ts).
 */
import type { CompiledPolicy } from './compile-policy';
import { type TestOptions, type TestOutcome, testRequest } from './policy-tester';
import type { RouteSample } from './route-sample-store';

/** The most changes one replay lists. */
export const MAX_REPLAY_CHANGES = 100;

export interface RouteChange extends RouteSample {
  from: TestOutcome;
  to: TestOutcome;
}

export interface ReplayResult {
  /** Distinct routes replayed. */
  routes: number;
  /** Those whose outcome changes, at most MAX_REPLAY_CHANGES, most requests first. */
  changed: RouteChange[];
}

/** Replay `samples` under `from` (the active policy) and `to` (a draft). */
export function replayRoutes(samples: readonly RouteSample[], from: CompiledPolicy, to: CompiledPolicy, o: TestOptions = {}): ReplayResult {
  const changed: RouteChange[] = [];
  for (const s of samples) {
    // Recorded as the canonical host and path, so canonicalizing them again gives the same request.
    const url = `https://${s.host}${s.path}`;
    const before = testRequest(from, s.method, url, o).outcome;
    const after = testRequest(to, s.method, url, o).outcome;
    if (before !== after) changed.push({ method: s.method, host: s.host, path: s.path, requests: s.requests, from: before, to: after });
  }
  changed.sort((a, b) => b.requests - a.requests || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { routes: samples.length, changed: changed.slice(0, MAX_REPLAY_CHANGES) };
}
