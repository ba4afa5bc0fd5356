/**
 * A challenge the gateway opens is not answerable until its `challenge.issued` is on the record
 * (review: "a challenge whose issue cannot be recorded is withdrawn" had a window). The challenge
 * was answerable from the moment `openChallenge` stored it — the extension's list showed it before
 * `challenge.issued` was written — and if it was approved in that window and the record then
 * failed, `withdrawChallenge` deleted the challenge but not the approval its answer had produced:
 * the DELETE then passed once with no `challenge.issued` on the record. Now the gateway stores it
 * unconfirmed (`live: false`), every reader ignores it, and only `confirmChallenge`, after the
 * record, makes it answerable; a withdrawal deletes it. The fresh step-up (which records no
 * `challenge.issued`) opens answerable challenges directly.
 */
import { createExecutionContext, env, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import { hashRef } from '../../edge/audit/audit-log';
import { listEvents } from '../../edge/audit/audit-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { createGateway } from '../../edge/gateway';
import type { ChallengeInput } from '../../edge/user-state/challenge';
import type { UserState } from '../../edge/user-state/user-state';
import { enrolTotp, ORIGIN, post } from '../support/edge-flow';
import { FaultSwitch, faultyNamespace } from '../support/fault-bindings';

const ring = parseKeyring(env.STEPGATE_KEYS);
const gateOf = (user: string) => env.USER_STATE.get(env.USER_STATE.idFromName(`user:${user}`));
const input = (over: Partial<ChallengeInput> = {}): ChallengeInput => ({
  sid: 'owner',
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

describe('a challenge is answerable only once its issue is on the record', () => {
  it(
    'while challenge.issued is being written it is neither listed nor answerable; ' +
      'when the record fails it is withdrawn and the DELETE is challenged again',
    async () => {
      vi.spyOn(console, 'error').mockImplementation(() => {});
      const sw = new FaultSwitch();
      const e = { ...env, AUDIT_SEQUENCER: faultyNamespace(env.AUDIT_SEQUENCER, sw) };
      const g = createGateway(e as never);
      const send = async (path: string, init: RequestInit = {}) => {
        const ctx = createExecutionContext();
        const res = await g.fetch(new Request(`${ORIGIN}${path}`, init), e, ctx);
        await waitOnExecutionContext(ctx);
        return res;
      };
      const p = await enrolTotp('withdraw-race');
      const path = '/api/projects/15?m=withdraw-race';
      await send('/api/projects?m=warm', { headers: { cookie: p.cookie } }); // the gateway notes its config once

      // The next audit append (challenge.issued) is slow and then fails; later appends go through.
      sw.set({ kind: 'reject', afterMs: 1500, message: 'fault-injected: audit store down' }, (name) => name === 'append');
      const refused = send(path, { method: 'DELETE', headers: { cookie: p.cookie } });
      await vi.waitFor(() => expect(sw.calls).toContain('append'));
      sw.clear();

      // Meanwhile the challenge is stored in the person's Durable Object...
      const stored = await runInDurableObject(gateOf('withdraw-race'), (_i, state) =>
        state.storage.sql.exec<{ id: string; action: string }>('SELECT id, action FROM challenges').toArray(),
      );
      const id = stored.find((r) => (JSON.parse(r.action) as { path: string }).path === '/api/projects/15')?.id;
      expect(id).toBeDefined();
      // ...but the extension's list does not offer it, and it cannot be viewed, answered or denied.
      const list = (await (await send('/.stepgate/api/challenges', { headers: { cookie: p.cookie } })).json()) as {
        challenges: { id: string }[];
      };
      expect(list.challenges.map((c) => c.id)).not.toContain(id);
      expect((await send(`/.stepgate/challenge/${id}`, { headers: { cookie: p.cookie, accept: 'text/html' } })).status).toBe(404);
      const answer = await send(`/.stepgate/api/challenges/${id}/verify`, {
        method: 'POST',
        body: JSON.stringify({ method: 'totp', code: await p.code() }),
        headers: { cookie: p.cookie, origin: ORIGIN, 'content-type': 'application/json' },
      });
      expect(answer.status).toBe(404);
      const deny = await send(`/.stepgate/api/challenges/${id}/deny`, {
        method: 'POST',
        body: '{}',
        headers: { cookie: p.cookie, origin: ORIGIN, 'content-type': 'application/json' },
      });
      expect(deny.status).toBe(404);

      // The original request learns its challenge could not be recorded: 503, challenge withdrawn.
      expect((await refused).status).toBe(503);
      const issued = (
        await listEvents(env.DB, ring, 'default', { user: 'withdraw-race', types: ['challenge.issued'] }, { limit: 50, order: 'asc' })
      ).events.map((x) => x.event);
      const ref = await hashRef(id!);
      expect(issued.filter((x) => x.details?.challenge === ref)).toEqual([]); // never on the record
      expect(
        await runInDurableObject(gateOf('withdraw-race'), (_i, state) =>
          state.storage.sql.exec('SELECT id FROM challenges WHERE id = ?', id!).toArray(),
        ),
      ).toEqual([]);

      // A withdrawn challenge leaves nothing usable: the DELETE is challenged again (401).
      const again = await send(path, { method: 'DELETE', headers: { cookie: p.cookie } });
      expect(again.status).toBe(401);
    },
  );

  it('in the UserState: an unconfirmed challenge is invisible to every reader until confirmed; withdrawn, it is gone', async () => {
    const g = gateOf('unconfirmed-gate');
    const id = newId();
    const opened = await g.openChallenge({ ...input(), live: false, id, held: 'sealed-request' });
    expect(opened).toMatchObject({ ok: true, held: true });

    expect(await g.getChallenge(id, 'owner')).toBeNull();
    expect(await g.getChallenge(id, 'other', true)).toBeNull();
    expect(await g.pendingChallenges('owner')).toEqual([]);
    expect(await g.pendingChallenges('other')).toEqual([]);
    expect(await g.awaitDecision(id, 'owner', 50)).toEqual({ kind: 'gone' });
    expect(await g.beginAttempt(id, 'owner')).toEqual({ ok: false, reason: 'not-found' });
    expect(await g.completeChallenge(id, 'owner', ['otp'])).toBeNull();
    expect(await g.denyChallenge(id, 'owner')).toBeNull();
    expect(await g.consumeApproval('owner', 'd', 'delete-project')).toBeNull();
    expect((await g.failureState()).consecutive).toBe(0); // nothing was attempted

    expect(await g.confirmChallenge(id)).toBe(true);
    expect(await g.getChallenge(id, 'owner')).toMatchObject({ id });
    expect((await g.pendingChallenges('owner')).map((c) => c.id)).toEqual([id]);

    // Withdrawn before confirmation: nothing left, and confirming finds nothing.
    const other = newId();
    await g.openChallenge({ ...input(), live: false, id: other, held: 'sealed-other' });
    await g.withdrawChallenge(other);
    expect(await g.confirmChallenge(other)).toBe(false);
    expect(await g.getChallenge(other, 'owner')).toBeNull();
    const held = await runInDurableObject(g, (_i, state) =>
      state.storage.sql
        .exec<{ challenge: string }>('SELECT challenge FROM held')
        .toArray()
        .map((r) => r.challenge),
    );
    expect(held).toEqual([id]);
  });

  it('challenges stored before the column existed (and any stored without it) stay answerable', async () => {
    const g = gateOf('unconfirmed-legacy');
    await g.openChallenge(input()); // runs the migrations
    const id = newId();
    await runInDurableObject(g, (i, state) => {
      const now = (i as UserState).now();
      state.storage.sql.exec(
        `INSERT INTO challenges (id, sid, rule, bind, factors, max_age, action_digest, action, matched_method, created_at, expires_at)
         VALUES (?, 'owner', 'delete-project', 'action', '["totp"]', 300, 'd', ?, 'DELETE', ?, ?)`,
        id,
        JSON.stringify(input().action),
        now,
        now + 60_000,
      );
    });
    expect(await g.getChallenge(id, 'owner')).toMatchObject({ id });
  });

  it('the fresh step-up (no challenge.issued) opens an answerable challenge at once', async () => {
    const p = await enrolTotp('unconfirmed-factors');
    const r = await post('/.stepgate/api/factors/step-up', p.cookie);
    expect(r.status).toBe(201);
    const { challenge_id } = (await r.json()) as { challenge_id: string };
    const ok = await post(`/.stepgate/api/challenges/${challenge_id}/verify`, p.cookie, { method: 'totp', code: await p.code() });
    expect(ok.status).toBe(200);
  });
});
