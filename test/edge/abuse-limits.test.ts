/**
 * Abuse limits of one person's UserState (review findings 3 and 4): a stolen session must not be able
 * to lock its person out by denying its own challenges, challenge creation is rationed per session
 * and per person, and held requests (sealed navigations) are capped in count and bytes and never
 * outlive their challenge.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import type { AuditSequencer } from '../../edge/audit/audit-sequencer';
import { DENIAL_WINDOW_MS } from '../../edge/audit/denial-folding';
import { listEvents } from '../../edge/audit/audit-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { CHALLENGE_TTL_MS, type ChallengeInput, MAX_OPEN_CHALLENGES } from '../../edge/user-state/challenge';
import {
  backoffMs,
  HELD_APPROVAL_WINDOW_MS,
  MAX_CHALLENGES_PER_SESSION_PER_MINUTE,
  MAX_CHALLENGES_PER_USER_PER_MINUTE,
  MAX_CONSECUTIVE_FAILURES,
  MAX_HELD_REQUESTS,
  MAX_HELD_REQUESTS_PER_SESSION,
  MAX_HELD_TOTAL_BYTES,
} from '../../edge/user-state/limits';
import type { UserState } from '../../edge/user-state/user-state';
import { enrolTotp, gw, post } from '../support/edge-flow';
import { sessionCookie } from '../support/session';

const gateOf = (user: string) => env.USER_STATE.get(env.USER_STATE.idFromName(`user:${user}`));
/** Move a person's UserState clock: `Date.now() + offset()`, read on every call. */
const skewClock = (user: string, offset: () => number) =>
  runInDurableObject(gateOf(user), (i) => {
    (i as UserState).now = () => Date.now() + offset();
  });
const sqlOf = <T>(user: string, query: string) =>
  runInDurableObject(gateOf(user), (_i, state) => state.storage.sql.exec(query).toArray() as T[]);
/** Held rows whose challenge is gone without an approval: must never exist. */
const orphanHolds = async (user: string) =>
  (
    await sqlOf<{ n: number }>(user, 'SELECT COUNT(*) AS n FROM held WHERE approved = 0 AND challenge NOT IN (SELECT id FROM challenges)')
  )[0]!.n;
const denials = async (user: string, reason: string) => {
  const { events } = await listEvents(
    env.DB,
    parseKeyring(env.STEPGATE_KEYS),
    'default',
    { user, types: ['request.denied'] },
    { limit: 200, order: 'desc' },
  );
  return events.map((e) => e.event).filter((e) => e.reason === reason);
};
/** How far the audit sequencer's denial clock runs ahead; it only ever moves forward. */
let sequencerSkew = 0;
/**
 * A person's refusals of one reason, every one counted: written in full, or folded into a summary
 * (repeated refusals are folded per person, reason and rule; docs/audit.md). The sequencer's open
 * window is closed first, so its summaries are written.
 */
const refusals = async (user: string, reason: string): Promise<number> => {
  const seq = env.AUDIT_SEQUENCER.get(env.AUDIT_SEQUENCER.idFromName('tenant:default'));
  sequencerSkew += DENIAL_WINDOW_MS + 1;
  const skew = sequencerSkew;
  await runInDurableObject(seq, (i) => {
    (i as AuditSequencer).now = () => Date.now() + skew;
  });
  await runDurableObjectAlarm(seq);
  const { events } = await listEvents(
    env.DB,
    parseKeyring(env.STEPGATE_KEYS),
    'default',
    { user, types: ['request.denied', 'request.denied_summary'] },
    { limit: 500, order: 'desc' },
  );
  return events
    .map((e) => e.event)
    .filter((e) => e.reason === reason)
    .reduce((n, e) => n + (e.type === 'request.denied' ? 1 : Number(e.details?.folded)), 0);
};
const nav = (cookie: string) => ({
  cookie,
  'sec-fetch-mode': 'navigate',
  accept: 'text/html',
  'content-type': 'application/x-www-form-urlencoded',
});
const input = (over: Partial<ChallengeInput> = {}): ChallengeInput => ({
  sid: 'attacker',
  rule: 'delete-project',
  bind: 'action',
  factors: ['totp'],
  maxAgeSeconds: 300,
  actionDigest: 'd',
  action: { method: 'DELETE', host: 'app.test', path: '/api/projects/1', query: '', bodySha256: '' },
  matchedMethod: 'DELETE',
  ...over,
});
const newId = () =>
  btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');

