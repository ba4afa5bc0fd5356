/** @module One run per key at a time: a second call while one runs gets the same promise (one poll per site, one pairing per site). */

/** A runner that starts `run` for a key only when none is running for it, and shares the running one otherwise. */
export function singleFlight<T>(): (key: string, run: () => Promise<T>) => Promise<T> {
  const running = new Map<string, Promise<T>>();
  return (key, run) => {
    const current = running.get(key);
    if (current) return current;
    const started = run().finally(() => running.delete(key));
    running.set(key, started);
    return started;
  };
}
