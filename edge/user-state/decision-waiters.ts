/** @module Requests held open while their challenge is answered in the extension, woken with its outcome. */
import type { Decision } from './results';

/** The requests waiting on each challenge, by challenge id. In memory: they live only as long as their fetch. */
export type DecisionWaiters = Map<string, ((d: Decision) => void)[]>;

/** Wait for the challenge's outcome, or `{ kind: "timeout" }` after `timeoutMs`. */
export function waitForDecision(waiters: DecisionWaiters, id: string, timeoutMs: number): Promise<Decision> {
  return new Promise<Decision>((resolve) => {
    const list = waiters.get(id) ?? [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = (d: Decision) => {
      if (timer !== undefined) clearTimeout(timer);
      resolve(d);
    };
    list.push(done);
    waiters.set(id, list);
    timer = setTimeout(() => {
      const left = (waiters.get(id) ?? []).filter((w) => w !== done);
      if (left.length) waiters.set(id, left);
      else waiters.delete(id);
      resolve({ kind: 'timeout' });
    }, timeoutMs);
  });
}

/** Wake every request waiting on the challenge with its outcome. */
export function decide(waiters: DecisionWaiters, id: string, d: Decision): void {
  const list = waiters.get(id);
  waiters.delete(id);
  for (const w of list ?? []) w(d);
}
