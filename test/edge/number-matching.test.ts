/**
 * Number matching, attacked: a request made in one browser is approved from another session of the
 * same person (the extension's browser) only with the number shown where it was made, typed there.
 * A wrong number is refused without revealing the right one and counts; guessing is bounded per
 * challenge (the last wrong number denies it, and the page waiting on it is answered at once), also
 * under concurrency; the number is never in anything the approving session receives.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { MATCH_NUMBER_MAX, MATCH_NUMBER_MIN, matchNumber } from '../../edge/user-state/challenge';
import { MAX_WRONG_NUMBERS } from '../../edge/user-state/number-match';
import { enrolTotp, gw, ORIGIN, post, type Person } from '../support/edge-flow';
import { sessionCookie } from '../support/session';

const EXT = 'chrome-extension://leldacdejfbkleoogdbophfdkoapmfbd'; // WEBAUTHN_ORIGINS in wrangler.toml
const gateOf = (user: string) => env.USER_STATE.get(env.USER_STATE.idFromName(`user:${user}`));
const rows = <T>(user: string, query: string, ...args: unknown[]) =>
  runInDurableObject(gateOf(user), (_i, state) => state.storage.sql.exec(query, ...args).toArray() as T[]);

/** The person in two sessions: `laptop` makes the request (no extension), `phone` approves (the extension's browser). */
async function twoSessions(user: string): Promise<{ laptop: Person; phone: Person }> {
  const laptop = await enrolTotp(user, `${user}-laptop`);
  return { laptop, phone: { ...laptop, cookie: await sessionCookie(user, `${user}-phone`) } };
}

/** A one-time challenge made in the laptop's session: its id and the number the laptop is shown. */
async function requestDelete(laptop: Person, path: string): Promise<{ id: string; number: number }> {
  const r = await gw(path, { method: 'DELETE', headers: { cookie: laptop.cookie } });
  expect(r.status).toBe(401);
  const { challenge_id, number } = (await r.json()) as { challenge_id: string; number: number };
  return { id: challenge_id, number };
}

const verify = (p: Person, id: string, body: Record<string, unknown>) =>
  post(`/.stepgate/api/challenges/${id}/verify`, p.cookie, body, { origin: EXT });
/** A number that is not `n`, in range. */
const not = (n: number, k = 1) => MATCH_NUMBER_MIN + ((n - MATCH_NUMBER_MIN + k) % (MATCH_NUMBER_MAX - MATCH_NUMBER_MIN + 1));

