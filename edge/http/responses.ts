/** @module Responses Stepgate writes itself: security headers, problem+json, and the catch-all for errors. */
import { ErrorCode, problemType } from '../../shared/errors';
import { StepgateError } from './stepgate-error';

/** Content-Security-Policy for every Stepgate page: our own scripts and styles only, never framed. */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Headers every response Stepgate itself produces carries (pages and API alike). */
export function secure(headers: Headers): Headers {
  headers.set('content-security-policy', CSP);
  headers.set('strict-transport-security', 'max-age=63072000; includeSubDomains');
  headers.set('x-content-type-options', 'nosniff');
  headers.set('x-frame-options', 'DENY');
  // same-origin: the Origin header still reaches Stepgate on its own form posts (CSRF checks), never other sites.
  headers.set('referrer-policy', 'same-origin');
  headers.set('cross-origin-opener-policy', 'same-origin');
  headers.set('cross-origin-resource-policy', 'same-origin');
  if (!headers.has('cache-control')) headers.set('cache-control', 'no-store');
  return headers;
}

/** An RFC 9457 problem+json response. `extra` members are added to the body. */
export function problem(
  code: ErrorCode,
  status: number,
  detail: string,
  extra: Record<string, unknown> = {},
  headers: HeadersInit = {},
): Response {
  const h = secure(new Headers(headers));
  h.set('content-type', 'application/problem+json; charset=utf-8');
  const body = { type: problemType(code), title: TITLES[status] ?? 'Error', status, code, detail, ...extra };
  return new Response(JSON.stringify(body), { status, headers: h });
}

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  413: 'Content too large',
  415: 'Unsupported media type',
  429: 'Too many requests',
  421: 'Misdirected request',
  502: 'Bad gateway',
  503: 'Service unavailable',
  504: 'Gateway timeout',
};

/** JSON with Stepgate's headers. */
export function json(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  const h = secure(new Headers(headers));
  h.set('content-type', 'application/json; charset=utf-8');
  return new Response(JSON.stringify(body), { status, headers: h });
}

/** HTML with Stepgate's headers. */
export function htmlResponse(body: string, status = 200, headers: HeadersInit = {}): Response {
  const h = secure(new Headers(headers));
  h.set('content-type', 'text/html; charset=utf-8');
  return new Response(body, { status, headers: h });
}

/**
 * Turn any error into a response that fails closed: a StepgateError becomes its 4xx/5xx problem;
 * anything else is logged (without request data) and becomes an opaque 503, never a stack trace.
 */
export function errorResponse(err: unknown): Response {
  if (err instanceof StepgateError) return problem(err.code, err.status, err.message, {}, err.headers);
  console.error('stepgate: internal error', err instanceof Error ? `${err.name}: ${err.message}` : 'non-error thrown');
  return problem(ErrorCode.Unavailable, 503, 'Stepgate could not decide on this request, so it was not forwarded.');
}

/** 503 while Stepgate's configuration is broken: fail closed, forward nothing (the reason is logged, not shown). */
export const misconfigured = (): Response =>
  problem(ErrorCode.Misconfigured, 503, 'Stepgate is not configured correctly; nothing is forwarded until it is.');

/**
 * Whether the client is a browser navigating (wants a page), not a script (wants JSON). Fetch
 * metadata decides when sent: `Sec-Fetch-Mode: navigate`, or (without a mode) `Sec-Fetch-Dest: document`.
 * Without either, only a link (GET, HEAD) asking for HTML counts: browsers without fetch metadata
 * (Safari before 16.4) still reach the login, and a program misread this way only reads a page. A
 * form (any other method) never counts on `Accept` alone: Java's HttpURLConnection sends
 * `text/html, …` by default, and a client that follows a 303 after its write was refused would read success.
 */
export function isNavigation(req: Request): boolean {
  const mode = req.headers.get('sec-fetch-mode');
  if (mode !== null) return mode === 'navigate';
  const dest = req.headers.get('sec-fetch-dest');
  if (dest !== null) return dest === 'document';
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  return (req.headers.get('accept') ?? '').includes('text/html');
}

/** 303 to the app's `loginUrl`, with `return_to` the way back on this site when known (already checked by returnPath). */
export function signInRedirect(loginUrl: string, back: string | null): Response {
  const location = back === null ? loginUrl : `${loginUrl}${loginUrl.includes('?') ? '&' : '?'}return_to=${encodeURIComponent(back)}`;
  return new Response(null, { status: 303, headers: { location, 'cache-control': 'no-store' } });
}