describe('finding 3: denying one’s own challenges', () => {
  it('105 rounds of "request, then deny my own challenge" (sequential and ' +
    'in concurrent batches) never lock the person out; the rounds meet 429s', async () => {
    const p = await enrolTotp('abuse-self');
    let offset = 0;
    await skewClock('abuse-self', () => offset);
    const round = async (i: number): Promise<'denied' | 'limited'> => {
      const r = await gw(`/api/projects/${1000 + i}?m=self-deny`, { method: 'DELETE', headers: { cookie: p.cookie } });
      if (r.status === 429) {
        expect(await r.json()).toMatchObject({ code: 'ERR_TOO_MANY_CHALLENGES' });
        return 'limited';
      }
      expect(r.status).toBe(401);
      const { challenge_id } = (await r.json()) as { challenge_id: string };
      const d = await post(`/.stepgate/api/challenges/${challenge_id}/deny`, p.cookie);
      expect(d.status).toBe(200);
      return 'denied';
    };
    const outcomes: ('denied' | 'limited')[] = [];
    let i = 0;
    for (; i < 15; i++) outcomes.push(await round(i)); // one by one
    for (let b = 0; b < 4; b++) {
      offset += 61_000; // a new minute for the creation limit
      outcomes.push(...(await Promise.all(Array.from({ length: 20 }, () => round(i++))))); // 20 at once
    }
    offset += 61_000;
    for (; i < 105; i++) outcomes.push(await round(i));
    expect(outcomes).toHaveLength(105);

    // Not locked, not even backing off: self-denials do not count against the person.
    expect((await gateOf('abuse-self').failureState()).consecutive).toBe(0);
    offset += 61_000;
    const first = await gw('/api/projects/1999?m=self-deny-after', { method: 'DELETE', headers: { cookie: p.cookie } });
    expect(first.status).toBe(401);
    const { challenge_id } = (await first.json()) as { challenge_id: string };
    const ok = await post(`/.stepgate/api/challenges/${challenge_id}/verify`, p.cookie, { method: 'totp', code: await p.code() });
    expect(ok.status, await ok.clone().text()).toBe(200);
    // Forwarded (the origin has no project 1999: its own 404, not Stepgate's).
    const passed = await gw('/api/projects/1999?m=self-deny-after', { method: 'DELETE', headers: { cookie: p.cookie } });
    expect(passed.status).toBe(404);
    expect(await passed.json()).toEqual({ error: 'no such project' });

    // The creation limit met the rounds: per minute, one session opens at most MAX_CHALLENGES_PER_SESSION_PER_MINUTE.
    const denied = outcomes.filter((o) => o === 'denied').length;
    expect(denied).toBe(6 * MAX_CHALLENGES_PER_SESSION_PER_MINUTE);
    expect(outcomes.filter((o) => o === 'limited')).toHaveLength(105 - denied);
    expect(await refusals('abuse-self', 'challenge-rate-limit')).toBe(105 - denied);
    expect((await denials('abuse-self', 'denied-by-user'))[0]).toMatchObject({ details: { other_session: false, counted: false } });
  }, 60_000);

  /** Simulated attacker, as fast as the UserState allows: the clock time until the person is locked. */
  const timeToLock = async (user: string, kind: 'codes' | 'denials'): Promise<number> => {
    const g = gateOf(user);
    const t0 = Date.now();
    let now = t0;
    await runInDurableObject(g, (i) => {
      (i as UserState).now = () => now;
    });
    let id: string | null = null;
    let calls = 0;
    for (;;) {
      if (++calls > 2000) throw new Error('no lock after 2000 steps');
      const f = await g.failureState();
      if (f.consecutive >= MAX_CONSECUTIVE_FAILURES) return now - t0;
      if (id === null) {
        const c = await g.openChallenge(input({ sid: 'attacker' }));
        if (!c.ok) {
          now = c.retryAt;
          continue;
        }
        id = c.challenge.id;
      }
      if (kind === 'denials') {
        // The person's other session denies: counts, but not while the person backs off.
        const before = f.consecutive;
        const d = await g.denyChallenge(id, 'person');
        expect(d).toMatchObject({ otherSession: true });
        id = null;
        if (!d!.counted) {
          expect((await g.failureState()).consecutive).toBe(before);
          now = (await g.failureState()).retryAt!;
        }
      } else {
        const a = await g.beginAttempt(id, 'attacker'); // a wrong code: counted as it begins
        if (!a.ok && a.reason === 'locked') now = a.retryAt ?? now;
        else if (!a.ok) id = null;
      }
    }
  };

  it('denials from another session back the person off and never reach the permanent lock faster than failed codes', async () => {
    // The least time any sequence of counted failures needs: every back-off from the fifth to the 99th.
    let floor = 0;
    for (let n = 1; n < MAX_CONSECUTIVE_FAILURES; n++) floor += backoffMs(n);
    const codes = await timeToLock('abuse-sim-codes', 'codes');
    const denied = await timeToLock('abuse-sim-denials', 'denials');
    expect(codes).toBeGreaterThanOrEqual(floor);
    expect(denied).toBeGreaterThanOrEqual(floor);
    expect(denied).toBeGreaterThanOrEqual(codes);
    expect(floor).toBeGreaterThan(20 * 3600_000); // about 21 hours, not seconds
  }, 120_000);

  it('a denial while the person backs off still withdraws the challenge and refuses its held request, without counting', async () => {
    const g = gateOf('abuse-backoff');
    let now = Date.now();
    await runInDurableObject(g, (i) => {
      (i as UserState).now = () => now;
    });
    for (let i = 0; i < 5; i++) {
      now += 7_000;
      const c = await g.openChallenge(input());
      if (!c.ok) throw new Error('refused');
      expect(await g.denyChallenge(c.challenge.id, 'person')).toMatchObject({ counted: true, otherSession: true });
    }
    expect(await g.allowPrompt()).toMatchObject({ ok: false }); // push bombing meets the back-off
    const state = await g.failureState();
    expect(state.consecutive).toBe(5);
    const id = newId();
    const c = await g.openChallenge({ ...input(), id, held: 'sealed-request' });
    expect(c).toMatchObject({ ok: true, held: true });
    const waiting = g.awaitDecision(id, 'attacker', 10_000);
    // The held request is waiting before the denial arrives (two calls to the object may interleave).
    await vi.waitFor(() =>
      runInDurableObject(g, (i) => expect((i as unknown as { waiters: Map<string, unknown> }).waiters.has(id)).toBe(true)),
    );
    expect(await g.denyChallenge(id, 'person')).toMatchObject({ counted: false, otherSession: true });
    expect(await waiting).toEqual({ kind: 'denied' });
    expect(await g.getChallenge(id, 'attacker')).toBeNull();
    expect(await sqlOf(`abuse-backoff`, 'SELECT challenge FROM held')).toEqual([]);
    expect((await g.failureState()).consecutive).toBe(5);
    // Denying one's own challenge never counts, whatever the state.
    now = state.retryAt! + 1;
    const own = await g.openChallenge(input());
    if (!own.ok) throw new Error('refused');
    expect(await g.denyChallenge(own.challenge.id, 'attacker')).toMatchObject({ counted: false, otherSession: false });
    expect((await g.failureState()).consecutive).toBe(5);
  });
});

