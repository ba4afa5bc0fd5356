/**
 * @module A moment as a person reads it: in their locale and time zone, with the UTC time beside it
 * (docs/accessibility.md, "Times"). Pure (Intl only, no DOM), so the page scripts, the extension and
 * the tests all format a time the same way; the edge renders the UTC form without script
 * (edge/pages/time-element.ts) and edge/browser/local-time.ts rewrites it to the local one.
 */

/** Where a time is read: a BCP 47 locale and an IANA time zone; each defaults to the runtime's own. */
export interface LocalTimeOptions {
  locale?: string;
  timeZone?: string;
}

/** `local`: "2 Dec 2026, 07:00 CET" (the locale's medium date, short time, zone's short name); `utc`: "2026-12-02 06:00 UTC". */
export interface LocalTimeText {
  local: string;
  utc: string;
}

/** What a time that is not a time shows, rather than "Invalid Date" or a thrown error mid-page. */
export const UNKNOWN_TIME = 'unknown time';

/** The moment as a Date, or null when `at` is not a time (NaN, an unparsable string). */
export function toDate(at: Date | string | number): Date | null {
  const date = at instanceof Date ? new Date(at.getTime()) : new Date(at);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** "YYYY-MM-DD HH:MM UTC": one fixed form, sortable and the same for everyone (logs, support calls). */
export function utcTime(at: Date | string | number): string {
  const date = toDate(at);
  if (!date) return UNKNOWN_TIME;
  const iso = date.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** The time in `opts.locale` and `opts.timeZone` (default: the runtime's), and in UTC. */
export function localTime(at: Date | string | number, opts: LocalTimeOptions = {}): LocalTimeText {
  const date = toDate(at);
  if (!date) return { local: UNKNOWN_TIME, utc: UNKNOWN_TIME };
  const { locale, timeZone } = opts;
  const text = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(date);
  // dateStyle cannot be combined with timeZoneName, so the zone's short name ("CEST", "EDT",
  // "GMT+2") comes from a second formatter, for the same moment (it changes across a DST switch).
  const zone = new Intl.DateTimeFormat(locale, { timeZone, timeZoneName: 'short' })
    .formatToParts(date)
    .find((part) => part.type === 'timeZoneName')?.value;
  return { local: zone ? `${text} ${zone}` : text, utc: utcTime(date) };
}
