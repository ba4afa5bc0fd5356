/**
 * @module What every fuzz target shares: the target shape the runner (`npm run fuzz`) and the
 * short-seed test (`test/node/fuzz-seed.test.ts`) both run, counters that show a generator really
 * reaches the interesting cases, and the one allowed way to fail on untrusted input.
 */
import type fc from 'fast-check';
import { StepgateError } from '../../edge/http/stepgate-error';

/** One property over one parser. `build` may do async setup (keys, tokens) once per process. */
export interface FuzzTarget {
  /** Short, unique, `area/what` (the runner's `--only` matches a prefix or substring). */
  name: string;
  /** The module and function under test, for the report. */
  parser: string;
  /** The oracle, in one line, for the report. */
  oracle: string;
  build(): Promise<fc.IRawProperty<unknown, boolean>> | fc.IRawProperty<unknown, boolean>;
  /** Runs in the short-seed test (default 1000). */
  seedRuns?: number;
  /** Counters the property increments; printed by the runner. */
  stats?: Stats;
  /** Cases one run checks at most (a batch); the runner divides the requested count by it. */
  casesPerRun?: number;
  /** More to print after the counters (e.g. which odd characters a validator accepts). */
  extraReport?(): string;
  /** Release what `build` started (a workerd process). */
  dispose?(): Promise<void>;
}

/** Named counters; `report` shows them with their share of all cases. */
export class Stats {
  private readonly counts = new Map<string, number>();
  cases = 0;
  case(): void {
    this.cases++;
  }
  add(name: string, n = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + n);
  }
  get(name: string): number {
    return this.counts.get(name) ?? 0;
  }
  reset(): void {
    this.counts.clear();
    this.cases = 0;
  }
  report(): string {
    const total = Math.max(1, this.cases);
    return [...this.counts]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k} ${v} (${((100 * v) / total).toFixed(1)}%)`)
      .join(', ');
  }
}

/** A property failure with a message that says what disagreed. */
export class OracleError extends Error {
  override readonly name = 'OracleError';
}

export function fail(message: string): never {
  throw new OracleError(message);
}

/**
 * The only way a parser of untrusted input may fail: a StepgateError with a 4xx status (the request
 * is refused, never forwarded). Anything else is rethrown as a property failure.
 */
export function refusal(err: unknown, where: string): StepgateError {
  if (err instanceof StepgateError && err.status >= 400 && err.status < 500) return err;
  if (err instanceof OracleError) throw err;
  const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  throw new OracleError(`${where} threw something other than a 4xx StepgateError: ${what}`);
}

/** Run `f`; a 4xx StepgateError becomes `{ refused }`, anything else thrown fails the property. */
export function attempt<T>(where: string, f: () => T): { ok: T } | { refused: StepgateError } {
  try {
    return { ok: f() };
  } catch (err) {
    return { refused: refusal(err, where) };
  }
}

export async function attemptAsync<T>(where: string, f: () => Promise<T>): Promise<{ ok: T } | { refused: StepgateError }> {
  try {
    return { ok: await f() };
  } catch (err) {
    return { refused: refusal(err, where) };
  }
}

/** An HTTP token (RFC 9110), as Stepgate's method checks use it. */
export const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** JSON.stringify that shows control characters, for messages. */
export const show = (v: unknown): string => JSON.stringify(v);
