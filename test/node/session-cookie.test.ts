/**
 * Invariant 8: Stepgate and the origin never disagree about who is asking. The session cookie is
 * read once, strictly; these cases are the outside attack's spellings, and the differential
 * property checks Stepgate's reading against Express, Django, PHP, Rack, Werkzeug and SimpleCookie
 * on generated headers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldCookieName, readSessionCookie } from '../../edge/identity/session-cookie';
import { ordinaryHeadersAccepted, references, SESSION, sessionCookieAgrees } from '../fuzz/session-cookie';

describe('readSessionCookie', () => {
  it('reads the one session cookie of an ordinary header', () => {
    expect(readSessionCookie('theme=dark; demo_session=abc.def.ghi; lang=en', SESSION)).toEqual({ kind: 'one', value: 'abc.def.ghi' });
    expect(readSessionCookie('demo_session=abc', SESSION)).toEqual({ kind: 'one', value: 'abc' });
    expect(readSessionCookie('theme=dark', SESSION)).toEqual({ kind: 'absent' });
    expect(readSessionCookie(null, SESSION)).toEqual({ kind: 'absent' });
    expect(readSessionCookie('demo_sessions=1; xdemo_session=2; my.demo_session=3; demo_session_id=4', SESSION)).toEqual({
      kind: 'absent',
    });
    expect(readSessionCookie('return_to=/a; demo_session=abc; x=demo_session', SESSION)).toEqual({ kind: 'one', value: 'abc' });
  });

  it.each([
    ['a space before "="', 'demo_session =ATTACKER; demo_session=VICTIM'],
    ['a tab before "="', 'demo_session\t=ATTACKER; demo_session=VICTIM'],
    ['the same name twice', 'demo_session=ATTACKER; demo_session=VICTIM'],
    ['two Cookie headers joined', 'demo_session=ATTACKER, demo_session=VICTIM'],
    ['another case', 'Demo_Session=ATTACKER; demo_session=VICTIM'],
    ['a percent-encoded name (PHP decodes it)', 'demo%5Fsession=ATTACKER; demo_session=VICTIM'],
    ['a dot for the underscore (PHP maps it)', 'demo.session=ATTACKER; demo_session=VICTIM'],
    ['an array name (PHP)', 'demo_session[]=ATTACKER; demo_session=VICTIM'],
    ['a lone odd spelling', 'demo_session =ATTACKER'],
    ['a name without a value', 'demo_session; demo_session=VICTIM'],
    ['an unmatched "[" (PHP reads demo_session)', 'demo[session=VICTIM; demo_session=ATTACKER'],
    ['U+0085 before the name (Python strips it)', 'demo_session=ATTACKER; \u0085demo_session=VICTIM'],
    ['U+00A0 as a lone byte before the name (Node reads Latin-1)', 'theme=dark;\u00a0demo_session=VICTIM; demo_session=ATTACKER'],
    ['a pair ended by a space (SimpleCookie)', 'demo_session=ATTACKER; theme=dark demo_session=VICTIM'],
    ['a value with a space in it', 'demo_session=ATTACKER rest'],
    ['a quoted value', 'demo_session="ATTACKER"'],
    ['a lone spelling that only Python reads as the session', '\u0085demo_session=VICTIM'],
  ])('refuses %s', (_what, header) => {
    expect(readSessionCookie(header, SESSION).kind).toBe('ambiguous');
  });

  it('folds names as the most lenient origin does', () => {
    expect(foldCookieName(' Demo.Session ')).toBe('demo_session');
    expect(foldCookieName('demo%5Fsession[x]')).toBe('demo_session');
    expect(foldCookieName('\tdemo session')).toBe('demo_session');
  });

  it('the reference parsers really disagree on the attack, so refusing is the only safe answer', () => {
    const header = 'demo_session =ATTACKER; demo_session=VICTIM';
    const reads = Object.fromEntries(Object.entries(references).map(([n, read]) => [n, read(header)]));
    expect(reads.express).toBe('ATTACKER');
    expect(reads.django).toBe('VICTIM');
    expect(reads.php).toBe('VICTIM');
  });

  it(
    'never disagrees with Express, Django, PHP, Rack, Werkzeug or SimpleCookie on generated headers ' +
      '(short seed; npm run fuzz runs 100,000)',
    () => {
      fc.assert(sessionCookieAgrees, { numRuns: 3000, seed: 20261201 });
    },
  );

  it('accepts every ordinary header', () => {
    fc.assert(ordinaryHeadersAccepted, { numRuns: 1000, seed: 20261201 });
  });
});
