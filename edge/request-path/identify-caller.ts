/**
 * @module identifyCaller(): who is asking, for a request a rule matched; or the answer that
 * forwards nothing (the identity refusal: 401, or 400 for an ambiguous identity; a 302 to the login
 * for a browser navigating).
 */
import { errorResponse, isNavigation } from '../http/responses';
import { identityRefusal, signInMayHelp } from '../identity/identity-refusal';
import type { Identity, IdentityFailure } from '../identity/identity-source';
import { type CanonicalRequest, canonicalPathAndQuery } from '../policy/canonical-request';
import { anonymousDeniedEvent } from './denial-events';
import type { ProtectedRequest } from './protected-request';

/** The caller of a protected request, or the answer to send instead (recorded as `request.denied`). */
export async function identifyCaller({ rt, ctx, where, ec }: ProtectedRequest): Promise<Identity | Response> {
  const req = ctx.request;
  const who = await rt.identify(req);
  if (who.ok) return who.identity;
  // Forwards nothing, so it is written after the answer.
  rt.audit.later(ec, anonymousDeniedEvent(where, `identity-${who.reason}`));
  return loginRedirect(req, ctx.canonical, rt.loginUrl, who.reason) ?? errorResponse(identityRefusal(who.reason));
}

/** A browser navigating (GET or HEAD) without a usable session is sent to the app's login, when one is configured; else null. */
function loginRedirect(req: Request, canonical: CanonicalRequest, loginUrl: string | undefined, reason: IdentityFailure): Response | null {
  if (!signInMayHelp(reason) || !loginUrl || !isNavigation(req) || (canonical.method !== 'GET' && canonical.method !== 'HEAD')) return null;
  const sep = loginUrl.includes('?') ? '&' : '?';
  return new Response(null, {
    status: 302,
    headers: {
      location: `${loginUrl}${sep}return_to=${encodeURIComponent(canonicalPathAndQuery(canonical))}`,
      'cache-control': 'no-store',
    },
  });
}
