/**
 * One token, one session (found by an adversarial review): the per-session challenge limit (10 a
 * minute) is meant to leave a person's own 30 a minute out of reach of one stolen session. But when
 * the app's session JWT has no `sid` or `jti` claim, Stepgate's session id is a hash of the token's
 * *spelling* (`tok:<token>`), and jose accepts many spellings of one token: ASCII whitespace
 * anywhere in the signature segment (base64 decoding skips it; the cookie value is only trimmed at
 * its ends) and the unused low bits of its last character. Every spelling is a new "session": one
 * stolen token opens the person's whole 30 a minute, and the person's own step-ups then get 429
 * ERR_TOO_MANY_CHALLENGES for as long as the attacker keeps going (30 requests a minute). Stepgate
 * now accepts only the one canonical spelling of a compact JWS.
 */
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { MAX_CHALLENGES_PER_SESSION_PER_MINUTE, MAX_CHALLENGES_PER_USER_PER_MINUTE } from '../../edge/user-state/limits';
import { gw } from '../support/edge-flow';
import { TEST_JWT_SECRET } from '../support/session';

/** An app session without `sid`/`jti` (Stepgate documents this: the session handle is then the token). */
const plainSession = (user: string) =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user)
    .setIssuer('stepgate-demo')
    .setAudience('stepgate-demo')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(TEST_JWT_SECRET));

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Spellings of one token that verify alike: the signature's unused low bits, and a space inside it. */
function respellings(token: string, n: number): string[] {
  const [h, p, s] = token.split('.') as [string, string, string];
  const last = B64URL.indexOf(s.at(-1)!);
  const out = [0, 1, 2, 3].map((bits) => `${h}.${p}.${s.slice(0, -1)}${B64URL[(last & ~3) | bits]}`).filter((t) => t !== token);
  for (let k = 1; out.length < n; k++) out.push(`${h}.${p}.${s.slice(0, k)} ${s.slice(k)}`);
  return out.slice(0, n);
}

describe('one stolen session token is one Stepgate session', () => {
  it('a respelling of the token is refused', async () => {
    const token = await plainSession('respelled-a');
    const [other] = respellings(token, 1);
    const r = await gw('/admin/settings', {
      method: 'POST',
      body: 'theme=x',
      headers: { cookie: `demo_session=${token}`, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(r.status).toBe(401);
    const { challenge_id } = (await r.json()) as { challenge_id: string };
    const list = await gw('/.stepgate/api/challenges', { headers: { cookie: `demo_session=${other}` } });
    expect([400, 401]).toContain(list.status);
    // The token as issued still lists its challenge.
    const own = await gw('/.stepgate/api/challenges', { headers: { cookie: `demo_session=${token}` } });
    expect(((await own.json()) as { challenges: { id: string }[] }).challenges.map((c) => c.id)).toContain(challenge_id);
  });

  it(`one token never opens more than ${MAX_CHALLENGES_PER_SESSION_PER_MINUTE} challenges a minute, however it is spelled`, async () => {
    const victimToken = await plainSession('respelled-victim');
    // The attacker holds only the victim's token, and spells it 30 ways.
    const results = [];
    for (const [i, t] of respellings(victimToken, MAX_CHALLENGES_PER_USER_PER_MINUTE).entries()) {
      results.push((await gw(`/api/projects/${i + 1}?m=respelled`, { method: 'DELETE', headers: { cookie: `demo_session=${t}` } })).status);
    }
    const opened = results.filter((s) => s === 401).length;
    // Meant: at most 10 from one session, the rest 429.
    expect(opened).toBeLessThanOrEqual(MAX_CHALLENGES_PER_SESSION_PER_MINUTE);
  });

  it('the real person (same token, as the browser sends it) still gets a challenge after the attacker’s burst', async () => {
    const victimToken = await plainSession('respelled-victim-2');
    for (const [i, t] of respellings(victimToken, MAX_CHALLENGES_PER_USER_PER_MINUTE).entries()) {
      await gw(`/api/projects/${i + 1}?m=respelled-2`, { method: 'DELETE', headers: { cookie: `demo_session=${t}` } });
    }
    const mine = await gw('/api/projects/77', { method: 'DELETE', headers: { cookie: `demo_session=${victimToken}` } });
    expect(mine.status).toBe(401);
  });
});
