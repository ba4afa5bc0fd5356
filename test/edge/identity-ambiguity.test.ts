/**
 * Invariant 8 — Stepgate and the origin never disagree about who is asking. The outside attack:
 * the attacker's session cookie and a stolen victim cookie in one Cookie header, spelled so that
 * Stepgate and the origin pick different ones; Stepgate challenged the attacker, the attacker
 * approved, and the origin deleted as the victim. Each spelling is now refused with 400 before
 * anything else, for action approvals, session grants, Stepgate's own API and unprotected routes.
 */
import { env } from 'cloudflare:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { listEvents } from '../../edge/audit/audit-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { sha256b64u } from '../../edge/crypto/base64';
import { enrolTotp, gw, post, type Person } from '../support/edge-flow';
import { sessionCookie } from '../support/session';

type Seen = { method: string; url: string; headers: Record<string, string> };
const originSaw = async (): Promise<Seen[]> => (await (await fetch(`${inject('originUrl')}/__demo/requests`)).json()) as Seen[];
/** What reached the (shared) origin carrying either session of this file: other files' requests are not ours. */
const ours = (seen: Seen[]) => seen.filter((r) => [malloryJwt, victimJwt].some((t) => r.headers.cookie?.includes(t)));

let mallory: Person;
let malloryJwt: string;
let victimJwt: string;

beforeAll(async () => {
  mallory = await enrolTotp('mallory-amb', 'mallory-amb-session');
  malloryJwt = mallory.cookie.split('=')[1]!;
  victimJwt = (await sessionCookie('victor-amb', 'victor-amb-session')).split('=')[1]!;
});

/** Cookie headers that one parser reads as the attacker and another as the victim. */
const spellings = (): [string, string][] => [
  ['a space before "="', `demo_session =${malloryJwt}; demo_session=${victimJwt}`],
  ['a tab before "="', `demo_session\t=${malloryJwt}; demo_session=${victimJwt}`],
  ['the same name twice', `demo_session=${malloryJwt}; demo_session=${victimJwt}`],
  ['the victim first', `demo_session=${victimJwt}; demo_session =${malloryJwt}`],
  ['two Cookie headers (joined with ", ")', `demo_session=${malloryJwt}, demo_session=${victimJwt}`],
  ['another case', `Demo_Session=${victimJwt}; demo_session=${malloryJwt}`],
  ['a percent-encoded name', `demo%5Fsession=${victimJwt}; demo_session=${malloryJwt}`],
  ['a dot for the underscore', `demo.session=${victimJwt}; demo_session=${malloryJwt}`],
];

const expectRefused = async (res: Response) => {
  expect(res.status).toBe(400);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  const body = (await res.json()) as { code: string; detail: string };
  expect(body.code).toBe('ERR_AMBIGUOUS_IDENTITY');
  expect(body.detail).not.toContain(malloryJwt);
};

