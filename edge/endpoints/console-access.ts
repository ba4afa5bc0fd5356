/**
 * @module Who is looking at a console page (/.stepgate/admin/*): identified by the app they came
 * through, their roles in its organisation (role store), whether they hold a fresh step-up, and
 * the pages those roles allow. A page shows data only with a fresh step-up, the same guard as the
 * admin API (made with a passkey when the person has one); without one it shows the "confirm it is
 * you" section and nothing else. Browser sessions only: a page is never rendered for an API token.
 */
import type { Actor } from '../admin/authorization';
import { getOrg } from '../admin/org-store';
import { rolesOf } from '../admin/role-store';
import type { Runtime } from '../deployment/runtime';
import { htmlResponse } from '../http/responses';
import { StepgateError } from '../http/stepgate-error';
import type { Identity } from '../identity/identity-source';
import { type ConsoleFrame, consoleMessage } from '../pages/console-layout';
import { type ConsolePage, PAGE_INFO, pagesAllowed } from '../pages/console-nav';
import { returnPathOfUrl } from '../../shared/return-path';
import { subjectOf } from './admin-access';
import { requireIdentity } from './endpoint-helpers';
import { type AdminStepUp, adminStepUp } from './fresh-step-up';

export interface ConsoleViewer {
  me: Identity;
  actor: Actor;
  orgName: string;
  /** The person as their app names them. */
  subject: string;
  /** Holds a fresh step-up good for administration: the page may show its data. */
  fresh: boolean;
  /** What "confirm it is you" must be done with: only a passkey for a person who has one. */
  confirmWith: AdminStepUp['confirmWith'];
  allowed: Set<ConsolePage>;
}

/**
 * The viewer of a console page, or the page that answers someone who cannot be identified (not
 * signed in to the app, or a session that reads two ways): a page with a way back, never data.
 */
export async function consoleViewer(rt: Runtime, req: Request): Promise<ConsoleViewer | Response> {
  let me: Identity;
  try {
    me = await requireIdentity(rt, req);
  } catch (e) {
    if (!(e instanceof StepgateError)) throw e;
    const page = await consoleMessage({
      title: 'Sign in first',
      message:
        'Stepgate could not tell who you are: you are not signed in to the app, or your session has ended. ' +
        'Sign in to the app, then open this page again.',
      back: { href: signInHref(rt.loginUrl, req), label: 'Go to the app to sign in' },
    });
    return htmlResponse(page, e.status);
  }
  const orgId = rt.app.org;
  // People are keyed by the organisation of the app they came through: nobody sees another organisation.
  const roles = await rolesOf(rt.db, rt.keys, orgId, me.sub);
  const actor: Actor = { sub: me.sub, orgId, roles };
  // Nothing to show without a role: the step-up is asked for (and judged) where there is something to protect.
  const stepUp: AdminStepUp = roles.length > 0 ? await adminStepUp(rt, req, me) : { fresh: false, confirmWith: 'any' };
  return {
    me,
    actor,
    orgName: (await getOrg(rt.db, orgId))?.name ?? orgId,
    subject: subjectOf(orgId, me.sub),
    fresh: stepUp.fresh,
    confirmWith: stepUp.confirmWith,
    allowed: pagesAllowed(actor),
  };
}

/** The frame of a page for this viewer. */
export const frameOf = (v: ConsoleViewer, page: ConsolePage): ConsoleFrame => ({
  page,
  allowed: v.allowed,
  orgId: v.actor.orgId,
  orgName: v.orgName,
  person: v.subject,
  confirmWith: v.confirmWith,
});

/** 403 for a page the viewer's roles do not allow: says so in words, and links to the overview. */
export async function pageRefused(v: ConsoleViewer, page: ConsolePage): Promise<Response> {
  const held = v.actor.roles.length === 0 ? 'You hold no role in this organisation.' : 'None of your roles lets you use it.';
  const body = await consoleMessage({
    title: `${PAGE_INFO[page].label}: not for you`,
    message: `${held} If you need it, ask an owner or admin of ${v.orgName} for a role that does.`,
    back: { href: PAGE_INFO.overview.path, label: 'Back to the console overview' },
  });
  return htmlResponse(body, 403);
}

/** 400 for a page asked for with input it cannot use: says what to do, and links back to the page. */
export async function pageBadInput(page: ConsolePage, message: string): Promise<Response> {
  const body = await consoleMessage({
    title: 'That did not work',
    message,
    back: { href: PAGE_INFO[page].path, label: `Back to ${PAGE_INFO[page].label}` },
  });
  return htmlResponse(body, 400);
}

/** The app's sign-in page, coming back to this console page after (`return_to`, as the request path sends it); else the app's start. */
function signInHref(loginUrl: string | undefined, req: Request): string {
  if (!loginUrl) return '/';
  const back = returnPathOfUrl(req.url, new URL(req.url).origin);
  return back === null ? loginUrl : `${loginUrl}${loginUrl.includes('?') ? '&' : '?'}return_to=${encodeURIComponent(back)}`;
}
