/**
 * @module Browser side, shared by the approval pages (approval.ts, approvals.ts): times kept in
 * words as they pass (`data-relative`: "5 minutes ago"; `data-countdown`: "expires in 4 minutes 10
 * seconds"), text from a request with its hidden characters marked, and asking the approval API for
 * news every 2 seconds while the page is visible. Everything is set with textContent.
 */
import { countdownWords, relativeTime } from '../../shared/approval-words';
import { displaySegments } from '../../shared/visible-text';
import { exactTitle } from './local-time';

/** How often a page asks for news (docs/approvals.md, "Pages"). */
export const POLL_MS = 2000;

/** Rewrite every time on the page in words, from its `datetime`. */
export function tickTimes(now = Date.now()): void {
  for (const t of document.querySelectorAll<HTMLTimeElement>('time[data-relative]')) t.textContent = relativeTime(t.dateTime, now);
  for (const t of document.querySelectorAll<HTMLTimeElement>('time[data-countdown]')) t.textContent = countdownWords(t.dateTime, now);
}

/** Keep the times current, once a second. */
export const startClock = (): void => {
  tickTimes();
  setInterval(() => tickTimes(), 1000);
};

/** A `<time>` in words, the exact time (local and UTC) in its title, kept current by the clock. */
export function timeElement(iso: string): HTMLTimeElement {
  const t = document.createElement('time');
  t.dateTime = iso;
  t.title = exactTitle(iso);
  t.dataset.relative = '';
  t.dataset.localTime = '1';
  t.textContent = relativeTime(iso, Date.now());
  return t;
}

/** Text from a request as nodes: hidden characters as marked escapes (named in a tooltip), never raw. */
export const markedText = (text: string): Node[] =>
  displaySegments(text).map((s) => {
    if (!s.hidden) return document.createTextNode(s.text);
    const m = document.createElement('mark');
    m.className = 'hidden-char';
    m.title = s.label;
    m.textContent = s.text;
    return m;
  });

/**
 * Run `ask` every POLL_MS while the page is visible, one at a time, until it answers false (the
 * request closed, or the page can no longer follow it).
 */
export function poll(ask: () => Promise<boolean>): void {
  let busy = false;
  const timer = setInterval(async () => {
    if (busy || document.hidden) return;
    busy = true;
    try {
      if (!(await ask())) clearInterval(timer);
    } finally {
      busy = false;
    }
  }, POLL_MS);
}
