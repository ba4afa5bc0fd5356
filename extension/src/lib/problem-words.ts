/**
 * @module What a refusal means, in words a person reads in the extension: one sentence per code
 * (the site's ERR_… and the extension's own EXT_…), with what to do next. The site's `detail` is
 * written for developers (it may name endpoints and methods), so it is never shown; the code stays
 * on the Failure for programs and logs. Like edge/browser/enrol-words.ts for the enrol page.
 */
import { ErrorCode } from '../../../shared/errors';
import { ExtensionCode } from './extension-codes';
import { timeText } from './time-text';

/** What else the refusal said, for the sentence: the site's host, when to try again. */
export interface ProblemContext {
  host?: string;
  retryAt?: string | null;
  /** A wrong code's `attempts_left`. */
  attemptsLeft?: number;
}

/** An unknown code: say that it did not work and what to do, never the code. */
export const GENERIC_PROBLEM = 'That did not work. Try again in a moment; if it keeps happening, ask the site’s administrator.';

/** " (2 tries left)", or nothing when the site did not say. */
const triesLeft = (n: number | undefined): string => (n === undefined ? '' : ` (${n} ${n === 1 ? 'try' : 'tries'} left)`);

const WORDS: Record<string, (c: ProblemContext) => string> = {
  [ExtensionCode.Unreachable]: (c) =>
    `${c.host ?? 'The site'} could not be reached or did not answer. Check your connection and try again in a moment.`,
  [ExtensionCode.NotStepgate]: (c) => `${c.host ?? 'The site'} did not answer as a Stepgate site does. Check the address and try again.`,
  [ExtensionCode.CeremonyFailed]: () => 'The passkey prompt was closed or did not finish. Try again, or use a code.',
  [ExtensionCode.PermissionRefused]: (c) =>
    `Stepgate does not have your permission to talk to ${c.host ?? 'this site'}. Pair it again and choose Allow.`,
  [ErrorCode.IdentityRequired]: (c) => `You are not signed in to ${c.host ?? 'this site'}. Sign in there, then try again.`,
  [ErrorCode.IdentityUnavailable]: () => 'The site could not tell who you are just now. Try again in a moment.',
  [ErrorCode.FactorInvalid]: (c) => `That code is not right. Check it and try again${triesLeft(c.attemptsLeft)}.`,
  [ErrorCode.FactorReplayed]: () => 'That code was already used. Wait for the next code and try again.',
  [ErrorCode.LockedOut]: () => 'Too many failed attempts, so this is paused for a while.',
  [ErrorCode.NoFactor]: () => 'You have not set up that way to confirm it is you on this site. Use one you have set up, or add it first.',
  [ErrorCode.ChallengeNotFound]: () => 'This request was already answered, has expired, or was withdrawn.',
  [ErrorCode.ChallengeUsed]: () => 'This request was already answered elsewhere.',
  [ErrorCode.StepUpDenied]: () => 'This request was denied, so it will not be carried out.',
  [ErrorCode.FreshStepUpRequired]: () => 'Confirm it is you first, with a factor you already have.',
  [ErrorCode.TooManyPrompts]: () => 'Too many requests in a short time: the site is pausing them. Wait a minute and try again.',
  [ErrorCode.TooManyChallenges]: () => 'Too many confirmations were started in a short time. Wait a minute and try again.',
  [ErrorCode.Conflict]: () => 'That changed meanwhile. Reload and try again.',
  [ErrorCode.NotFound]: () => 'That is no longer there. Reload and try again.',
  [ErrorCode.Forbidden]: () => 'You are not allowed to do that on this site.',
  [ErrorCode.BadRequest]: () => 'The site could not use what was sent. Check what you typed and try again.',
  [ErrorCode.Unavailable]: () => 'The site is not available just now. Try again in a moment.',
  [ErrorCode.OriginUnreachable]: () => 'The app behind this site could not be reached. Try again in a moment.',
  [ErrorCode.Misconfigured]: () => 'The site is not set up correctly. Ask its administrator.',
};

/** The sentence for `code`, with when to try again if the site said so (in the person's time, UTC beside it). */
export function problemWords(code: string, c: ProblemContext = {}): string {
  const said = (WORDS[code] ?? (() => GENERIC_PROBLEM))(c);
  return c.retryAt ? `${said} You can try again at ${timeText(c.retryAt)}.` : said;
}