describe('number matching', () => {
  it('numbers are three digits, uniform enough that none is favoured', () => {
    const seen = new Map<number, number>();
    for (let i = 0; i < 9000; i++) {
      const n = matchNumber();
      expect(Number.isInteger(n) && n >= 100 && n <= 999).toBe(true);
      seen.set(n, (seen.get(n) ?? 0) + 1);
    }
    // 900 values, 10 draws each on average: every value is drawn at most a few times that.
    expect(Math.max(...seen.values())).toBeLessThan(40);
    expect(seen.size).toBeGreaterThan(800);
  });

  it('the approving session never receives the number: not in the list, the signed prompt, or the challenge itself', async () => {
    const { laptop, phone } = await twoSessions('nm-see');
    const { id, number } = await requestDelete(laptop, '/api/projects/71?m=nm-see');
    const list = (await (await gw('/.stepgate/api/challenges', { headers: { cookie: phone.cookie } })).json()) as {
      challenges: (Record<string, unknown> & { id: string; prompt: string })[];
    };
    const listed = list.challenges.find((c) => c.id === id)!;
    expect(listed).toMatchObject({ other_session: true, bind: 'action' });
    expect(listed).not.toHaveProperty('number');
    expect(listed).not.toHaveProperty('number_choices');
    const jwks = (await (await gw('/.well-known/stepgate/prompt-jwks.json')).json()) as Parameters<typeof createLocalJWKSet>[0];
    const { payload } = await jwtVerify(listed.prompt, createLocalJWKSet(jwks), { audience: 'app.test' });
    expect(Object.keys(payload).filter((k) => /number|choice/.test(k))).toEqual([]);
    // The challenge's detail (with its number) is for the session that made the request only.
    expect((await gw(`/.stepgate/api/challenges/${id}`, { headers: { cookie: phone.cookie } })).status).toBe(404);
    const own = (await (await gw(`/.stepgate/api/challenges/${id}`, { headers: { cookie: laptop.cookie } })).json()) as { number: number };
    expect(own.number).toBe(number);
  });

  it('a wrong number is refused without the right one, counts as a failed attempt, and says how many tries are left', async () => {
    const { laptop, phone } = await twoSessions('nm-wrong');
    const { id, number } = await requestDelete(laptop, '/api/projects/72?m=nm-wrong');
    const r = await verify(phone, id, { method: 'totp', code: await phone.code(), number: not(number) });
    expect(r.status).toBe(400);
    const body = await r.text();
    expect(JSON.parse(body)).toMatchObject({ code: 'ERR_NUMBER_MISMATCH', tries_left: MAX_WRONG_NUMBERS - 1 });
    expect(body).not.toContain(String(number));
    // Counted: on the challenge (an attempt, a wrong number) and on the person (a failure toward the back-off).
    expect(await rows(laptop.user, 'SELECT attempts, wrong_numbers FROM challenges WHERE id = ?', id)).toEqual([
      { attempts: 1, wrong_numbers: 1 },
    ]);
    expect(await rows(laptop.user, 'SELECT consecutive FROM failures')).toEqual([{ consecutive: 1 }]);
    // No number at all from another session is a wrong number too.
    const none = await verify(phone, id, { method: 'totp', code: '000000' });
    expect(await none.json()).toMatchObject({ code: 'ERR_NUMBER_MISMATCH', tries_left: MAX_WRONG_NUMBERS - 2 });
    // The right number, within the bound, approves: the laptop's identical request passes once.
    const ok = await verify(phone, id, { method: 'totp', code: await phone.code(), number });
    expect(ok.status, await ok.clone().text()).toBe(200);
    expect((await gw('/api/projects/72?m=nm-wrong', { method: 'DELETE', headers: { cookie: laptop.cookie } })).status).toBe(200);
  });

  it('malformed numbers (two digits, four, text) are a 400 that counts nothing and changes nothing', async () => {
    const { laptop, phone } = await twoSessions('nm-bad');
    const { id } = await requestDelete(laptop, '/api/projects/73?m=nm-bad');
    for (const number of [42, 1000, -5, 427.5, '427', null]) {
      const r = await verify(phone, id, { method: 'totp', code: '000000', number });
      expect(r.status).toBe(400);
      expect(await r.json()).toMatchObject({ code: 'ERR_BAD_REQUEST' });
    }
    expect(await rows(laptop.user, 'SELECT attempts, wrong_numbers FROM challenges WHERE id = ?', id)).toEqual([
      { attempts: 0, wrong_numbers: 0 },
    ]);
    expect(await rows(laptop.user, 'SELECT consecutive FROM failures')).toEqual([]);
  });

  it(`wrong number ${MAX_WRONG_NUMBERS} denies it: the waiting page is answered at once; the right number is too late`, async () => {
    const { laptop, phone } = await twoSessions('nm-deny');
    // The laptop's page waits on its request (held, as for a browser with the extension).
    const waiting = gw('/api/projects/74?m=nm-deny', {
      method: 'DELETE',
      headers: { cookie: laptop.cookie, 'stepgate-extension': '1', 'sec-fetch-mode': 'cors', origin: ORIGIN },
    });
    let id = '';
    for (let i = 0; i < 100 && !id; i++) {
      const list = (await (await gw('/.stepgate/api/challenges', { headers: { cookie: phone.cookie } })).json()) as {
        challenges: { id: string; held: boolean }[];
      };
      id = list.challenges.find((c) => c.held)?.id ?? '';
      if (!id) await new Promise((r) => setTimeout(r, 20));
    }
    const number = (await rows<{ number: number }>(laptop.user, 'SELECT number FROM challenges WHERE id = ?', id))[0]!.number;
    const t0 = Date.now();
    const answers = [];
    for (let k = 1; k <= MAX_WRONG_NUMBERS; k++)
      answers.push(await verify(phone, id, { method: 'totp', code: '000000', number: not(number, k) }));
    expect(answers.map((r) => r.status)).toEqual([400, 400, 403]);
    expect(await answers[2]!.json()).toMatchObject({ code: 'ERR_STEP_UP_DENIED', tries_left: 0 });
    const page = await waiting;
    expect(page.status).toBe(403);
    expect(await page.json()).toMatchObject({ code: 'ERR_STEP_UP_DENIED' });
    expect(Date.now() - t0).toBeLessThan(5000);
    // Gone: the right number now finds nothing, and nothing was forwarded.
    expect((await verify(phone, id, { method: 'totp', code: await phone.code(), number })).status).toBe(404);
    expect(await rows(laptop.user, 'SELECT id FROM challenges WHERE id = ?', id)).toEqual([]);
    expect(await rows(laptop.user, 'SELECT challenge FROM held WHERE challenge = ?', id)).toEqual([]);
  });

  it('concurrent wrong numbers cannot exceed the bound: of 12 racing guesses exactly 3 are checked; the challenge is gone', async () => {
    const { laptop, phone } = await twoSessions('nm-race');
    const { id, number } = await requestDelete(laptop, '/api/projects/75?m=nm-race');
    const raced = await Promise.all(
      Array.from({ length: 12 }, (_, k) => verify(phone, id, { method: 'totp', code: '000000', number: not(number, k + 1) })),
    );
    const codes = await Promise.all(raced.map(async (r) => ((await r.json()) as { code: string }).code));
    expect(codes.filter((c) => c === 'ERR_NUMBER_MISMATCH')).toHaveLength(MAX_WRONG_NUMBERS - 1);
    expect(codes.filter((c) => c === 'ERR_STEP_UP_DENIED')).toHaveLength(1);
    expect(codes.filter((c) => c === 'ERR_CHALLENGE_NOT_FOUND')).toHaveLength(12 - MAX_WRONG_NUMBERS);
    // Only the checked guesses counted toward the person's back-off.
    expect(await rows(laptop.user, 'SELECT consecutive FROM failures')).toEqual([{ consecutive: MAX_WRONG_NUMBERS }]);
    expect((await verify(phone, id, { method: 'totp', code: await phone.code(), number })).status).toBe(404);
  });

  it('the session that made the request answers its own challenge without any number', async () => {
    const { laptop } = await twoSessions('nm-own');
    const { id } = await requestDelete(laptop, '/api/projects/76?m=nm-own');
    expect(
      (await post(`/.stepgate/api/challenges/${id}/verify`, laptop.cookie, { method: 'totp', code: await laptop.code() })).status,
    ).toBe(200);
  });

  it('a challenge stored before typed numbers (two digits, three choices) is read safely: never matched from another session', async () => {
    const { laptop, phone } = await twoSessions('nm-old');
    const { id } = await requestDelete(laptop, '/api/projects/77?m=nm-old');
    await rows(laptop.user, "UPDATE challenges SET number = 42, choices = '[17,42,86]' WHERE id = ?", id);
    const list = (await (await gw('/.stepgate/api/challenges', { headers: { cookie: phone.cookie } })).json()) as {
      challenges: Record<string, unknown>[];
    };
    expect(list.challenges.find((c) => c.id === id)).not.toHaveProperty('number_choices');
    // The old number cannot be sent (three digits only), so it is never approved from another session…
    expect((await verify(phone, id, { method: 'totp', code: '000000', number: 42 })).status).toBe(400);
    expect((await verify(phone, id, { method: 'totp', code: '000000', number: 420 })).status).toBe(400);
    // …and its own session still answers it.
    expect(
      (await post(`/.stepgate/api/challenges/${id}/verify`, laptop.cookie, { method: 'totp', code: await laptop.code() })).status,
    ).toBe(200);
  });
});
