/**
 * Invariant 8 against more origins' parsers (found by an adversarial review after the first fix):
 * spellings that a real origin reads as the session cookie while a name-folding reader would not.
 *
 * - PHP: a name with an unmatched `[` has it turned into `_` (`demo[session` → `demo_session`),
 *   and PHP keeps the first of two cookies.
 * - Python (Django, Werkzeug/Flask): the header is decoded as UTF-8 and each name is
 *   `str.strip()`ped, which removes U+0085 (NEXT LINE); JavaScript's `\s` does not.
 * - Python's `http.cookies.SimpleCookie` (Bottle, CherryPy, older aiohttp) ends a pair at
 *   whitespace as well as at `;`: `x=y demo_session=V` is a session cookie to it.
 *
 * Stepgate now refuses any header in which the session name appears anywhere some parser could
 * read it as a cookie's start, other than the one exact pair (edge/identity/session-cookie.ts).
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { enrolTotp, gw, post, type Person } from '../support/edge-flow';
import { sessionCookie } from '../support/session';
import { parseDjangoWire, parsePhp, parseSimpleCookie, parseWerkzeugWire } from '../fuzz/session-cookie';

type Seen = { method: string; url: string; headers: Record<string, string> };
const originSaw = async (): Promise<Seen[]> => (await (await fetch(`${inject('originUrl')}/__demo/requests`)).json()) as Seen[];

let mallory: Person;
let malloryJwt: string;
let victimJwt: string;

beforeAll(async () => {
  mallory = await enrolTotp('mallory-rvw', 'mallory-rvw-session');
  malloryJwt = mallory.cookie.split('=')[1]!;
  victimJwt = (await sessionCookie('victor-rvw', 'victor-rvw-session')).split('=')[1]!;
});

/** [what, header, which origin reads the victim] — the attacker's own cookie is the only one Stepgate sees. */
const spellings = (): [string, string, (h: string) => string | undefined][] => [
  [
    'PHP: an unmatched "[" (demo[session), victim first',
    `demo[session=${victimJwt}; demo_session=${malloryJwt}`,
    (h) => parsePhp(h).get('demo_session'),
  ],
  [
    'PHP: "[" in place of the "_" plus a leading space',
    ` demo[session=${victimJwt}; demo_session=${malloryJwt}`,
    (h) => parsePhp(h).get('demo_session'),
  ],
  [
    'Django: U+0085 NEXT LINE before the name, victim last',
    `demo_session=${malloryJwt}; \u0085demo_session=${victimJwt}`,
    (h) => parseDjangoWire(h).get('demo_session'),
  ],
  [
    'Django: U+0085 NEXT LINE after the name, victim last',
    `demo_session=${malloryJwt}; demo_session\u0085=${victimJwt}`,
    (h) => parseDjangoWire(h).get('demo_session'),
  ],
  [
    'Werkzeug/Flask: U+0085 NEXT LINE before the name, victim first',
    `\u0085demo_session=${victimJwt}; demo_session=${malloryJwt}`,
    (h) => parseWerkzeugWire(h).get('demo_session'),
  ],
  [
    'SimpleCookie (Bottle, CherryPy): a pair ended by a space, victim last',
    `demo_session=${malloryJwt}; theme=dark demo_session=${victimJwt}`,
    (h) => parseSimpleCookie(h).get('demo_session'),
  ],
  [
    'SimpleCookie (Bottle, CherryPy): a pair ended by a tab, victim last',
    `demo_session=${malloryJwt};lang=en\tdemo_session=${victimJwt}`,
    (h) => parseSimpleCookie(h).get('demo_session'),
  ],
];

describe('session-cookie spellings that a real origin reads', () => {
  it.each(spellings().map(([what], i) => [what, i]))(
    '%s → the origin reads the victim, so Stepgate must refuse it (400)',
    async (_what, i) => {
      const [, header, originReads] = spellings()[i as number]!;
      // The reference origin really reads the victim's session from this header…
      expect(originReads(header)).toBe(victimJwt);
      // …so Stepgate must not decide for the attacker.
      const res = await gw(`/api/projects/${40 + (i as number)}`, { method: 'DELETE', headers: { cookie: header } });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('ERR_AMBIGUOUS_IDENTITY');
    },
  );

  it(
    'end to end: after the attacker approves their own challenge, every such header ' +
      'is still refused, and the approval serves only the attacker’s plain request',
    async () => {
      const path = '/api/projects/11';
      const headers = [
        `demo[session=${victimJwt}; demo_session=${malloryJwt}`, // PHP
        `demo_session=${malloryJwt}; theme=dark demo_session=${victimJwt}`, // SimpleCookie
        `demo_session=${malloryJwt}; \u0085demo_session=${victimJwt}`, // Django
      ];
      const first = await gw(path, { method: 'DELETE', headers: { cookie: mallory.cookie } });
      expect(first.status).toBe(401);
      const { challenge_id } = (await first.json()) as { challenge_id: string };
      expect(
        (await post(`/.stepgate/api/challenges/${challenge_id}/verify`, mallory.cookie, { method: 'totp', code: await mallory.code() }))
          .status,
      ).toBe(200);
      const before = (await originSaw()).length;
      for (const cookie of headers) expect((await gw(path, { method: 'DELETE', headers: { cookie } })).status).toBe(400);
      expect((await originSaw()).slice(before).filter((r) => r.headers.cookie?.includes(victimJwt))).toEqual([]);
      // The approval was not spent by the refused requests: the attacker's own plain request passes, once.
      expect((await gw(path, { method: 'DELETE', headers: { cookie: mallory.cookie } })).status).toBeLessThan(300);
    },
  );
});
