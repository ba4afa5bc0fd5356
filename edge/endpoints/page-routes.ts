/**
 * @module Stepgate's HTML pages for everyone: a challenge's step-up page and the enrolment page (the
 * admin console is console-routes.ts).
 */
import type { Hono } from 'hono';
import { ErrorCode } from '../../shared/errors';
import { returnPathOfUrl } from '../../shared/return-path';
import type { Runtime } from '../deployment/runtime';
import { htmlResponse, isNavigation, signInRedirect } from '../http/responses';
import { StepgateError } from '../http/stepgate-error';
import { enrolPage } from '../pages/enrol-page';
import { navigationRefusalPage } from '../pages/navigation-page';
import { stepUpPage } from '../pages/step-up-page';
import { loadChallenge } from './endpoint-helpers';
import { enrolPageView } from './enrol-page-state';
import { pageNotices } from './recovery-notices';

/** What a person reads when the step-up page's challenge is gone (the problem's detail is for programs). */
const ENDED = 'This confirmation has ended: it was already used, it expired, or it belongs to another sign-in.';

/**
 * Where "Back" goes from a refused step-up page: the same-site page the person came from, but never
 * another step-up page or its "continue" (those have ended too); null: the site's start page.
 */
function wayBack(req: Request): string | null {
  const back = returnPathOfUrl(req.headers.get('referer'), new URL(req.url).origin);
  return back?.startsWith('/.stepgate/challenge/') ? null : back;
}

/**
 * The step-up page, or why it cannot be shown. A navigation never ends on JSON: signed out, 303 to
 * the app's login (as the request path does); any other refusal (the challenge ended: Back after
 * carrying it out, a reload, an old link) a page in words with the same status and a way back.
 * A program (fetch) keeps the problem+json refusal.
 */
async function stepUpPageAnswer(rt: Runtime, req: Request, id: string): Promise<Response> {
  try {
    const ch = await loadChallenge(rt, req, id);
    return htmlResponse(await stepUpPage({ ...ch, challengeId: ch.id, notices: await pageNotices(rt, req) }));
  } catch (err) {
    if (!(err instanceof StepgateError) || !isNavigation(req)) throw err;
    const back = wayBack(req);
    // IdentityRequired: no session, or an invalid one (signInMayHelp); a sign-in starts a new session,
    // in which this challenge does not exist, so the way back is the page they came from, not this one.
    if (err.code === ErrorCode.IdentityRequired && rt.loginUrl) return signInRedirect(rt.loginUrl, back);
    const detail = err.code === ErrorCode.ChallengeNotFound ? ENDED : err.message;
    return htmlResponse(await navigationRefusalPage({ code: err.code, status: err.status, detail, back }), err.status, err.headers);
  }
}

export function registerPageRoutes(app: Hono, rt: Runtime): void {
  app.get('/.stepgate/challenge/:id', (c) => stepUpPageAnswer(rt, c.req.raw, c.req.param('id')));
  app.get('/.stepgate/enrol', async (c) => htmlResponse(await enrolPage(await enrolPageView(rt, c.req.raw))));
}