describe('a Cookie header that names the session two ways is refused before anything else', () => {
  it.each(spellings().map(([what], i) => [what, i]))(
    'an action approval: %s → 400, no challenge, the origin sees nothing',
    async (_what, i) => {
      const [, header] = spellings()[i as number]!;
      const path = `/api/projects/${60 + (i as number)}`;
      const res = await gw(path, { method: 'DELETE', headers: { cookie: header } });
      await expectRefused(res);
      expect(ours(await originSaw()).filter((r) => r.url === path)).toEqual([]);
    },
  );

  it('a session grant: the attacker’s own grant with the victim’s cookie beside it → 400, nothing forwarded', async () => {
    const first = await gw('/admin/settings', {
      method: 'POST',
      body: 'theme=dark',
      headers: { cookie: mallory.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(first.status).toBe(401);
    const { challenge_id } = (await first.json()) as { challenge_id: string };
    const ok = await post(`/.stepgate/api/challenges/${challenge_id}/verify`, mallory.cookie, {
      method: 'totp',
      code: await mallory.code(),
    });
    expect(ok.status).toBe(200);
    const grant = ok.headers.get('set-cookie')!.split(';')[0]!;
    const before = (await originSaw()).length;
    for (const [, header] of spellings()) {
      const res = await gw('/admin/settings', {
        method: 'POST',
        body: 'theme=evil',
        headers: { cookie: `${header}; ${grant}`, 'content-type': 'application/x-www-form-urlencoded' },
      });
      await expectRefused(res);
    }
    expect(ours((await originSaw()).slice(before))).toEqual([]);

    // Control: the attacker's grant still works with the attacker's own cookie alone, and the origin
    // receives exactly that one session cookie and an assertion naming that session.
    const own = await gw('/admin/settings', {
      method: 'POST',
      body: 'theme=mine',
      headers: { cookie: `${mallory.cookie}; ${grant}`, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(own.status).toBeLessThan(400);
    const seen = ours((await originSaw()).slice(before)).filter((r) => r.method === 'POST' && r.url === '/admin/settings');
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers.cookie).toBe(mallory.cookie);
    const jwks = createLocalJWKSet((await (await gw('/.well-known/stepgate/jwks.json')).json()) as { keys: [] });
    const { payload } = await jwtVerify(seen[0]!.headers['stepgate-assertion']!, jwks, { issuer: 'stepgate', audience: 'app.test' });
    expect(payload.sub).toBe('mallory-amb');
    expect(payload.session_hash).toBe(await sha256b64u(malloryJwt));
    expect(payload.session_hash).not.toBe(await sha256b64u(victimJwt));
  });

  it('Stepgate’s own API and unprotected routes refuse it too', async () => {
    const [, header] = spellings()[0]!;
    await expectRefused(await gw('/.stepgate/api/challenges', { headers: { cookie: header } }));
    await expectRefused(await post('/.stepgate/api/factors/step-up', header));
    const before = (await originSaw()).length;
    await expectRefused(await gw('/api/projects', { headers: { cookie: header } }));
    expect(ours((await originSaw()).slice(before))).toEqual([]);
  });

  it('holds under concurrency: 40 mixed requests, every ambiguous one refused, every plain one decided for its own person', async () => {
    const all = spellings();
    // Plain requests come from ten different people (challenge creation is rate-limited per session).
    const plain = await Promise.all(Array.from({ length: 10 }, (_, i) => sessionCookie(`plain-amb-${i}`)));
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 4 === 0
          ? gw(`/api/projects/${70 + i}`, { method: 'DELETE', headers: { cookie: plain[i / 4]! } }).then((r) => ({ plain: true, r }))
          : gw(`/api/projects/${70 + i}`, { method: 'DELETE', headers: { cookie: all[i % all.length]![1] } }).then((r) => ({
              plain: false,
              r,
            })),
      ),
    );
    for (const { plain, r } of results) expect(r.status).toBe(plain ? 401 : 400);
    expect(ours(await originSaw()).filter((r) => r.method === 'DELETE')).toEqual([]);
  });

  it('an ordinary header with other cookies passes as the one person it names', async () => {
    const res = await gw('/api/projects/99', { method: 'DELETE', headers: { cookie: `theme=dark; ${mallory.cookie}; lang=en` } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe('ERR_STEP_UP_REQUIRED');
  });

  it('each refusal is on the audit record as an anonymous denial (folded per client in a flood), without the cookies', async () => {
    const [, header] = spellings()[1]!;
    await expectRefused(
      await gw('/api/projects/98?m=audited', { method: 'DELETE', headers: { cookie: header, 'cf-connecting-ip': '203.0.113.77' } }),
    );
    const ring = parseKeyring(env.STEPGATE_KEYS);
    await vi.waitFor(async () => {
      const { events } = await listEvents(env.DB, ring, 'default', { types: ['request.denied'] }, { limit: 200, order: 'desc' });
      const mine = events.map((e) => e.event).filter((e) => e.reason === 'identity-ambiguous' && e.request?.ip === '203.0.113.77');
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({
        actor: null,
        via: 'anonymous',
        request: { method: 'DELETE', path: '/api/projects/98', query_keys: ['m'] },
      });
      expect(JSON.stringify(mine[0])).not.toContain(malloryJwt);
    });
  });

  it('on Stepgate’s own paths the record names the route, never the challenge or token id in it', async () => {
    const [, header] = spellings()[2]!;
    const id = 'AbCdEfGhIjKlMnOpQrStUv';
    await expectRefused(
      await gw(`/.stepgate/api/challenges/${id}/verify?m=x`, {
        method: 'POST',
        body: '{}',
        headers: { cookie: header, 'cf-connecting-ip': '100.64.7.88', 'content-type': 'application/json' },
      }),
    );
    const ring = parseKeyring(env.STEPGATE_KEYS);
    await vi.waitFor(async () => {
      const { events } = await listEvents(env.DB, ring, 'default', { types: ['request.denied'] }, { limit: 200, order: 'desc' });
      const mine = events.map((e) => e.event).filter((e) => e.reason === 'identity-ambiguous' && e.request?.ip === '100.64.7.88');
      expect(mine).toHaveLength(1);
      expect(mine[0]!.request).toMatchObject({ method: 'POST', path: '/.stepgate/api/challenges/{id}/verify' });
      expect(JSON.stringify(mine[0])).not.toContain(id);
    });
  });
});
