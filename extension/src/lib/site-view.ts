/** @module How a paired site's state reads, for the popup and the options page alike. */
import type { FactorList } from '../../../shared/wire-shapes';
import type { SiteStatus } from './messages';
import { timeText } from './time-text';

type FactorCounts = NonNullable<SiteStatus['factors']>;

const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** The counts the summary line shows, from the factor list the site just sent. */
export const factorCounts = (f: Partial<FactorList>): FactorCounts => ({
  webauthn: f.webauthn?.length ?? 0,
  totp: f.totp?.length ?? 0,
  recoveryCodesLeft: f.recovery_codes_left ?? 0,
});

/** "no factors yet", "1 passkey", "2 passkeys, 1 authenticator app". */
export function factorSummary(f: FactorCounts): string {
  const parts = [
    f.webauthn ? count(f.webauthn, 'passkey', 'passkeys') : '',
    f.totp ? count(f.totp, 'authenticator app', 'authenticator apps') : '',
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'no factors yet';
}

/** One line: permission, sign-in and factors, in words. Recovery codes only once there is a factor (they come with the first). */
export function siteState(s: SiteStatus, now = Date.now()): string {
  if (!s.permission) return 'Permission removed — pair again';
  const parts: string[] = [];
  if (s.signedIn === false) parts.push('not signed in');
  else if (s.signedIn === true && s.factors) {
    parts.push('signed in', factorSummary(s.factors));
    if (s.factors.webauthn + s.factors.totp > 0)
      parts.push(count(s.factors.recoveryCodesLeft, 'recovery code left', 'recovery codes left'));
  } else parts.push('could not be checked just now');
  if (s.throttledUntil && s.throttledUntil > now) parts.push(`prompts paused until ${timeText(s.throttledUntil)}`);
  return parts.join(' · ');
}

/** The warning shown when a site refused prompts for being asked too often. */
export const throttleNotice = (s: SiteStatus): string =>
  `${new URL(s.origin).host} answered "too many requests" and pauses approval prompts ` +
  `until ${timeText(s.throttledUntil ?? 0)}. If you did not start these actions, ` +
  `someone may be trying to push prompts at you: deny them, and tell your administrator.`;
