/**
 * What the step-up page learns before it offers anything (`GET /.stepgate/api/challenges/:id/how-to-answer`)
 * and after a wrong code (`attempts_left`), through the real Worker, Durable Object and D1: only the
 * ways the person has, strongest first; the tries left, counting down to a closed challenge; nothing
 * for another session or a made-up id; and reading it changes nothing.
 */
import { exports } from 'cloudflare:workers';
import { generate } from 'otplib';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HowToAnswer } from '../../shared/how-to-answer';
import { sessionCookie } from '../support/session';

const worker = (exports as unknown as { default: Fetcher }).default;
const ORIGIN = 'http://app.test';
const gw = (path: string, init: RequestInit = {}) => worker.fetch(new Request(`${ORIGIN}${path}`, init));
const api = (path: string, cookie: string, body: unknown = {}) =>
  gw(path, { method: 'POST', body: JSON.stringify(body), headers: { cookie, origin: ORIGIN, 'content-type': 'application/json' } });
const now = () => Math.floor(Date.now() / 1000);
const challenge = async (cookie: string, project: number) =>
  ((await (await gw(`/api/projects/${project}?m=hta`, { method: 'DELETE', headers: { cookie } })).json()) as { challenge_id: string })
    .challenge_id;
const howToAnswer = async (id: string, cookie: string) => gw(`/.stepgate/api/challenges/${id}/how-to-answer`, { headers: { cookie } });

let ursula = '';
let secret = '';
beforeAll(async () => {
  ursula = await sessionCookie('ursula-hta', 'ursula-hta-1');
  const start = await api('/.stepgate/api/factors/totp', ursula);
  const enrol = (await start.json()) as { id: string; secret: string };
  secret = enrol.secret;
  const confirmed = await api(`/.stepgate/api/factors/totp/${enrol.id}/confirm`, ursula, {
    code: await generate({ secret, epoch: now() - 30 }),
  });
  expect(confirmed.status).toBe(200);
});

/** A six-digit code none of the accepted time steps would take. */
const wrong = async () => {
  const valid = new Set(await Promise.all([-30, 0, 30].map((d) => generate({ secret, epoch: now() + d }))));
  return ['000000', '111111', '222222'].find((c) => !valid.has(c))!;
};

describe('how a person can answer', () => {
  it('offers only the ways they have, strongest first: an app code and recovery codes, no passkey', async () => {
    const id = await challenge(ursula, 91);
    const res = await howToAnswer(id, ursula);
    expect(res.status).toBe(200);
    expect((await res.json()) as HowToAnswer).toEqual({
      factors: ['totp', 'recovery'],
      allowed: ['webauthn', 'totp', 'recovery'],
      has_factors: true,
      attempts_left: 5,
      retry_at: null,
      locked_out: false,
    });
  });

  it('tells someone with nothing set up that they have nothing, without opening anything for them', async () => {
    const nobody = await sessionCookie('nobody-hta', 'nobody-hta-1');
    const id = await challenge(nobody, 92);
    const state = (await (await howToAnswer(id, nobody)).json()) as HowToAnswer;
    expect(state).toMatchObject({ factors: [], has_factors: false, attempts_left: 5 });
    expect(((await (await gw('/.stepgate/api/factors', { headers: { cookie: nobody } })).json()) as { totp: unknown[] }).totp).toEqual([]);
  });

  it('answers 404 for another session’s challenge and for a made-up id, and 401 for no session', async () => {
    const id = await challenge(ursula, 93);
    const otherSession = await sessionCookie('ursula-hta', 'ursula-hta-2');
    expect((await howToAnswer(id, otherSession)).status).toBe(404);
    expect(((await (await howToAnswer('x'.repeat(22), ursula)).json()) as { code: string }).code).toBe('ERR_CHALLENGE_NOT_FOUND');
    expect((await howToAnswer('not an id', ursula)).status).toBe(404);
    expect((await gw(`/.stepgate/api/challenges/${id}/how-to-answer`)).status).toBe(401);
  });

  it('counts the tries left down with each wrong code; reading them costs none', async () => {
    const id = await challenge(ursula, 94);
    for (let i = 0; i < 3; i++) expect(((await (await howToAnswer(id, ursula)).json()) as HowToAnswer).attempts_left).toBe(5);
    const lefts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await api(`/.stepgate/api/challenges/${id}/verify`, ursula, { method: 'totp', code: await wrong() });
      expect(res.status).toBe(401);
      lefts.push(((await res.json()) as { attempts_left: number }).attempts_left);
      // The fifth failure in a row makes the person wait a second: wait it out for the next try.
      const { retry_at } = (await (await howToAnswer(id, ursula)).json()) as HowToAnswer;
      if (retry_at) await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(retry_at) - Date.now()) + 50));
    }
    expect(lefts).toEqual([4, 3, 2, 1, 0]);
    expect(((await (await howToAnswer(id, ursula)).json()) as HowToAnswer).attempts_left).toBe(0);
    // A further answer, even the right code, is refused: the challenge is closed, with no tries left.
    const after = await api(`/.stepgate/api/challenges/${id}/verify`, ursula, {
      method: 'totp',
      code: await generate({ secret, epoch: now() }),
    });
    expect(after.status).toBe(429);
    expect(await after.json()).toMatchObject({ code: 'ERR_LOCKED_OUT', attempts_left: 0 });
  });
});
