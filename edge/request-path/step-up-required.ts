/** @module The "step-up required" answer: WWW-Authenticate (incl. RFC 9470), problem+json, or the page. */
import { ErrorCode } from '../../shared/errors';
import { htmlResponse, isNavigation, problem } from '../http/responses';
import { stepUpPage } from '../pages/step-up-page';
import { challengeUrl } from '../policy/canonical-request';
import type { Challenge } from '../user-state/challenge';

const quote = (s: string): string => `"${s.replace(/["\\]/g, '\\$&')}"`;

/**
 * Build the 401 for a new challenge, shaped for the client that asked; `holdsRequest` when it holds
 * the navigation's request; `returnTo`, the page the person came from (wayBackOf), for the page's way back.
 */
export async function stepUpRequired(
  req: Request,
  ch: Challenge,
  origin: string,
  holdsRequest: boolean,
  returnTo: string | null = null,
): Promise<Response> {
  const url = challengeUrl(origin, ch.id);
  const headers = new Headers();
  headers.append(
    'www-authenticate',
    `StepUp realm="stepgate", challenge=${quote(ch.id)}, factors=${quote(ch.factors.join(' '))}, ` +
      `max_age=${ch.maxAgeSeconds}, bind=${ch.bind}, challenge_url=${quote(url)}`,
  );
  // RFC 9470: a client that sent a Bearer token learns in its own terms that the token's authentication is insufficient.
  if (/^bearer\s/i.test(req.headers.get('authorization') ?? '')) {
    headers.append(
      'www-authenticate',
      `Bearer error="insufficient_user_authentication", error_description="A step-up authentication is required", ` +
        `acr_values=${quote(ch.factors.map((f) => `stepgate:${f}`).join(' '))}, max_age=${ch.maxAgeSeconds}`,
    );
  }
  headers.set('stepgate-challenge', ch.id);
  if (isNavigation(req)) return htmlResponse(await stepUpPage({ ...ch, challengeId: ch.id, held: holdsRequest, returnTo }), 401, headers);
  return problem(
    ErrorCode.StepUpRequired,
    401,
    ch.bind === 'action'
      ? 'This exact request needs to be approved with a second factor before it is forwarded.'
      : `This request needs a step-up authentication (rule "${ch.rule}").`,
    {
      challenge_id: ch.id,
      challenge_url: url,
      rule: ch.rule,
      bind: ch.bind,
      factors: ch.factors,
      max_age: ch.maxAgeSeconds,
      expires_at: new Date(ch.expiresAt).toISOString(),
      action: ch.action,
      matched_method: ch.matchedMethod,
      body: ch.bodySummary ?? null,
      // If the person approves in the Stepgate extension of another browser, they type this number there.
      number: ch.number,
    },
    headers,
  );
}
