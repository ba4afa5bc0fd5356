/** Number matching's limits, said to the person: where the number comes from; a warning when several requests from another browser wait. */
import { describe, expect, it } from 'vitest';
import type { PendingPrompt } from '../../extension/src/lib/messages';
import { NUMBER_SOURCE, otherBrowserRequests, severalRequestsWarning } from '../../extension/src/lib/number-matching-words';

const pending = (site: string, other: boolean): PendingPrompt => ({ site, prompt: { other_session: other } }) as unknown as PendingPrompt;

describe('number matching words', () => {
  it('says the number comes only from the screen where the request was made, never from this window or a message', () => {
    expect(NUMBER_SOURCE).toMatch(/only from the screen where you made the request/);
    expect(NUMBER_SOURCE).toMatch(/Never type a number shown in this window or sent to you/);
  });

  it('warns when more than one request from another browser waits, per site; one (or this browser’s own) is no warning', () => {
    const list = [pending('https://a.example', true), pending('https://a.example', false), pending('https://b.example', true)];
    expect(otherBrowserRequests(list, 'https://a.example')).toBe(1);
    expect(otherBrowserRequests(list)).toBe(2);
    expect(severalRequestsWarning(1)).toBeNull();
    expect(severalRequestsWarning(2)).toMatch(
      /^2 requests from another browser are waiting for your approval at once\. .*deny the rest\.$/,
    );
  });
});
