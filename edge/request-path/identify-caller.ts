/**
 * @module identifyCaller(): who is asking, for a request a rule matched; or the answer that
 * forwards nothing (401, a 302 to the login, 400 for an ambiguous identity).
 */
import { ErrorCode } from '../../shared/errors';
import { isNavigation, problem } from '../http/responses';
import type { Identity, IdentityFailure } from '../identity/identity-source';
import type { CanonicalRequest } from '../policy/canonical-request';
import type { Runtime } from '../deployment/runtime';
import type { RequestWhere, WaitUntil } from './stepgate-context';

/** Why `identify` can find a request ambiguous after `ambiguity()` let it through. */
export const SESSIONS_DISAGREE = 'a session cookie and an Authorization header that do not agree';

/** The caller of a protected request, or the answer to send instead (recorded as `request.denied`). */
export async function identifyCaller(
  rt: Runtime,
  req: Request,
  canonical: CanonicalRequest,
  where: RequestWhere,
  ec: WaitUntil,
): Promise<Identity | Response> {
  const who = await rt.identify(req);
  if (who.ok) return who.identity;
  // Forwards nothing, so it is written after the answer; the sequencer folds such denials per
  // client, so a flood of them is counted, not stored one by one (docs/audit.md).
  rt.audit.later(ec, {
    type: 'request.denied',
    outcome: 'denied',
    actor: null,
    via: 'anonymous',
    ...where,
    reason: `identity-${who.reason}`,
  });
  return identityRequired(req, canonical, rt.loginUrl, who.reason);
}

/** 400: the request's identity can be read two ways; nothing is decided or forwarded. */
export function ambiguousIdentity(why: string): Response {
  return problem(
    ErrorCode.AmbiguousIdentity,
    400,
    `This request names its session in two ways (${why}); it was not forwarded. Clear this site's cookies and sign in again.`,
  );
}

function identityRequired(req: Request, canonical: CanonicalRequest, loginUrl: string | undefined, reason: IdentityFailure): Response {
  if (reason === 'ambiguous') return ambiguousIdentity(SESSIONS_DISAGREE);
  if (loginUrl && isNavigation(req) && (canonical.method === 'GET' || canonical.method === 'HEAD')) {
    const returnTo = canonical.path + (canonical.query ? `?${canonical.query}` : '');
    const sep = loginUrl.includes('?') ? '&' : '?';
    return new Response(null, {
      status: 302,
      headers: { location: `${loginUrl}${sep}return_to=${encodeURIComponent(returnTo)}`, 'cache-control': 'no-store' },
    });
  }
  return problem(
    ErrorCode.IdentityRequired,
    401,
    reason === 'missing'
      ? 'Sign in to the application first: this action needs to know who you are.'
      : 'Your session is not valid; sign in again.',
    {},
    { 'www-authenticate': `StepUp realm="stepgate", error="identity_required"` },
  );
}
