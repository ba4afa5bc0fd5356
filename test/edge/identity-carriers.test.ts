/**
 * Identity carriers (found by an adversarial review): "the origin receives only the identity
 * Stepgate verified" (invariant 8) and "client-sent X-Forwarded-* … stripped before the origin"
 * (threat model) — but identity carriers Stepgate does not read still reach the origin untouched:
 *
 * - `X-Forwarded-User`, `X-Forwarded-Email`, `X-Forwarded-Preferred-Username`, `X-Forwarded-Groups`,
 *   `X-Forwarded-Access-Token` (oauth2-proxy's identity headers, which apps behind an auth proxy
 *   trust) are `X-Forwarded-*` headers missing from the UNTRUSTED list; so are `X-Auth-Request-User`,
 *   `Remote-User`, `X-Remote-User`.
 * - With a cookie-only identity (the default `IDENTITY`, no `bearer`), an `Authorization: Bearer`
 *   token is neither read nor stripped: an origin that accepts bearer tokens as well as its cookie
 *   (common for API routes) acts for the token's person — here the victim's — while Stepgate
 *   stepped up the cookie's person (the attacker), and the assertion names the attacker.
 *
 * Fails on the code under review.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { enrolTotp, gw, post, type Person } from '../support/edge-flow';
import { sessionCookie } from '../support/session';

type Seen = { method: string; url: string; headers: Record<string, string> };
const originSaw = async (): Promise<Seen[]> => (await (await fetch(`${inject('originUrl')}/__demo/requests`)).json()) as Seen[];

let mallory: Person;
let victimJwt: string;
beforeAll(async () => {
  mallory = await enrolTotp('mallory-carriers', 'mallory-carriers-session');
  victimJwt = (await sessionCookie('victor-carriers', 'victor-carriers-session')).split('=')[1]!;
});

const IDENTITY_HEADERS = {
  'x-forwarded-user': 'victor-carriers',
  'x-forwarded-email': 'victor@example.com',
  'x-forwarded-preferred-username': 'victor-carriers',
  'x-forwarded-groups': 'admins',
  'x-forwarded-access-token': 'forged',
  'x-auth-request-user': 'victor-carriers',
  'remote-user': 'victor-carriers',
  'x-remote-user': 'victor-carriers',
};

describe('identity carriers Stepgate does not verify never reach the origin', () => {
  it('client-sent proxy identity headers (X-Forwarded-User, …) are stripped like the other X-Forwarded-* headers', async () => {
    const before = (await originSaw()).length;
    const res = await gw('/api/projects?m=carriers', { headers: { cookie: mallory.cookie, ...IDENTITY_HEADERS } });
    expect(res.status).toBe(200);
    const seen = (await originSaw()).slice(before).filter((r) => r.url === '/api/projects?m=carriers');
    expect(seen).toHaveLength(1);
    const leaked = Object.keys(IDENTITY_HEADERS).filter((h) => h in seen[0]!.headers);
    expect(leaked).toEqual([]);
  });

  it(
    'the victim’s bearer token beside the attacker’s session cookie is ' +
      'refused as a second identity (400), before and after the attacker steps up',
    async () => {
      const path = '/api/projects/14';
      const headers = { cookie: mallory.cookie, authorization: `Bearer ${victimJwt}` };
      const first = await gw(path, { method: 'DELETE', headers });
      expect(first.status).toBe(400);
      expect(((await first.json()) as { code: string }).code).toBe('ERR_AMBIGUOUS_IDENTITY');
      const own = await gw(path, { method: 'DELETE', headers: { cookie: mallory.cookie } });
      expect(own.status).toBe(401);
      const { challenge_id } = (await own.json()) as { challenge_id: string };
      expect(
        (await post(`/.stepgate/api/challenges/${challenge_id}/verify`, mallory.cookie, { method: 'totp', code: await mallory.code() }))
          .status,
      ).toBe(200);
      const before = (await originSaw()).length;
      expect((await gw(path, { method: 'DELETE', headers })).status).toBe(400);
      expect((await originSaw()).slice(before).filter((r) => (r.headers.authorization ?? '').includes(victimJwt))).toEqual([]);
      // Her own bearer token beside her own cookie is one identity: the approved request passes once.
      const ownBearer = await gw(path, {
        method: 'DELETE',
        headers: { cookie: mallory.cookie, authorization: `Bearer ${mallory.cookie.split('=')[1]}` },
      });
      expect(ownBearer.status).toBeLessThan(300);
    },
  );
});
