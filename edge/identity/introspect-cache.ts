/**
 * @module IntrospectCache: what one "who am I" endpoint said, per isolate (introspect-source.ts) —
 * people under the hash of their session cookie, refused sessions briefly, the one call in flight
 * per session, and the calls each client may start (introspect-client-limit.ts). Every part bounded.
 */
import type { Identity } from './identity-source';
import { IntrospectClientLimit } from './introspect-client-limit';

/** Most answers kept per cache (people known, and sessions refused, each): the oldest go first. */
export const INTROSPECT_CACHE_ENTRIES = 10_000;

/** What the endpoint said about one session. */
export type Answer =
  | { kind: 'person'; identity: Identity }
  /** 401 or 403: the session names nobody. */
  | { kind: 'invalid' }
  /** Anything else: Stepgate cannot tell who is asking. `why` is for the operator's log. */
  | { kind: 'unavailable'; why: string };

/**
 * The answers of one "who am I" endpoint, per isolate: people under the SHA-256 of their session
 * cookie (never the cookie itself) for `cacheSeconds`, refused sessions for at most 5 s, each map
 * bounded (oldest first out, so refused sessions never push out known people), and one call in
 * flight per session however many requests wait for it.
 */
export class IntrospectCache {
  readonly #known = new Map<string, { identity: Identity; until: number }>();
  readonly #refused = new Map<string, number>();
  readonly #inflight = new Map<string, Promise<Answer>>();

  /**
   * @param maxEntries most people, and most refused sessions, kept
   * @param clients the calls each client may start to this endpoint (introspect-client-limit.ts)
   */
  constructor(
    readonly maxEntries: number = INTROSPECT_CACHE_ENTRIES,
    readonly clients: IntrospectClientLimit = new IntrospectClientLimit(),
  ) {}

  /** The kept answer for `key` at `now`, or undefined (expired ones are dropped). */
  get(key: string, now: number): Answer | undefined {
    const known = this.#known.get(key);
    if (known) {
      if (known.until > now) {
        // Most recently used last: eviction takes the least recently used.
        this.#known.delete(key);
        this.#known.set(key, known);
        return { kind: 'person', identity: known.identity };
      }
      this.#known.delete(key);
    }
    const refused = this.#refused.get(key);
    if (refused !== undefined) {
      if (refused > now) return { kind: 'invalid' };
      this.#refused.delete(key);
    }
    return undefined;
  }

  /** Keep `answer` until `until` (ms); `unavailable` is never kept. */
  set(key: string, answer: Answer, until: number): void {
    if (answer.kind === 'unavailable') return;
    this.#known.delete(key);
    this.#refused.delete(key);
    if (answer.kind === 'person') bounded(this.#known, this.maxEntries).set(key, { identity: answer.identity, until });
    else bounded(this.#refused, this.maxEntries).set(key, until);
  }

  /** The call in flight for `key`, or null. */
  inflight(key: string): Promise<Answer> | null {
    return this.#inflight.get(key) ?? null;
  }

  /** Share `call` with every request for `key` until it settles. */
  share(key: string, call: Promise<Answer>): Promise<Answer> {
    this.#inflight.set(key, call);
    const done = () => {
      if (this.#inflight.get(key) === call) this.#inflight.delete(key);
    };
    call.then(done, done);
    return call;
  }

  /** Forget the call in flight for `key`, if it is still `call` (it never settled: its request was cancelled). */
  abandon(key: string, call: Promise<Answer>): void {
    if (this.#inflight.get(key) === call) this.#inflight.delete(key);
  }

  /** Kept answers and calls in flight: people known, sessions refused, calls. */
  get size(): { known: number; refused: number; inflight: number } {
    return { known: this.#known.size, refused: this.#refused.size, inflight: this.#inflight.size };
  }
}

/** `map`, with its oldest entries dropped so that one more fits under `max`. */
export function bounded<V>(map: Map<string, V>, max: number): Map<string, V> {
  while (map.size >= max) {
    const oldest = map.keys().next();
    if (oldest.done) break;
    map.delete(oldest.value);
  }
  return map;
}
