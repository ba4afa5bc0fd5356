/**
 * @module continueToNext(): let a request go on to what follows Stepgate (`next()`): the gateway's
 * forward(), which sends it to the origin, or, in library mode, the app's own handlers.
 */
import type { Next } from 'hono';
import type { StepgateHonoContext } from './hono-context';
import type { StepgateContext } from './stepgate-context';

/** Publish what was decided (`c.var.stepgate`) and call `next()`. */
export function continueToNext(c: StepgateHonoContext, next: Next, ctx: StepgateContext): Promise<void> {
  c.set('stepgate', ctx);
  restoreBodyForApp(c.req, ctx);
  return next();
}

/**
 * Library mode: the app's own handlers run after `next()`. When Stepgate has read the body, the
 * request's stream is spent, so they get a request carrying exactly the bytes that were read
 * (`c.req.json()` and the like keep working). The gateway's forward() reads `ctx` and is unaffected.
 */
function restoreBodyForApp(req: { raw: Request }, ctx: StepgateContext): void {
  if (ctx.body !== null && ctx.request === req.raw && req.raw.bodyUsed) req.raw = new Request(req.raw, { body: ctx.body });
}
