/**
 * @module openChallenge(): have the caller's UserState record a challenge for this request (bound to
 * the session, the rule and the action), sealing a navigation's request to carry out after approval;
 * answerable only once `challenge.issued` is on the record.
 */
import { ErrorCode } from '../../shared/errors';
import { hashRef, recordRefusal } from '../audit/audit-log';
import type { AuditInput } from '../audit/events';
import { recordChallengeRefused } from '../challenges/challenge-refused';
import type { Runtime } from '../deployment/runtime';
import { isSameOrigin } from '../http/csrf';
import { isNavigation, problem } from '../http/responses';
import { challengeRefusedAnswer } from '../pages/refusal-responses';
import { canonicalOrigin, canonicalUrl } from '../policy/canonical-request';
import { type Challenge, newChallengeId } from '../user-state/challenge';
import type { UserState } from '../user-state/user-state';
import type { ActionToApprove } from './action-to-approve';
import { summarizeBody } from './body-summary';
import { deniedEvent } from './denial-events';
import { sealHeld } from './held-request';
import type { IdentifiedRequest } from './protected-request';

export interface OpenedChallenge {
  challenge: Challenge;
  /** The challenge holds the navigation's request, sealed, to be carried out after approval (continueHeld). */
  holdsRequest: boolean;
  /** The extension prompts for it while the request waits (awaitPrompt). */
  prompted: boolean;
}

/** Open the challenge for this request, or the answer when the person's limits refuse one (429). */
export async function openChallenge(r: IdentifiedRequest, action: ActionToApprove): Promise<OpenedChallenge | Response> {
  const { rt, ctx, me, where, userState } = r;
  const rule = r.match.rule;
  const { canonical, request: req } = ctx;
  // A fetch/XHR from a browser with the extension (its marker header) is held while the person
  // answers the extension's prompt, then carried out once. Prompts are rationed per user.
  // Only the site's own pages may have a request held (the extension's rule sets the marker for
  // them); a marker on a request from elsewhere is ignored.
  const prompted = req.headers.get('stepgate-extension') === '1' && !isNavigation(req) && isSameOrigin(req, canonicalOrigin(canonical));
  if (prompted) {
    const ok = await userState.allowPrompt();
    if (!ok.ok) {
      await recordRefusal(rt.audit, deniedEvent(me.sub, where, 'prompt-rate-limit'));
      return problem(
        ErrorCode.TooManyPrompts,
        429,
        `Too many approval requests in the last minute. Try again after ${new Date(ok.retryAt).toISOString()}.`,
        { retry_at: new Date(ok.retryAt).toISOString() },
        {
          'retry-after': String(Math.max(1, Math.ceil((ok.retryAt - rt.now()) / 1000))),
        },
      );
    }
  }
  // A browser navigation is kept so it can be carried out exactly as it was, after approval:
  // sealed under its challenge's id and stored with the challenge in one step, so a hold past
  // the person's caps (or a challenge past the creation limits) is refused, leaving nothing.
  const id = newChallengeId();
  const sealed =
    isNavigation(req) && canonical.method !== 'GET' && canonical.method !== 'HEAD'
      ? await sealHeld(rt.keys, id, canonicalUrl(canonical), canonical.method, req.headers, ctx.body)
      : undefined;
  const { matchedMethod, digest } = action;
  // Stored unanswerable (`live: false`): nobody can list or answer it before it is on the record.
  const opened = await userState.openChallenge({
    live: false,
    prompt: prompted,
    sid: me.sid,
    rule: rule.id,
    bind: rule.bind,
    factors: rule.factors,
    maxAgeSeconds: rule.maxAgeSeconds,
    actionDigest: digest,
    action: action.canonical,
    matchedMethod,
    bodySummary: summarizeBody(ctx.body, req.headers.get('content-type')),
    requestedFrom: requestedFrom(req),
    ...(sealed === undefined ? {} : { id, held: sealed }),
  });
  if (!opened.ok) {
    const now = rt.now();
    await recordChallengeRefused(rt.audit, opened, { actor: me.sub, via: 'session', ...where });
    return await challengeRefusedAnswer(req, opened, now);
  }
  const { challenge, held: holdsRequest } = opened;
  // Fail closed: a challenge becomes answerable only once it is on the record; otherwise it is taken back.
  await recordOrWithdraw(
    userState,
    challenge.id,
    {
      type: 'challenge.issued',
      outcome: 'info',
      actor: me.sub,
      via: 'session',
      ...where,
      details: {
        challenge: await hashRef(challenge.id),
        bind: rule.bind,
        factors: [...rule.factors],
        matched_method: matchedMethod,
        body_sha256: action.canonical.bodySha256,
        action_digest: digest,
        held: holdsRequest || prompted,
        prompt: prompted,
      },
    },
    rt,
  );
  return { challenge, holdsRequest, prompted };
}

/**
 * Record a challenge's issue, then make the challenge (opened unanswerable) answerable; or, if
 * either fails, withdraw it and rethrow (503). No challenge is ever answerable before its record,
 * so no approval or grant can exist for one that is withdrawn.
 */
async function recordOrWithdraw(userState: DurableObjectStub<UserState>, id: string, event: AuditInput, rt: Runtime): Promise<void> {
  try {
    await rt.audit.record(event);
    await userState.confirmChallenge(id);
  } catch (err) {
    await userState
      .withdrawChallenge(id)
      .catch((e: unknown) =>
        console.error('stepgate: could not withdraw an unrecorded challenge:', e instanceof Error ? e.message : 'non-error'),
      );
    throw err;
  }
}

/** Where a request came from, as the approval prompt shows it. */
export function requestedFrom(req: Request): { page: string | null; ip: string | null; user_agent: string | null } {
  let page = req.headers.get('origin');
  if (page === null || page === 'null') {
    try {
      page = new URL(req.headers.get('referer') ?? '').origin;
    } catch {
      page = null;
    }
  }
  const ua = req.headers.get('user-agent');
  return {
    page: page === 'null' ? null : page,
    ip: req.headers.get('cf-connecting-ip'),
    user_agent: ua === null ? null : ua.slice(0, 256),
  };
}
