/**
 * @module The page a person's browser gets where a program gets a problem+json refusal: what happened
 * and what to do next, in words (no codes), with a link back to the page they came from on this site.
 */
import { html } from 'hono/html';
import { ErrorCode } from '../../shared/errors';
import { layout } from './layout';

/** A refusal, as the request path answered it to a program. */
export interface RefusalForPerson {
  code: string | null;
  status: number;
  /** The problem's `detail`: already written for people. */
  detail: string | null;
  /** A path on this site to go back to, already checked (returnPath); null: the site's start page. */
  back: string | null;
}

/**
 * Title per refusal, and the next step where the refusal's own words do not already say it. `say`
 * replaces the refusal's own detail where that is written for programs (byte limits, encodings).
 */
const WORDS: Partial<Record<string, { title: string; next?: string; say?: string }>> = {
  [ErrorCode.ChallengeNotFound]: {
    title: 'This action is no longer waiting',
    next: 'Nothing more was done. If it still needs doing, start it again from the page where you began.',
  },
  [ErrorCode.StepUpRequired]: {
    title: 'This action was not approved',
    next: 'Nothing was done. Start it from the page where you began, and approve it when you are asked.',
  },
  [ErrorCode.Forbidden]: {
    title: 'This came from another site',
    next: 'Nothing was done. Start the action again from this site’s own pages.',
  },
  [ErrorCode.IdentityRequired]: { title: 'Sign in first', next: 'Nothing was done.' },
  [ErrorCode.AmbiguousIdentity]: { title: 'Your session could not be read' },
  [ErrorCode.IdentityUnavailable]: { title: 'Please try again shortly' },
  [ErrorCode.StepUpDenied]: { title: 'This action was denied', next: 'Nothing was done. If you did not deny it, start it again.' },
  [ErrorCode.TooManyPrompts]: {
    title: 'Too many approval requests just now',
    next: 'Nothing was done. Wait a minute, then start the action again.',
  },
  [ErrorCode.TooManyApprovals]: {
    title: 'Too many actions are waiting for approval',
    next: 'Nothing was done. Wait until some are decided, or cancel ones you no longer need, then try again.',
  },
  [ErrorCode.ApprovalClosed]: { title: 'This approval has ended', next: 'Nothing more was done.' },
  [ErrorCode.BodyTooLarge]: {
    title: 'This is too large to check',
    say: 'What you sent is larger than Stepgate can check before it is approved, so it was not sent.',
    next: 'Send less at once; if that is not possible, tell an administrator of the application.',
  },
  [ErrorCode.UnsupportedMediaType]: {
    title: 'This could not be checked',
    say: 'Your browser sent this in a form Stepgate cannot read before it is approved, so it was not sent.',
    next: 'Try again from the application’s own page; if it keeps happening, tell an administrator.',
  },
  [ErrorCode.AmbiguousRequest]: {
    title: 'This address could not be read one way',
    say: 'The address can be read in more than one way, so Stepgate did not send it.',
    next: 'Go back and use the application’s own links.',
  },
  [ErrorCode.Unavailable]: { title: 'Please try again shortly', next: 'Nothing was done.' },
  [ErrorCode.Misconfigured]: {
    title: 'This site is not set up correctly',
    say: 'Stepgate in front of this site is not configured correctly, so nothing is sent.',
    next: 'Tell an administrator of the application.',
  },
  [ErrorCode.OriginUnreachable]: {
    title: 'The application did not answer',
    next: 'If it keeps happening, tell an administrator of the application.',
  },
};

/** When the refusal has no words of its own above. */
const FALLBACK: { title: string; next?: string; say?: string } = {
  title: 'Nothing was done',
  next: 'Go back and try again; if it keeps happening, ask an administrator.',
};

/** The page for a refused navigation. */
export const navigationRefusalPage = (r: RefusalForPerson) => {
  const words = (r.code === null ? undefined : WORDS[r.code]) ?? FALLBACK;
  return layout(
    words.title,
    html`<h1>${words.title}</h1>
${(words.say ?? r.detail) ? html`<p>${words.say ?? r.detail}</p>` : ''}
${words.next ? html`<p>${words.next}</p>` : ''}
<p><a href="${r.back ?? '/'}">${r.back ? 'Back to the page you came from' : 'Go to the start page of this site'}</a></p>`,
  );
};
