/**
 * @module A time on a Stepgate page: `<time datetime="ISO">YYYY-MM-DD HH:MM UTC</time>`, readable
 * without script; the page script (edge/browser/local-time.ts) shows it in the person's locale and
 * time zone and keeps the UTC time available (docs/accessibility.md, "Times").
 */
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { toDate, UNKNOWN_TIME, utcTime } from '../../shared/local-time';

type Content = HtmlEscapedString | Promise<HtmlEscapedString>;

/** The time as a `<time>` element; a value that is not a time renders as plain "unknown time". */
export const timeElement = (at: Date | string | number): Content => {
  const date = toDate(at);
  if (!date) return html`<span>${UNKNOWN_TIME}</span>`;
  return html`<time datetime="${date.toISOString()}">${utcTime(date)}</time>`;
};
