/**
 * @module StepgateContext: what the request path decided about one request (`c.var.stepgate`), for
 * the handlers after it; and the few small types and helpers the steps share.
 */
import type { MiddlewareHandler } from 'hono';
import type { AuditInput } from '../audit/events';
import type { IdentityConfig } from '../identity/identity-config';
import type { Identity } from '../identity/identity-source';
import type { CanonicalRequest } from '../policy/canonical-request';
import type { RuleMatch } from '../policy/compile-policy';

export interface StepgateContext {
  canonical: CanonicalRequest;
  /** The matched rule, or null when the request passes through unprotected. */
  match: RuleMatch | null;
  /** Set only for protected requests that passed their step-up. */
  identity: Identity | null;
  /** The body, when Stepgate had to read it; forward these exact bytes. */
  body: Uint8Array<ArrayBuffer> | null;
  /** The request to forward: the incoming one, or the held original carried out after approval. */
  request: Request;
  /** The signed Stepgate-Assertion for a request that passed its step-up. */
  assertion?: string;
  /** Where identities come from: `Cf-Access-*` headers reach the origin only from Cloudflare Access. */
  identitySource: IdentityConfig['source'];
}

/** What the request path uses of the Hono context, whatever the app's bindings. (`next()` is what follows: the gateway's forward().) */
export interface StepgateHonoContext {
  req: { raw: Request };
  /** The response `next()` produced. */
  readonly res: Response;
  readonly executionCtx: unknown;
  set(key: 'stepgate', value: StepgateContext): void;
}

/** What a step of the request path ends with: a Response, or nothing once the request went on (`next()`), as a Hono middleware. */
export type RequestPathResult = ReturnType<MiddlewareHandler>;

/** Where a protected request was decided, as its audit events name it. */
export type RequestWhere = Required<Pick<AuditInput, 'app' | 'request' | 'rule'>>;

/** A signed-in person's refusal that forwards nothing (`request.denied`, for recordRefusal). */
export const deniedEvent = (actor: string, where: RequestWhere, reason: string): AuditInput => ({
  type: 'request.denied',
  outcome: 'denied',
  actor,
  via: 'session',
  ...where,
  reason,
});

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

/**
 * Library mode: the app's own handlers run after `next()`. When Stepgate has read the body, the
 * request's stream is spent, so they get a request carrying exactly the bytes that were read
 * (`c.req.json()` and the like keep working). The gateway's forward() reads `ctx` and is unaffected.
 */
export function handOver(req: { raw: Request }, ctx: StepgateContext): void {
  if (ctx.body !== null && ctx.request === req.raw && req.raw.bodyUsed) req.raw = new Request(req.raw, { body: ctx.body });
}
