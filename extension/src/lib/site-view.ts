/** @module How a paired site's state reads, for the popup and the options page alike. */
import type { SiteStatus } from './messages';

/** One line: permission, sign-in and factors, in words. */
export function siteState(s: SiteStatus, now = Date.now()): string {
  if (!s.permission) return 'Permission removed — pair again';
  const parts: string[] = [];
  if (s.signedIn === false) parts.push('not signed in');
  else if (s.signedIn === true && s.factors) {
    const n = s.factors.webauthn + s.factors.totp;
    parts.push(
      'signed in',
      n === 0 ? 'no factors yet' : `${n} factor${n === 1 ? '' : 's'}`,
      `${s.factors.recoveryCodesLeft} recovery code${s.factors.recoveryCodesLeft === 1 ? '' : 's'} left`,
    );
  } else parts.push('state unknown');
  if (s.throttledUntil && s.throttledUntil > now) parts.push(`prompts paused until ${new Date(s.throttledUntil).toLocaleTimeString()}`);
  return parts.join(' · ');
}

/** The warning shown when a site refused prompts for being asked too often. */
export const throttleNotice = (s: SiteStatus): string =>
  `${new URL(s.origin).host} answered "too many requests" and pauses approval prompts ` +
  `until ${new Date(s.throttledUntil ?? 0).toLocaleTimeString()}. If you did not start these actions, ` +
  `someone may be trying to push prompts at you: deny them, and tell your administrator.`;
