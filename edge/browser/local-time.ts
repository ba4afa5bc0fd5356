/**
 * @module Shows each `<time datetime>` of a page in the person's locale and time zone, with the UTC
 * time kept available to everyone: as the element's title (mouse), and as small text after the
 * local time (touch, screen readers, print) — unless the person's own zone is UTC, where it would
 * only repeat. The edge renders the UTC form (edge/pages/time-element.ts), so a page without script
 * still reads right. A time kept in words ("5 minutes ago": `data-relative`, `data-countdown`, ticked
 * by approval-live.ts) keeps its words and gets the exact local and UTC time as its title. Page
 * scripts call showLocalTimes() once at start (console-common.ts does) and after they render times.
 */
import { localTime, utcTime } from '../../shared/local-time';

/** Marks a `<time>` already rewritten, so a second call (after a re-render) leaves it alone. */
const DONE = 'localTime';

const UTC_ZONES = new Set(['UTC', 'Etc/UTC', 'Etc/GMT', 'GMT', 'Etc/Universal', 'Etc/Zulu']);

/** True when the browser's own zone is UTC: the local time is then the UTC time. */
const zoneIsUtc = (): boolean => UTC_ZONES.has(Intl.DateTimeFormat().resolvedOptions().timeZone);

/** A time another script keeps in words (approval-live.ts): its text is left alone. */
const inWords = (el: HTMLElement): boolean => 'relative' in el.dataset || 'countdown' in el.dataset;

/** The title of a time shown in words: "2 Dec 2026, 07:00 CET (2026-12-02 06:00 UTC)". */
export function exactTitle(at: Date | string | number): string {
  const { local, utc } = localTime(at);
  return local === utc || zoneIsUtc() ? utc : `${local} (${utc})`;
}

/** Rewrites every `time[datetime]` under `root` not yet done: local text, UTC as title and small text. */
export function showLocalTimes(root: ParentNode = document): void {
  const hideUtc = zoneIsUtc();
  for (const el of root.querySelectorAll<HTMLTimeElement>('time[datetime]')) {
    if (el.dataset[DONE] === '1') continue;
    const { local, utc } = localTime(el.dateTime);
    el.dataset[DONE] = '1';
    if (inWords(el)) {
      el.title = exactTitle(el.dateTime);
      continue;
    }
    el.title = utc;
    el.textContent = local;
    if (hideUtc || local === utc) continue;
    const small = document.createElement('span');
    small.className = 'utc';
    small.textContent = ` (${utc})`;
    el.append(small);
  }
}

/** A `<time>` for a script that builds rows itself; call showLocalTimes() once they are in the page. */
export function timeNode(at: Date | string | number): HTMLTimeElement | Text {
  const utc = utcTime(at);
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return document.createTextNode(utc);
  const el = document.createElement('time');
  el.dateTime = date.toISOString();
  el.textContent = utc;
  return el;
}
