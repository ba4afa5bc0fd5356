/**
 * @module What the request path uses of Hono's context, whatever the app's bindings: the slice it
 * reads and sets, what a step ends with, and the execution context that writes events after the answer.
 */
import type { MiddlewareHandler } from 'hono';
import type { StepgateContext } from './stepgate-context';

/** What the request path uses of the Hono context. (`next()` is what follows: the gateway's forward(), or the app's handlers.) */
export interface StepgateHonoContext {
  req: { raw: Request };
  /** The response `next()` produced. */
  readonly res: Response;
  readonly executionCtx: unknown;
  set(key: 'stepgate', value: StepgateContext): void;
}

/** What a step of the request path ends with: a Response, or nothing once the request went on (`next()`), as a Hono middleware. */
export type RequestPathResult = ReturnType<MiddlewareHandler>;

/** What `waitUntil` is called on to write an event after the answer; absent in some test harnesses. */
export type WaitUntil = { waitUntil(p: Promise<unknown>): void } | undefined;

/** The execution context, when the platform gave one (not in every test harness). */
export function executionContextOf(c: { executionCtx: unknown }): WaitUntil {
  try {
    return c.executionCtx as { waitUntil(p: Promise<unknown>): void };
  } catch {
    return undefined;
  }
}
