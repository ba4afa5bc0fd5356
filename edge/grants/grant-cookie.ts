/**
 * @module Where browsers and API clients carry session grants: a per-rule cookie (`__Host-`,
 * HttpOnly, Secure, SameSite=Strict; without `__Host-`/Secure only on http in development) or the
 * `Stepgate-Grant` header. Grant cookies never reach the origin.
 */
import { readCookie } from '../identity/identity-source';

const PREFIX_SECURE = '__Host-stepgate-';
const PREFIX_DEV = 'stepgate-';

export const grantCookieName = (rule: string, secure: boolean): string => `${secure ? PREFIX_SECURE : PREFIX_DEV}${rule}`;

/** The Set-Cookie value for a session grant of `rule`, valid `maxAgeSeconds`. */
export const grantCookie = (rule: string, token: string, maxAgeSeconds: number, secure: boolean): string =>
  `${grantCookieName(rule, secure)}=${token}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;

/** The grant a request presents for `rule`: the `Stepgate-Grant` header, else the rule's cookie. */
export function presentedGrant(req: Request, rule: string, secure: boolean): string | null {
  const header = req.headers.get('stepgate-grant');
  if (header) return header.trim();
  return readCookie(req.headers.get('cookie'), grantCookieName(rule, secure));
}

/** The Cookie header without Stepgate's grant cookies (null when nothing is left). */
export function withoutGrantCookies(cookie: string): string | null {
  const isGrant = (pair: string) => {
    const c = pair.trim();
    return c.startsWith(PREFIX_SECURE) || c.startsWith(PREFIX_DEV);
  };
  const kept: string[] = [];
  for (const part of cookie.split(';')) {
    // Some origins (Rack before 3) also split on ",", as in joined Cookie headers: a grant after a
    // comma is a cookie to them, so it goes too; the rest of the part is kept as it was.
    const pieces = part.includes(',') ? part.split(',') : [part];
    const left = pieces.some(isGrant) ? pieces.filter((p) => !isGrant(p)).join(',') : part;
    if (left.trim() !== '') kept.push(left.trim());
  }
  return kept.length ? kept.join('; ') : null;
}
