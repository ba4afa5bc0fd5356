/**
 * @module Navigations (a browser following a link or sending a form, `isNavigation`): they end on a
 * page or where the app sends the person, never on raw JSON. Without a usable session: 303 to the
 * app's `loginUrl` with the way back in `return_to`. A refusal the request path answers a program
 * with problem+json becomes, for a navigation, a page in words with a link back (navigation-page.ts).
 * Programs (fetch, XHR, API clients) keep their problem+json answers unchanged.
 */
import { returnPath, returnPathOfUrl } from '../../shared/return-path';
import { errorResponse, htmlResponse, isNavigation, signInRedirect } from '../http/responses';
import { identityRefusal, signInMayHelp } from '../identity/identity-refusal';
import type { IdentityFailure } from '../identity/identity-source';
import { navigationRefusalPage } from '../pages/navigation-page';
import { type CanonicalRequest, canonicalOrigin, canonicalPathAndQuery } from '../policy/canonical-request';
import type { RequestPathResult } from './hono-context';

/**
 * Where a person goes back to after signing in or after a refusal: the page itself for a link
 * (GET, HEAD), else the same-site page the form was sent from (its `Referer`); null when unknown.
 */
export function wayBackOf(req: Request, canonical: CanonicalRequest): string | null {
  if (canonical.method === 'GET' || canonical.method === 'HEAD') return returnPath(canonicalPathAndQuery(canonical));
  return returnPathOfUrl(req.headers.get('referer'), canonicalOrigin(canonical));
}

/** The `?return=` way back a Stepgate form carries (the step-up page's continue form), when it is a path on this site. */
export const returnParamOf = (canonical: CanonicalRequest): string | null => returnPath(new URLSearchParams(canonical.query).get('return'));

/**
 * The answer to a caller without a usable identity: for a browser navigating, when signing in can
 * help and the app has a `loginUrl`, 303 there (`return_to`: the way back, when known); else the
 * identity refusal (401, 400 or 503; a page for a navigation, by `forNavigation`).
 */
export function signInAnswer(req: Request, loginUrl: string | undefined, reason: IdentityFailure, back: string | null): Response {
  if (!loginUrl || !signInMayHelp(reason) || !isNavigation(req)) return errorResponse(identityRefusal(reason));
  return signInRedirect(loginUrl, back);
}

/**
 * The request path's answer, shaped for the client: for a browser navigating, a problem+json refusal
 * becomes a page in words with the same status and headers (Retry-After, WWW-Authenticate) and a
 * link to `back()`; anything else — a page, a redirect, the request gone on to the app — is left as
 * it is. A program's answer is returned untouched (the same promise, nothing awaited).
 */
export function forNavigation(req: Request, answer: RequestPathResult, back: () => string | null): RequestPathResult {
  return isNavigation(req) ? asPage(answer, back) : answer;
}

async function asPage(answer: RequestPathResult, back: () => string | null): RequestPathResult {
  const res = await answer;
  if (!(res instanceof Response) || !(res.headers.get('content-type') ?? '').startsWith('application/problem+json')) return res;
  let problem: { code?: unknown; detail?: unknown } = {};
  try {
    problem = (await res.json()) as typeof problem;
  } catch {
    // Every problem Stepgate writes is JSON; a page without its words is still better than none.
  }
  const headers = new Headers(res.headers);
  headers.delete('content-type');
  headers.delete('content-length');
  const page = await navigationRefusalPage({
    code: typeof problem.code === 'string' ? problem.code : null,
    status: res.status,
    detail: typeof problem.detail === 'string' ? problem.detail : null,
    back: back(),
  });
  return htmlResponse(page, res.status, headers);
}
