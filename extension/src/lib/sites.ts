/** @module Pure helpers about paired sites: the origin a person typed, its permission pattern, its marker rule. */
import type { PairedSite } from './messages';

/** The marker header the edge looks for: "this browser has the extension, hold the request and wait". */
export const MARKER_HEADER = 'Stepgate-Extension';

/**
 * The origin of what a person typed or the tab shows (`example.com` → `https://example.com`).
 * Only http on localhost/127.0.0.1 (development) and https are accepted.
 *
 * @throws {TypeError} naming what is wrong, when it is not a site Stepgate can pair with
 */
export function siteOrigin(input: string): string {
  const raw = input.trim();
  if (raw === '') throw new TypeError('Enter the address of a site.');
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`);
  } catch {
    throw new TypeError(`"${raw.slice(0, 80)}" is not a web address.`);
  }
  const local = url.hostname === 'localhost' || url.hostname === '127.0.0.1';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) {
    throw new TypeError(`Only https sites can be paired (http only for localhost), got ${url.protocol}//${url.hostname}.`);
  }
  if (url.username || url.password) throw new TypeError('A site address cannot carry a user name or password.');
  return url.origin;
}

/**
 * The host permission pattern for a site. Without a port: Firefox's match patterns have none, and
 * Chrome's pattern without one covers every port — one pattern works for both browsers.
 */
export const permissionPattern = (origin: string): string => {
  const u = new URL(origin);
  return `${u.protocol}//${u.hostname}/*`;
};

/** Whether `url` is on the site `origin` (same scheme, host and port). */
export const isOnSite = (url: string, origin: string): boolean => {
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
};

/** A declarativeNetRequest dynamic rule, in the shape both Chrome and Firefox take. */
export interface MarkerRule {
  id: number;
  priority: number;
  action: { type: 'modifyHeaders'; requestHeaders: { header: string; operation: 'set'; value: string }[] };
  condition: { urlFilter: string; initiatorDomains: string[]; resourceTypes: 'xmlhttprequest'[] };
}

/**
 * The rule marking the site's own fetch/XHR: exactly this origin (`|` anchors scheme, host and
 * port), and only when the site's pages start them — another site's page cannot make this browser
 * hold requests and raise prompts, and the extension's own calls are never held.
 */
export const markerRule = (site: Pick<PairedSite, 'origin' | 'ruleId'>): MarkerRule => ({
  id: site.ruleId,
  priority: 1,
  action: { type: 'modifyHeaders', requestHeaders: [{ header: MARKER_HEADER, operation: 'set', value: '1' }] },
  condition: { urlFilter: `|${site.origin}/`, initiatorDomains: [new URL(site.origin).hostname], resourceTypes: ['xmlhttprequest'] },
});

/** The next free rule id (ids are positive integers). */
export const nextRuleId = (sites: readonly Pick<PairedSite, 'ruleId'>[], installed: readonly number[] = []): number =>
  Math.max(0, ...sites.map((s) => s.ruleId), ...installed) + 1;
