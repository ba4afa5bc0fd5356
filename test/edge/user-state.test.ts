/** UserState: challenges are single-writer, session-bound, expire after five minutes and are capped per user. */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { CHALLENGE_TTL_MS, type ChallengeInput, MAX_OPEN_CHALLENGES } from '../../edge/user-state/challenge';
import { MAX_CHALLENGES_PER_USER_PER_MINUTE } from '../../edge/user-state/limits';
import type { UserState } from '../../edge/user-state/user-state';

const input = (over: Partial<ChallengeInput> = {}): ChallengeInput => ({
  sid: 'session-1',
  rule: 'delete-project',
  bind: 'action',
  factors: ['webauthn'],
  maxAgeSeconds: 300,
  actionDigest: 'digest',
  action: { method: 'DELETE', host: 'app.test', path: '/api/projects/1', query: '', bodySha256: '' },
  matchedMethod: 'DELETE',
  ...over,
});
const gate = (name: string) => env.USER_STATE.get(env.USER_STATE.idFromName(name));

describe('UserState challenges', () => {
  it('issues unguessable ids and returns a challenge only to its own session', async () => {
    const g = gate('user:ug-1');
    const a = await g.createChallenge(input());
    const b = await g.createChallenge(input());
    expect(a.id).toMatch(/^[\w-]{22}$/);
    expect(a.id).not.toBe(b.id);
    expect(await g.getChallenge(a.id, 'session-1')).toMatchObject({ id: a.id, rule: 'delete-project', actionDigest: 'digest' });
    expect(await g.getChallenge(a.id, 'session-2')).toBeNull();
    expect(await gate('user:someone-else').getChallenge(a.id, 'session-1')).toBeNull();
  });

  it('expires challenges after five minutes, and the alarm sweeps them from storage', async () => {
    const g = gate('user:ug-2');
    let now = Date.now();
    await runInDurableObject(g, (instance) => {
      (instance as UserState).now = () => now;
    });
    const ch = await g.createChallenge(input());
    expect(ch.expiresAt - ch.createdAt).toBe(CHALLENGE_TTL_MS);
    now += CHALLENGE_TTL_MS - 1;
    expect(await g.getChallenge(ch.id, 'session-1')).not.toBeNull();
    now += 1;
    expect(await g.getChallenge(ch.id, 'session-1')).toBeNull();
    expect(await runDurableObjectAlarm(g)).toBe(true);
    const left = await runInDurableObject(g, (_i, state) => state.storage.sql.exec('SELECT COUNT(*) AS n FROM challenges').one().n);
    expect(left).toBe(0);
  });

  it(`keeps at most ${MAX_OPEN_CHALLENGES} open challenges per user, dropping the oldest`, async () => {
    const g = gate('user:ug-3');
    let t = Date.now();
    await runInDurableObject(g, (instance) => {
      (instance as UserState).now = () => (t += 6_100); // under the creation limit of 10 a minute per session
    });
    const ids: string[] = [];
    for (let i = 0; i < MAX_OPEN_CHALLENGES + 5; i++) ids.push((await g.createChallenge(input())).id);
    const n = await runInDurableObject(g, (_i, state) => state.storage.sql.exec('SELECT COUNT(*) AS n FROM challenges').one().n);
    expect(n).toBe(MAX_OPEN_CHALLENGES);
    expect(await g.getChallenge(ids[0]!, 'session-1')).toBeNull();
    expect(await g.getChallenge(ids.at(-1)!, 'session-1')).not.toBeNull();
  });

  it(
    `serializes concurrent creation: 50 parallel challenges from 5 sessions, ` +
      `exactly the person's ration (${MAX_CHALLENGES_PER_USER_PER_MINUTE}) of distinct rows`,
    async () => {
      const g = gate('user:ug-4');
      const made = await Promise.all(Array.from({ length: 50 }, (_, i) => g.openChallenge(input({ sid: `session-${i % 5}` }))));
      const ids = made.flatMap((m) => (m.ok ? [m.challenge.id] : []));
      expect(new Set(ids).size).toBe(MAX_CHALLENGES_PER_USER_PER_MINUTE);
      expect(made.filter((m) => !m.ok)).toEqual(
        Array(50 - MAX_CHALLENGES_PER_USER_PER_MINUTE).fill(expect.objectContaining({ reason: 'challenge-rate-limit', limit: 'person' })),
      );
      const n = await runInDurableObject(g, (_i, state) => state.storage.sql.exec('SELECT COUNT(*) AS n FROM challenges').one().n);
      expect(n).toBe(MAX_CHALLENGES_PER_USER_PER_MINUTE);
    },
  );
});
