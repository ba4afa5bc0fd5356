/**
 * @module continueHeld(): after approval the challenge page posts to
 * `/.stepgate/challenge/:id/continue` (with `?return=`, the page the person came from); the held
 * original request is taken (once) and goes through the same decision in place of this one, which
 * now finds the grant or approval. The browser ends where the app's answer sends it; a refusal is a
 * page with the way back (navigation.ts), a signed-out person goes to the login.
 */
import type { Next } from 'hono';
import { ErrorCode } from '../../shared/errors';
import type { Runtime } from '../deployment/runtime';
import { isSameOrigin } from '../http/csrf';
import { errorResponse, problem } from '../http/responses';
import { canonicalizeRequest, canonicalOrigin, type CanonicalizeOptions, type CanonicalRequest } from '../policy/canonical-request';
import { isChallengeId } from '../user-state/challenge';
import { decideRequest } from './decide-request';
import { type HeldRequest, openHeld } from './held-request';
import type { RequestPathResult, StepgateHonoContext } from './hono-context';
import { returnParamOf, signInAnswer } from './navigation';

/** The challenge id of `POST /.stepgate/challenge/:id/continue`, else null. */
export function heldChallengeOf(c: CanonicalRequest): string | null {
  const s = c.matchSegments;
  if (c.method !== 'POST' || s.length !== 4 || s[0] !== '.stepgate' || s[1] !== 'challenge' || s[3] !== 'continue') return null;
  const id = c.path.split('/')[3]!;
  return isChallengeId(id) ? id : null;
}

/** Take the held request of `challenge` (same origin, same session, approved, once) and decide it as if it had just arrived. */
export async function continueHeld(
  c: StepgateHonoContext,
  next: Next,
  rt: Runtime,
  canonical: CanonicalRequest,
  challenge: string,
  canonicalizeOptions: CanonicalizeOptions,
): RequestPathResult {
  let held: HeldRequest;
  let heldCanonical: CanonicalRequest;
  try {
    const taken = await takeHeld(rt, c.req.raw, canonical, challenge);
    if (taken instanceof Response) return taken;
    held = taken;
    heldCanonical = canonicalizeRequest(held.request.method, held.request.url, held.request.headers, canonicalizeOptions);
  } catch (err) {
    return errorResponse(err);
  }
  return decideRequest(c, next, rt, heldCanonical, held);
}

/** The held request of this person's session for `challenge`, opened; or the answer when there is none to take. */
async function takeHeld(rt: Runtime, req: Request, canonical: CanonicalRequest, challenge: string): Promise<HeldRequest | Response> {
  // Why: a cross-site form could otherwise make a signed-in person carry out their held action.
  if (!isSameOrigin(req, canonicalOrigin(canonical))) {
    return problem(ErrorCode.Forbidden, 403, 'This request must come from the Stepgate page on this site.');
  }
  const who = await rt.identify(req);
  if (!who.ok) return signInAnswer(req, rt.loginUrl, who.reason, returnParamOf(canonical));
  const sealed = await rt.userState(who.identity.sub).takeHeldRequest(challenge, who.identity.sid);
  if (!sealed)
    return problem(
      ErrorCode.ChallengeNotFound,
      404,
      'Nothing is waiting for this approval: it was carried out already, expired, or was never approved.',
    );
  return openHeld(rt.keys, challenge, sealed, req.headers);
}
