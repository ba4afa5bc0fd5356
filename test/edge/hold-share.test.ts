/**
 * Each session's share of the person's held requests (review: one stolen session filled the whole
 * 8-hold cap). The challenge-creation limit already gave each session only a third of the person's
 * budget (10 of 30 a minute); the hold cap had no per-session share, so eight form POSTs from a
 * stolen session (within its 10 a minute) left every form POST the real person made in their own
 * browser with 429 ERR_TOO_MANY_HELD_REQUESTS and no challenge at all — and the person cannot see,
 * deny or answer another session's `bind: "session"` challenges to free it. Now a session holds at
 * most MAX_HELD_REQUESTS_PER_SESSION requests and MAX_HELD_BYTES_PER_SESSION sealed bytes, half the
 * person's caps, so the person's own sessions always have room.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { listEvents } from '../../edge/audit/audit-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { CHALLENGE_TTL_MS, type ChallengeInput } from '../../edge/user-state/challenge';
import {
  MAX_CHALLENGES_PER_SESSION_PER_MINUTE,
  MAX_HELD_BYTES,
  MAX_HELD_BYTES_PER_SESSION,
  MAX_HELD_REQUESTS,
  MAX_HELD_REQUESTS_PER_SESSION,
  MAX_HELD_TOTAL_BYTES,
} from '../../edge/user-state/limits';
import type { UserState } from '../../edge/user-state/user-state';
import { gw, post } from '../support/edge-flow';
import { sessionCookie } from '../support/session';

const gateOf = (user: string) => env.USER_STATE.get(env.USER_STATE.idFromName(`user:${user}`));
const nav = (cookie: string) => ({
  cookie,
  'sec-fetch-mode': 'navigate',
  'sec-fetch-site': 'same-origin',
  accept: 'text/html',
  'content-type': 'application/x-www-form-urlencoded',
});
const formPost = (cookie: string, body: string) => gw('/admin/settings', { method: 'POST', body, headers: nav(cookie) });
const input = (sid: string): ChallengeInput => ({
  sid,
  rule: 'admin-writes',
  bind: 'session',
  factors: ['totp'],
  maxAgeSeconds: 300,
  actionDigest: null,
  action: { method: 'POST', host: 'app.test', path: '/admin/settings', query: '', bodySha256: '' },
  matchedMethod: 'POST',
});
const newId = () =>
  btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');

describe('held requests: each session has a share of the person’s caps', () => {
  it(
    'a stolen session’s form posts fill only its own share: ' +
      'the person’s own form posts still get their challenge, again after every re-arm',
    async () => {
      const user = 'hold-cap-victim';
      const stolen = await sessionCookie(user, 'stolen-copy');
      const own = await sessionCookie(user, 'the-persons-own');
      let offset = 0;
      await runInDurableObject(gateOf(user), (i) => {
        (i as UserState).now = () => Date.now() + offset;
      });

      for (let round = 0; round < 3; round++) {
        // The attacker: as many form posts as the person's whole cap, within one session's creation limit.
        expect(MAX_HELD_REQUESTS).toBeLessThan(MAX_CHALLENGES_PER_SESSION_PER_MINUTE);
        const statuses: number[] = [];
        let refusal = '';
        for (let i = 0; i < MAX_HELD_REQUESTS; i++) {
          const r = await formPost(stolen, `theme=attacker-${round}-${i}`);
          statuses.push(r.status);
          if (r.status === 429) refusal = await r.text();
          else await r.body?.cancel();
        }
        // The person still cannot see the attacker's session-bound challenges...
        const list = (await (await gw('/.stepgate/api/challenges', { headers: { cookie: own } })).json()) as { challenges: unknown[] };
        expect(list.challenges).toEqual([]);
        // ...but does not need to: their own form post gets its challenge, and is held.
        const mine = await formPost(own, `theme=mine-${round}`);
        expect(mine.status).toBe(401);
        expect(await mine.text()).toContain('data-held="1"');
        // The attacker's were held up to the session's share, then refused (no challenge made, no older hold dropped).
        expect(statuses).toEqual([
          ...Array(MAX_HELD_REQUESTS_PER_SESSION).fill(401),
          ...Array(MAX_HELD_REQUESTS - MAX_HELD_REQUESTS_PER_SESSION).fill(429),
        ]);
        expect(refusal).toContain('Too many actions waiting');
        expect(refusal).toContain('This browser session already has');
        offset += CHALLENGE_TTL_MS + 1000; // the attacker's holds expire; the attacker re-arms
      }
      const { events } = await listEvents(
        env.DB,
        parseKeyring(env.STEPGATE_KEYS),
        'default',
        { user, types: ['request.denied'] },
        { limit: 50, order: 'asc' },
      );
      const holdLimits = events.map((e) => e.event).filter((e) => e.reason === 'hold-limit');
      expect(holdLimits.length).toBeGreaterThan(0); // repeated refusals may be folded into a summary (docs/audit.md)
      for (const e of holdLimits) expect(e.details).toMatchObject({ limit: 'count', scope: 'session' });
      // Half each: the person's other sessions always have room for as many again.
      expect(MAX_HELD_REQUESTS_PER_SESSION * 2).toBeLessThanOrEqual(MAX_HELD_REQUESTS);
      expect(MAX_HELD_BYTES_PER_SESSION * 2).toBeLessThanOrEqual(MAX_HELD_TOTAL_BYTES);
    },
  );

  it('the person’s cap still holds across sessions; the person frees their own share by denying their own held challenge', async () => {
    const user = 'hold-share-person';
    const cookies = [await sessionCookie(user, 'share-1'), await sessionCookie(user, 'share-2'), await sessionCookie(user, 'share-3')];
    const ids: string[][] = [[], []];
    for (const s of [0, 1]) {
      for (let i = 0; i < MAX_HELD_REQUESTS_PER_SESSION; i++) {
        const r = await formPost(cookies[s]!, `theme=s${s}-${i}`);
        expect(r.status).toBe(401);
        ids[s]!.push(r.headers.get('stepgate-challenge')!);
      }
    }
    // The person's cap is full: a third session is refused for the person, with the person's numbers.
    const third = await formPost(cookies[2]!, 'theme=third');
    expect(third.status).toBe(429);
    const text = await third.text();
    expect(text).toContain(`You already have ${MAX_HELD_REQUESTS} actions`);
    // Session 1 denies one of its own (never counted against the person) and has room again.
    expect((await post(`/.stepgate/api/challenges/${ids[0]![0]}/deny`, cookies[0]!)).status).toBe(200);
    expect((await gateOf(user).failureState()).consecutive).toBe(0);
    const again = await formPost(cookies[0]!, 'theme=again');
    expect(again.status).toBe(401);
    expect(await again.text()).toContain('data-held="1"');
  });

  it(
    `in bytes too: one session holds at most ${MAX_HELD_BYTES_PER_SESSION} sealed bytes, ` +
      `the person ${MAX_HELD_TOTAL_BYTES}; the refusal names which, and when the share frees`,
    async () => {
      const g = gateOf('hold-share-bytes');
      let now = Date.now();
      await runInDurableObject(g, (i) => {
        (i as UserState).now = () => now;
      });
      const size = 1_500_000;
      expect(size).toBeLessThanOrEqual(MAX_HELD_BYTES);
      const hold = (sid: string) => g.openChallenge({ ...input(sid), id: newId(), held: 'x'.repeat(size) });
      const first = await hold('a');
      expect(first).toMatchObject({ ok: true, held: true });
      now += 1000;
      expect(await hold('a')).toMatchObject({ ok: true, held: true });
      now += 1000;
      // A third would pass the session's bytes: refused for the session, free when its first hold's challenge expires.
      const overSession = await hold('a');
      expect(overSession).toEqual({
        ok: false,
        reason: 'hold-limit',
        limit: 'bytes',
        scope: 'session',
        retryAt: first.ok ? first.challenge.expiresAt : NaN,
      });
      // Other sessions fill the person's bytes, until the person's cap refuses.
      expect(await hold('b')).toMatchObject({ ok: true, held: true });
      expect(await hold('b')).toMatchObject({ ok: true, held: true });
      expect(await hold('c')).toMatchObject({ ok: true, held: true });
      expect(await hold('c')).toMatchObject({ ok: false, reason: 'hold-limit', limit: 'bytes', scope: 'person' });
      const rows = await runInDurableObject(g, (_i, state) =>
        state.storage.sql.exec<{ sid: string; bytes: number }>('SELECT sid, bytes FROM held').toArray(),
      );
      expect(rows.reduce((a, r) => a + r.bytes, 0)).toBeLessThanOrEqual(MAX_HELD_TOTAL_BYTES);
      for (const sid of ['a', 'b', 'c'])
        expect(rows.filter((r) => r.sid === sid).reduce((a, r) => a + r.bytes, 0)).toBeLessThanOrEqual(MAX_HELD_BYTES_PER_SESSION);
    },
  );
});
