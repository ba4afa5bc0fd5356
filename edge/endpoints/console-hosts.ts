/**
 * @module Console hosts (CONSOLE_HOSTS): when the deployment names them, the admin console, the admin
 * API and the token endpoints answer only there, and 404 on every app's host, so that script on an
 * app's host (its developers', or an XSS) shares no origin with them. A person's own endpoints
 * (step-up, enrolment, factors, /.stepgate/api/me/*) stay on every host.
 */
import type { MiddlewareHandler } from 'hono';
import { ErrorCode } from '../../shared/errors';
import { problem } from '../http/responses';

/** The answer to a path Stepgate does not serve here: the same for an unknown path and a console path off a console host. */
export const noSuchEndpoint = (): Response => problem(ErrorCode.NotFound, 404, 'No such Stepgate endpoint.');

/** The path prefixes (as lower-case segments) served only on a console host. */
const CONSOLE_ONLY: readonly (readonly string[])[] = [
  ['.stepgate', 'admin'],
  ['.stepgate', 'api', 'admin'],
  ['.stepgate', 'api', 'tokens'],
];

/**
 * Whether a path is the console's, the admin API's or the token endpoints'. Case-insensitive and by
 * segment, on the path the router matches (already percent-decoded), so no spelling of a console
 * route slips past as someone else's: it fails closed (a spelling no route answers is 404 anyway).
 */
export function isConsolePath(path: string): boolean {
  const segments = path.toLowerCase().split('/').filter(Boolean);
  return CONSOLE_ONLY.some((prefix) => prefix.every((s, i) => segments[i] === s));
}

/**
 * The middleware: on a host not in `hosts`, a console path is answered 404 as an unknown path is
 * (nothing tells an app's script that the console exists). An empty list serves it on every host
 * (CONSOLE_HOSTS unset: as before). Entries are compared exactly: no wildcards, no ports.
 */
export function consoleHostsOnly(hosts: readonly string[]): MiddlewareHandler {
  const allowed = new Set(hosts);
  return async (c, next) => {
    // The URL is the canonical one (middleware.ts): its hostname is lower case, without a trailing dot or port.
    if (allowed.size > 0 && isConsolePath(c.req.path) && !allowed.has(new URL(c.req.url).hostname)) return noSuchEndpoint();
    await next();
  };
}
