/** The one-line summary of a paired site (popup and options page): it says what the factor list says. */
import { describe, expect, it } from 'vitest';
import { localTime } from '../../shared/local-time';
import type { SiteStatus } from '../../extension/src/lib/messages';
import { factorCounts, siteState } from '../../extension/src/lib/site-view';

const site = (over: Partial<SiteStatus>): SiteStatus => ({
  origin: 'https://app.example.com',
  name: 'app.example.com',
  pairedAt: 0,
  ruleId: 1,
  permission: true,
  signedIn: true,
  factors: { webauthn: 0, totp: 0, recoveryCodesLeft: 0 },
  throttledUntil: null,
  problem: null,
  ...over,
});

describe('siteState', () => {
  it('names the factors there are, and the recovery codes once there is a factor', () => {
    expect(siteState(site({}))).toBe('signed in · no factors yet');
    expect(siteState(site({ factors: { webauthn: 1, totp: 0, recoveryCodesLeft: 10 } }))).toBe(
      'signed in · 1 passkey · 10 recovery codes left',
    );
    expect(siteState(site({ factors: { webauthn: 2, totp: 1, recoveryCodesLeft: 1 } }))).toBe(
      'signed in · 2 passkeys, 1 authenticator app · 1 recovery code left',
    );
  });

  it('counts from the factor list the site sent, as the options card lists it', () => {
    const list = {
      webauthn: [{ id: 'a', nickname: null, created_at: '2026-12-02T06:00:00Z', last_used_at: null, backed_up: false }],
      totp: [],
      recovery_codes_left: 10,
    };
    expect(factorCounts(list as never)).toEqual({ webauthn: 1, totp: 0, recoveryCodesLeft: 10 });
    expect(siteState(site({ factors: factorCounts(list as never) }))).toBe('signed in · 1 passkey · 10 recovery codes left');
  });

  it('says when the person is not signed in, the site could not be checked, or the permission is gone', () => {
    expect(siteState(site({ signedIn: false, factors: null }))).toBe('not signed in');
    expect(siteState(site({ signedIn: null, factors: null }))).toBe('could not be checked just now');
    expect(siteState(site({ permission: false }))).toBe('Permission removed — pair again');
  });

  it('gives the time prompts are paused until in the local zone (UTC beside it unless that is the zone)', () => {
    const until = Date.parse('2026-12-02T06:30:00Z');
    const line = siteState(site({ throttledUntil: until }), until - 1000);
    expect(line).toContain(`prompts paused until ${localTime(until).local}`);
    // Run with TZ=America/New_York to see the UTC part; in a UTC zone the local time is already it.
    if (Intl.DateTimeFormat().resolvedOptions().timeZone !== 'UTC') expect(line).toContain('(2026-12-02 06:30 UTC)');
    expect(siteState(site({ throttledUntil: until }), until + 1000)).toBe('signed in · no factors yet');
  });
});
