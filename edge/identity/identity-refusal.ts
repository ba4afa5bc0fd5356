/**
 * @module identityRefusal: the one answer to a request whose caller cannot be identified — 400 when
 * its session reads two ways, 401 (with `WWW-Authenticate`) when it has none or an invalid one, 503
 * when the app's "who am I" endpoint cannot say (introspect) — used alike by the request path and
 * Stepgate's own endpoints.
 */
import { ErrorCode } from '../../shared/errors';
import { StepgateError } from '../http/stepgate-error';
import type { IdentityFailure } from './identity-source';

/** Why a cookie-and-bearer request is ambiguous, as the refusal says it. */
export const SESSIONS_DISAGREE = 'a session cookie and an Authorization header that do not agree';

/**
 * Whether signing in (again) could cure the failure, so a navigating browser may be sent to the
 * app's login: not for a session that reads two ways, nor when the app could not be asked.
 */
export const signInMayHelp = (reason: IdentityFailure): boolean => reason === 'missing' || reason === 'invalid';

/** The refusal for an identity failure, to throw or to turn into a response (`errorResponse`). */
export function identityRefusal(reason: IdentityFailure, why: string = SESSIONS_DISAGREE): StepgateError {
  // Why: Stepgate could not learn who is asking. That is not "nobody" (a sign-in would not help),
  // and it is never a reason to let the request through: fail closed, and say it is temporary.
  if (reason === 'unavailable')
    return new StepgateError(
      ErrorCode.IdentityUnavailable,
      503,
      'Stepgate could not check your session with the application just now, so nothing was done. Try again shortly.',
      { headers: { 'retry-after': '5' } },
    );
  if (reason === 'ambiguous')
    return new StepgateError(
      ErrorCode.AmbiguousIdentity,
      400,
      `This request names its session in two ways (${why}); nothing was done. Clear this site's cookies and sign in again.`,
    );
  return new StepgateError(
    ErrorCode.IdentityRequired,
    401,
    reason === 'missing'
      ? 'Sign in to the application first: this action needs to know who you are.'
      : 'Your session is not valid; sign in again.',
    { headers: { 'www-authenticate': 'StepUp realm="stepgate", error="identity_required"' } },
  );
}
