/**
 * @module What the prompt and the popup say to keep number matching honest (docs/extension.md,
 * "Number matching"). Number matching proves the person looked at a screen showing the number;
 * it does not prove which screen. Someone holding a stolen session can read the number of their own
 * request and ask, in another request's text ("type 427 on the other request"), for it to be typed:
 * so the person is told where the number comes from, and warned when several requests from another
 * browser wait at once.
 */
import type { PendingPrompt } from './messages';

/** Beside the number field: the only place the number may come from. */
export const NUMBER_SOURCE =
  'The number comes only from the screen where you made the request. ' +
  'Never type a number shown in this window or sent to you by anyone (message, mail, call).';

/** Requests made in another browser that wait on `site` (all sites when not given). */
export const otherBrowserRequests = (pending: readonly PendingPrompt[], site?: string): number =>
  pending.filter((x) => x.prompt.other_session && (site === undefined || x.site === site)).length;

/** When more than one request from another browser waits at once; null otherwise. */
export function severalRequestsWarning(count: number): string | null {
  if (count < 2) return null;
  return (
    `${count} requests from another browser are waiting for your approval at once. ` +
    'If you made only one, someone else may be asking you to approve theirs: ' +
    'approve only the one whose number you see on your own screen, and deny the rest.'
  );
}
