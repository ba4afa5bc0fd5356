/**
 * @module Times on the extension's pages: in the person's locale and time zone, with the UTC time
 * available to everyone (as the element's title for a mouse, and as small text after the local time
 * for touch and screen readers), unless the person's own zone is UTC, where it would only repeat.
 * The same rule as the site's pages (docs/accessibility.md, "Times"), from shared/local-time.ts.
 */
import { localTime, toDate, UNKNOWN_TIME } from '../../../shared/local-time';
import { h } from './dom';

const UTC_ZONES = new Set(['UTC', 'Etc/UTC', 'Etc/GMT', 'GMT', 'Etc/Universal', 'Etc/Zulu']);

/** True when the browser's own zone is UTC: the local time is then the UTC time. */
const zoneIsUtc = (): boolean => UTC_ZONES.has(Intl.DateTimeFormat().resolvedOptions().timeZone);

/** A time inside a sentence: "2 Dec 2026, 07:00 CET (2026-12-02 06:00 UTC)". */
export function timeText(at: Date | string | number): string {
  const { local, utc } = localTime(at);
  return zoneIsUtc() || local === utc ? local : `${local} (${utc})`;
}

/** A `<time>` element: the local time, the UTC time as its title and as small text after it. */
export function timeElement(at: Date | string | number): HTMLElement {
  const date = toDate(at);
  if (!date) return h('span', { text: UNKNOWN_TIME });
  const { local, utc } = localTime(date);
  // Each part stays whole ("GMT-5", "2026-12-02" are not broken at their hyphens); a line may break between them.
  return h(
    'time',
    { datetime: date.toISOString(), title: utc },
    h('span', { class: 'local', text: local }),
    ...(zoneIsUtc() || local === utc ? [] : [' ', h('span', { class: 'utc', text: `(${utc})` })]),
  );
}
