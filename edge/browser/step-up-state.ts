/**
 * @module Browser side of the step-up page: what the page shows around its answer controls — only
 * the ways to confirm the person has (strongest first, a recovery code behind a link), a way to set
 * one up when they have none, a wait after failures in a row, and an end state (no tries left, locked
 * out, expired) that says what happened and what to do next, with the controls disabled.
 */
import { type AnswerFactor, factorsInWords, type HowToAnswer } from '../../shared/how-to-answer';
import { returnPath, returnPathOfUrl } from '../../shared/return-path';
import { $ } from './api';
import { showLocalTimes, timeNode } from './local-time';

const WAY_ELEMENT: Record<AnswerFactor, string> = { webauthn: 'passkey-way', totp: 'totp-form', recovery: 'recovery-way' };

const ways = () => $<HTMLFieldSetElement>('ways');

/** The page the person came from on this site: the edge's `returnTo`, else a same-site referrer, else the site's start page. */
export function wayBack(): string {
  const fromEdge = returnPath($('challenge').dataset.return);
  return fromEdge ?? returnPathOfUrl(document.referrer, location.origin) ?? '/';
}

/** Show these ways (in the page's order, strongest first) and hide the rest. */
export function showWays(factors: readonly AnswerFactor[]): void {
  for (const [factor, id] of Object.entries(WAY_ELEMENT) as [AnswerFactor, string][]) {
    const el = document.getElementById(id);
    if (el) el.hidden = !factors.includes(factor);
  }
}

/** Turn the answer controls off (or on again). */
export function setAnswerable(on: boolean): void {
  ways().disabled = !on;
}

/** No way this action accepts: say what to set up, and link to the enrol page with the way back. */
export function showNoFactor(s: Pick<HowToAnswer, 'allowed' | 'has_factors'>): void {
  showWays([]);
  hideNumber();
  const needed = factorsInWords(s.allowed.filter((f) => f !== 'recovery'));
  if (s.has_factors && needed) $('no-factor-why').textContent = `This action needs ${needed}, and you have not set that up yet.`;
  $<HTMLAnchorElement>('enrol-link').href = `/.stepgate/enrol?return=${encodeURIComponent(wayBack())}`;
  $('no-factor').hidden = false;
}

/** Why a confirmation can no longer be answered. */
export type EndReason = 'no-tries-left' | 'locked-out' | 'gone' | 'used';

const ENDINGS: Record<EndReason, { title: string; what: string; next: string }> = {
  'no-tries-left': {
    title: 'No tries left',
    what: 'That was the last try for this confirmation, so it is closed. Nothing was sent.',
    next:
      'If you meant it, go back and start the action again from the app. ' +
      'If you are not sure the code is right, check the time on your phone.',
  },
  'locked-out': {
    title: 'Your account is locked',
    what: 'There were too many wrong tries in a row, so your account is locked for confirmations. Nothing was sent.',
    next: 'Ask an administrator to unlock it, then start the action again from the app.',
  },
  gone: {
    title: 'This confirmation has ended',
    what: 'It expired, or it was answered or cancelled somewhere else. Nothing was sent from this page.',
    next: 'If you still want to do it, go back and start the action again from the app.',
  },
  used: {
    title: 'Already confirmed',
    what: 'This confirmation was already answered, perhaps in another window.',
    next: 'Go back to the app to see whether the action went through.',
  },
};

/** The end state: what happened, what to do next, a link back; the controls off and the status cleared. */
export function showEnded(reason: EndReason): void {
  const e = ENDINGS[reason];
  $('ended-title').textContent = e.title;
  $('ended-what').textContent = e.what;
  $('ended-next').textContent = e.next;
  $<HTMLAnchorElement>('ended-link').href = wayBack();
  $('ended').hidden = false;
  $('wait').hidden = true;
  $('status').textContent = '';
  hideNumber();
  setAnswerable(false);
  for (const input of ways().querySelectorAll('input')) input.value = '';
  // Keyboard users land on the next step rather than on a control that went away.
  $('ended-link').focus();
}

/** The number for approving on another device: gone once this confirmation cannot be approved. */
function hideNumber(): void {
  const number = document.getElementById('number');
  if (number) number.hidden = true;
}

let waitTimer: ReturnType<typeof setTimeout> | undefined;

/**
 * After failures in a row the person must wait: say until when (local time, UTC beside it), turn the
 * controls off, and on again at that time (`then` runs then). False when there is nothing to wait for.
 */
export function showWait(retryAt: string | null | undefined, then: () => void = () => {}): boolean {
  const until = retryAt ? Date.parse(retryAt) : Number.NaN;
  const ms = until - Date.now();
  if (!(ms > 250)) return false;
  const box = $('wait');
  const seconds = Math.ceil(ms / 1000);
  const p = document.createElement('p');
  // A short wait in seconds; a long one as the time it ends (in the person's zone, UTC beside it).
  if (seconds < 120) p.append(`Too many wrong tries in a row. Wait ${seconds} seconds: the form comes back by itself.`);
  else p.append('Too many wrong tries in a row. Wait until ', timeNode(until), ': the form comes back by itself then.');
  box.replaceChildren(p);
  showLocalTimes(box);
  box.hidden = false;
  setAnswerable(false);
  clearTimeout(waitTimer);
  waitTimer = setTimeout(() => {
    box.hidden = true;
    box.replaceChildren();
    setAnswerable(true);
    then();
  }, ms);
  return true;
}