describe('finding 3: challenge creation is rationed per session and per person', () => {
  it(
    `${MAX_CHALLENGES_PER_SESSION_PER_MINUTE} a minute per session, ${MAX_CHALLENGES_PER_USER_PER_MINUTE} ` +
      `per person: then 429 ERR_TOO_MANY_CHALLENGES with Retry-After (a page for a browser), audited; ` +
      `free again after the minute`,
    async () => {
      const p = await enrolTotp('abuse-rate');
      let offset = 0;
      await skewClock('abuse-rate', () => offset);
      const del = (cookie: string, i: number) => gw(`/api/projects/${3000 + i}?m=rate`, { method: 'DELETE', headers: { cookie } });
      const s = [
        p.cookie,
        await sessionCookie('abuse-rate', 'rate-2'),
        await sessionCookie('abuse-rate', 'rate-3'),
        await sessionCookie('abuse-rate', 'rate-4'),
      ];
      let n = 0;
      for (let i = 0; i < MAX_CHALLENGES_PER_SESSION_PER_MINUTE; i++) expect((await del(s[0]!, n++)).status).toBe(401);
      const limited = await del(s[0]!, n++);
      expect(limited.status).toBe(429);
      expect(limited.headers.get('content-type')).toContain('application/problem+json');
      const retry = Number(limited.headers.get('retry-after'));
      expect(retry).toBeGreaterThanOrEqual(1);
      expect(retry).toBeLessThanOrEqual(60);
      expect(await limited.json()).toMatchObject({
        code: 'ERR_TOO_MANY_CHALLENGES',
        status: 429,
        limit: 'session',
        retry_at: expect.any(String),
      });

      // A browser navigating gets a readable page, with Stepgate's headers.
      const page = await gw('/admin/settings', { method: 'POST', body: 'theme=dark', headers: nav(s[0]!) });
      expect(page.status).toBe(429);
      expect(page.headers.get('content-type')).toContain('text/html');
      expect(page.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      const text = await page.text();
      expect(text).toContain('Too many requests to confirm');
      // Words for the person; the code is for programs only.
      expect(text).not.toContain('ERR_TOO_MANY_CHALLENGES');
      expect(text).not.toContain('<script>');

      // The fresh step-up (its reserved rule) goes through the same limit.
      const stepUp = await post('/.stepgate/api/factors/step-up', s[0]!);
      expect(stepUp.status).toBe(429);
      expect(await stepUp.json()).toMatchObject({ code: 'ERR_TOO_MANY_CHALLENGES' });

      // Other sessions of the person have their own ration, up to the person's.
      const perPersonLeft = MAX_CHALLENGES_PER_USER_PER_MINUTE - MAX_CHALLENGES_PER_SESSION_PER_MINUTE;
      const others = await Promise.all(
        Array.from({ length: perPersonLeft }, (_, i) => del(s[1 + Math.floor(i / MAX_CHALLENGES_PER_SESSION_PER_MINUTE)]!, n + i)),
      );
      n += perPersonLeft;
      expect(others.map((r) => r.status)).toEqual(Array(perPersonLeft).fill(401));
      const person = await del(s[3]!, n++);
      expect(person.status).toBe(429);
      expect(await person.json()).toMatchObject({ code: 'ERR_TOO_MANY_CHALLENGES', limit: 'person' });
      // Every refusal counted; the first of each rule in full (the person's limit on delete-project folded into its summary).
      expect(await refusals('abuse-rate', 'challenge-rate-limit')).toBe(4);
      const events = await denials('abuse-rate', 'challenge-rate-limit');
      expect(events.find((e) => e.rule === 'delete-project')).toMatchObject({ outcome: 'denied', details: { limit: 'session' } });
      expect(events.find((e) => e.rule === 'stepgate-factors')).toBeDefined();
      // The refusals created nothing.
      expect((await sqlOf<{ n: number }>('abuse-rate', 'SELECT COUNT(*) AS n FROM challenges'))[0]!.n).toBe(
        MAX_CHALLENGES_PER_USER_PER_MINUTE,
      );

      // A minute later, each session may ask again.
      offset += 60_001;
      expect((await del(s[0]!, n++)).status).toBe(401);
      expect((await del(s[3]!, n++)).status).toBe(401);
      expect((await post('/.stepgate/api/factors/step-up', s[0]!)).status).toBe(201);
    },
  );
});

describe('finding 4: held requests are capped and die with their challenge', () => {
  it(`40 concurrent 1 MB navigation POSTs: at most ${MAX_HELD_REQUESTS} held and ` +
    `under ${MAX_HELD_TOTAL_BYTES} sealed bytes; the rest get a 429 page; no older hold is dropped`, async () => {
    const cookie = await sessionCookie('abuse-held', 'held-1');
    const pad = 'a'.repeat(1_000_000);
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        gw(`/api/projects/${4000 + i}`, { method: 'POST', body: `_method=DELETE&pad=${pad}`, headers: nav(cookie) }),
      ),
    );
    const held = answers.filter((r) => r.status === 401);
    const refused = answers.filter((r) => r.status === 429);
    expect(held.length + refused.length).toBe(40);
    expect(held.length).toBeGreaterThan(0);
    expect(held.length).toBeLessThanOrEqual(MAX_HELD_REQUESTS_PER_SESSION); // one session: its share
    for (const r of held) expect(await r.clone().text()).toContain('data-held="1"');
    const pages = await Promise.all(
      refused.map(async (r) => ({ type: r.headers.get('content-type'), retry: r.headers.get('retry-after'), text: await r.text() })),
    );
    for (const pg of pages) {
      expect(pg.type).toContain('text/html');
      expect(pg.retry).toMatch(/^\d+$/);
    }
    // Refused for the held bytes (a refusal opens no challenge, so it does not use the creation ration).
    const holdPages = pages.filter((pg) => pg.text.includes('Too many actions waiting')).length;
    expect(holdPages).toBeGreaterThan(0);
    expect(holdPages + pages.filter((pg) => pg.text.includes('Too many requests to confirm')).length).toBe(refused.length);
    const rows = await sqlOf<{ challenge: string; bytes: number; len: number }>(
      'abuse-held',
      'SELECT challenge, bytes, LENGTH(sealed) AS len FROM held',
    );
    expect(rows.map((r) => r.challenge).sort()).toEqual(held.map((r) => r.headers.get('stepgate-challenge')).sort());
    expect(rows.reduce((a, r) => a + r.len, 0)).toBeLessThanOrEqual(MAX_HELD_TOTAL_BYTES);
    for (const r of rows) expect(r.bytes).toBe(r.len);
    // A refused hold leaves no challenge behind.
    expect((await sqlOf<{ n: number }>('abuse-held', 'SELECT COUNT(*) AS n FROM challenges'))[0]!.n).toBe(held.length);
    expect(await refusals('abuse-held', 'hold-limit')).toBe(holdPages);
  }, 60_000);

  it(`at most ${MAX_HELD_REQUESTS} held at once: the next is refused (not an older one dropped) until one is withdrawn`, async () => {
    const p = await enrolTotp('abuse-held-count');
    const send = (cookie: string, i: number) =>
      gw(`/api/projects/${5000 + i}`, { method: 'POST', body: '_method=DELETE', headers: nav(cookie) });
    // Two sessions of the person, each within its share (hold-share.test.ts).
    const sessions = [p.cookie, await sessionCookie('abuse-held-count', 'held-count-1')];
    const ids: string[] = [];
    for (let i = 0; i < MAX_HELD_REQUESTS; i++) {
      const r = await send(sessions[Math.floor(i / MAX_HELD_REQUESTS_PER_SESSION)]!, i);
      expect(r.status).toBe(401);
      expect(await r.text()).toContain('data-held="1"');
      ids.push(r.headers.get('stepgate-challenge')!);
    }
    // A third session, with its share free: refused for the person's cap.
    const over = await send(await sessionCookie('abuse-held-count', 'held-count-3'), 99);
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    const text = await over.text();
    expect(text).toContain(`You already have ${MAX_HELD_REQUESTS} actions`);
    expect(text).toContain('waiting for your approval');
    expect(text).not.toContain('ERR_TOO_MANY_HELD_REQUESTS');
    // An API client is told in problem+json.
    const api = await gw('/api/projects/5100', {
      method: 'POST',
      body: '_method=DELETE',
      headers: { ...nav(p.cookie), accept: 'application/json', 'sec-fetch-mode': 'cors' },
    });
    expect(api.status).toBe(401); // not a navigation: nothing is held, so no hold limit
    const held = async () =>
      (await sqlOf<{ challenge: string }>('abuse-held-count', 'SELECT challenge FROM held')).map((r) => r.challenge).sort();
    expect(await held()).toEqual([...ids].sort());

    // Withdrawing one (a denial) deletes its held request, and a new hold fits.
    expect((await post(`/.stepgate/api/challenges/${ids[0]}/deny`, p.cookie)).status).toBe(200);
    expect(await held()).toEqual(ids.slice(1).sort());
    const again = await send(await sessionCookie('abuse-held-count', 'held-count-2'), 100);
    expect(again.status).toBe(401);
    expect(await held()).toHaveLength(MAX_HELD_REQUESTS);

    // An approved hold is carried out once and then gone.
    const approve = await post(`/.stepgate/api/challenges/${ids[1]}/verify`, p.cookie, { method: 'totp', code: await p.code() });
    expect(approve.status).toBe(200);
    const done = await gw(`/.stepgate/challenge/${ids[1]}/continue`, {
      method: 'POST',
      headers: { cookie: p.cookie, origin: 'http://app.test', 'sec-fetch-mode': 'navigate' },
      redirect: 'manual',
    });
    // Forwarded to the origin (which has no project 5001): the origin's own answer to a form, not Stepgate's.
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/projects');
    expect(await held()).toHaveLength(MAX_HELD_REQUESTS - 1);
    expect(await orphanHolds('abuse-held-count')).toBe(0);
  });

  it(
    'a held row lives as long as its challenge plus the approval window, ' +
      'and goes with it: expiry, too many attempts, withdrawn; never dropped over the cap',
    async () => {
      const user = 'abuse-held-life';
      const g = gateOf(user);
      let now = Date.now();
      await runInDurableObject(g, (i) => {
        (i as UserState).now = () => now;
      });
      const hold = async (sid = 'owner') => {
        const id = newId();
        const c = await g.openChallenge({ ...input({ sid }), id, held: `sealed-${id}` });
        if (!c.ok || !c.held) throw new Error('not held');
        return c.challenge;
      };
      const heldIds = async () => (await sqlOf<{ challenge: string }>(user, 'SELECT challenge FROM held')).map((r) => r.challenge);

      // Expiry: the row's expiry is the challenge's plus the approval window; the sweep takes both.
      const a = await hold();
      const [row] = await sqlOf<{ expires_at: number }>(user, `SELECT expires_at FROM held WHERE challenge = '${a.id}'`);
      expect(row!.expires_at).toBe(a.expiresAt + HELD_APPROVAL_WINDOW_MS);
      now += CHALLENGE_TTL_MS;
      expect(await runDurableObjectAlarm(g)).toBe(true);
      expect(await heldIds()).toEqual([]);

      // Too many attempts: the challenge is discarded, and its held request with it.
      const b = await hold();
      for (let i = 0; i < 5; i++) expect(await g.beginAttempt(b.id, 'owner')).toMatchObject({ ok: true });
      now += backoffMs(5) + 1;
      expect(await g.beginAttempt(b.id, 'owner')).toEqual({ ok: false, reason: 'too-many' });
      expect(await heldIds()).toEqual([]);
      await g.unlock();

      // Past MAX_OPEN_CHALLENGES the oldest go, but never one a request is held for: the oldest
      // challenge here is held, so the next oldest (unheld) one is dropped instead.
      const c = await hold();
      const opened: string[] = [];
      for (let i = 0; i < MAX_OPEN_CHALLENGES; i++) {
        now += 6_100; // under the creation limits
        const r = await g.openChallenge(input());
        expect(r.ok).toBe(true);
        if (r.ok) opened.push(r.challenge.id);
      }
      expect(await g.getChallenge(c.id, 'owner')).not.toBeNull();
      expect(await g.getChallenge(opened[0]!, 'attacker')).toBeNull();
      expect(await g.getChallenge(opened[1]!, 'attacker')).not.toBeNull();
      expect(await heldIds()).toEqual([c.id]);
      // It goes with its challenge: withdrawn, its held request is gone too.
      await g.withdrawChallenge(c.id);
      expect(await heldIds()).toEqual([]);

      // Approved: it outlives the challenge for the approval window, then the sweep takes it.
      const d = await hold('approver');
      expect(await g.completeChallenge(d.id, 'approver', ['otp'])).not.toBeNull();
      now = d.expiresAt + 1;
      await runDurableObjectAlarm(g);
      expect(await heldIds()).toEqual([d.id]);
      now = d.expiresAt + HELD_APPROVAL_WINDOW_MS;
      await runDurableObjectAlarm(g);
      expect(await heldIds()).toEqual([]);
      expect(await orphanHolds(user)).toBe(0);
    },
  );
});
