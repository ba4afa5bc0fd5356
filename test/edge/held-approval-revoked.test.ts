/**
 * A request held on a prompt whose approval was released a moment before the person was revoked
 * (Workers pool, the person's real Durable Object, the demo origin): it wakes "approved" after the
 * revocation, and must still not pass — the approval came before the revocation. An approval with
 * no revocation after it still carries its request out.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, inject, it } from 'vitest';
import type { UserState } from '../../edge/user-state/user-state';
import { enrolTotp, gw, ORIGIN, type Person } from '../support/edge-flow';

const originUrl = inject('originUrl');
const stateOf = (sub: string) => env.USER_STATE.get(env.USER_STATE.idFromName(`user:${sub}`)) as DurableObjectStub<UserState>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the demo origin received whose URL carries `marker`. */
const seen = async (marker: string) =>
  ((await (await fetch(`${originUrl}/__demo/requests`)).json()) as { url: string }[]).filter((r) => r.url.includes(marker));

/** POST /admin/settings (rule admin-writes, bind "session") as the extension marks it: held while its prompt is answered. */
const heldWrite = (p: Person, marker: string) =>
  gw(`/admin/settings?m=${marker}`, {
    method: 'POST',
    body: '{}',
    headers: { cookie: p.cookie, 'stepgate-extension': '1', 'sec-fetch-mode': 'cors', origin: ORIGIN, 'content-type': 'application/json' },
  });

/** The id of the person's held challenge, once the request waits on it. */
async function heldChallenge(p: Person): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const r = await gw('/.stepgate/api/challenges', { headers: { cookie: p.cookie } });
    const held = ((await r.json()) as { challenges: { id: string; held: boolean }[] }).challenges.find((c) => c.held);
    if (held) return held.id;
    await sleep(20);
  }
  throw new Error('no held challenge');
}

describe('a held request approved just before a revocation', () => {
  it('is refused when it wakes after the revocation, and never reaches the origin', async () => {
    for (let i = 0; i < 3; i++) {
      const p = await enrolTotp(`held-race-${i}`);
      const marker = `held-race-${i}-x`;
      const held = heldWrite(p, marker);
      const id = await heldChallenge(p);
      const state = stateOf(p.user);
      // The approval is released, and the revocation lands before the held request goes on: both
      // in one turn of the person's object, so the woken request's next call to it sees the revocation.
      await runInDurableObject(state, async (object) => {
        const instance = object as unknown as UserState;
        await Promise.all([instance.release(id, { kind: 'approved', amr: ['otp'] }), instance.revokeEverything(Date.now())]);
      });
      const res = await held;
      expect([i, res.status]).toEqual([i, 401]);
      expect(res.headers.get('set-cookie') ?? '').not.toMatch(/stepgate/i);
      expect(await seen(marker)).toEqual([]);
    }
  });

  it('an approval with no revocation after it still carries its request out', async () => {
    const p = await enrolTotp('held-approved');
    const held = heldWrite(p, 'held-approved-x');
    const id = await heldChallenge(p);
    await stateOf(p.user).release(id, { kind: 'approved', amr: ['otp'] });
    expect((await held).status).toBe(200);
    expect(await seen('held-approved-x')).toHaveLength(1);
  });
});
