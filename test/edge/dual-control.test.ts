/**
 * Dual control on the demo's rule `delete-production-project` (DELETE /api/projects/4 needs one of
 * the admins to approve, after the requester's own step-up), through the real gateway, D1, the
 * people's Durable Objects and the demo origin: the exact request waits, is approved by someone
 * else, and is forwarded exactly once with an assertion naming both — however the requester tries
 * to approve it themselves, and however many requests race.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { listEvents } from '../../edge/audit/audit-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import type { ApprovalJson } from '../../shared/wire-shapes';
import { callWith } from './admin-callers';
import {
  type Actor,
  actor,
  approvalAs,
  approveAs,
  askForApproval,
  claimsOf,
  type Clocked,
  clockedGateway,
  otherSession,
  seen,
  send,
} from './dual-control-harness';
import { seedRole } from './seed-roles';

const ring = parseKeyring(env.STEPGATE_KEYS);
const eventsOf = async (type: string, approval: string) =>
  (await listEvents(env.DB, ring, 'default', { types: [type as never] }, { limit: 500, order: 'asc' })).events.filter(
    (e) => e.event.details?.approval === approval,
  );

let g: Clocked;
let alice: Actor;
let bob: Actor;
let carol: Actor;
let dave: Actor;

beforeAll(async () => {
  g = clockedGateway();
  alice = await actor(g, 'dc-alice');
  bob = await actor(g, 'dc-bob');
  carol = await actor(g, 'dc-carol');
  dave = await actor(g, 'dc-dave');
  await seedRole('dc-bob', 'admin');
  await seedRole('dc-carol', 'admin');
  // The requester holds both roles that could approve: neither lets her approve her own request.
  await seedRole('dc-alice', 'admin');
  await seedRole('dc-alice', 'owner');
});

describe('a request waiting for an admin', () => {
  it('waits (202, nothing forwarded), is approved by another admin, and is forwarded exactly once naming both', async () => {
    const path = '/api/projects/4?m=dc-once';
    const id = await askForApproval(g, alice, 'DELETE', path);
    expect(await seen('m=dc-once')).toEqual([]);
    // Asked again: the same request still waits; no second one.
    const again = await send(g, alice, 'DELETE', path);
    expect(again.status).toBe(202);
    expect(again.headers.get('content-type')).toContain('application/problem+json');
    expect(again.headers.get('location')).toBe(`/.stepgate/api/approvals/${id}`);
    expect(await again.json()).toMatchObject({ code: 'ERR_APPROVAL_PENDING', approval_id: id, required: 'one of the admins' });

    const view = await approvalAs(g, bob, id);
    expect(view).toMatchObject({
      state: 'pending',
      requester: 'dc-alice',
      rule: 'delete-production-project',
      action: { method: 'DELETE', path: '/api/projects/4' },
    });
    expect(view.you).toMatchObject({ requester: false, can_approve: true });
    expect(view.required).toEqual([{ from: 'admins', kind: 'role', count: 1, have: 0 }]);

    const ok = await approveAs(g, bob, id);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { approval: ApprovalJson }).approval).toMatchObject({
      state: 'approved',
      votes: [{ person: 'dc-bob', vote: 'approve' }],
    });

    // Five identical requests race: exactly one is forwarded; the others find nothing approved.
    const raced = await Promise.all(Array.from({ length: 5 }, () => send(g, alice, 'DELETE', path)));
    // The others found it approved but already taken (409), or found nothing waiting any more (a new step-up: 401).
    const statuses = raced.map((r) => r.status);
    expect(statuses.filter((s) => s !== 409 && s !== 401)).toHaveLength(1);
    const forwarded = await seen('m=dc-once');
    expect(forwarded).toHaveLength(1);
    const claims = claimsOf(forwarded[0]!.headers['stepgate-assertion']!);
    expect(claims.sub).toBe('dc-alice');
    expect(claims.rule).toBe('delete-production-project');
    expect(claims.approval?.id).toBe(id);
    expect(claims.approval?.approvers.map((a) => a.sub)).toEqual(['dc-bob']);
    expect(claims.approval?.approvers[0]?.amr).toContain('otp');
    expect((await approvalAs(g, alice, id)).state).toBe('carried-out');
    expect(await eventsOf('approval.carried_out', id)).toHaveLength(1);
    const approved = await eventsOf('approval.approved', id);
    expect(approved).toHaveLength(1);
    expect(approved[0]!.event.actor).toBe('dc-bob');
    expect(String(approved[0]!.event.details?.signature)).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('the requester never approves their own request: not from this session, another session, or as owner and admin', async () => {
    const id = await askForApproval(g, alice, 'DELETE', '/api/projects/4?m=dc-self');
    for (const who of [alice, await otherSession(alice, 'dc-alice-phone')]) {
      const r = await approveAs(g, who, id);
      expect(r.status).toBe(403);
      expect(await r.json()).toMatchObject({ code: 'ERR_APPROVAL_SELF' });
    }
    // Nor by denying it in someone else's name, or by a decision without a session.
    const bare = await g.on(`http://app.test/.stepgate/api/approvals/${id}/step-up`, {
      method: 'POST',
      headers: { origin: 'http://app.test', 'content-type': 'application/json', authorization: 'Bearer sgt_not-a-session' },
      body: '{}',
    });
    expect(bare.status).toBeGreaterThanOrEqual(400);
    const view = await approvalAs(g, bob, id);
    expect(view).toMatchObject({ state: 'pending', votes: [] });
    expect((await approvalAs(g, alice, id)).you).toMatchObject({ requester: true, can_approve: false });
    expect(await eventsOf('approval.refused', id)).toHaveLength(2);
    expect(await seen('m=dc-self')).toEqual([]);
  });

  it('someone who is not an admin cannot approve, or even see the request', async () => {
    const id = await askForApproval(g, alice, 'DELETE', '/api/projects/4?m=dc-dave');
    const r = await approveAs(g, dave, id);
    expect(r.status).toBe(403);
    expect(await r.json()).toMatchObject({ code: 'ERR_APPROVAL_NOT_ELIGIBLE' });
    const look = await callWith(g.on, dave.plain, dave.host, 'GET', `/.stepgate/api/approvals/${id}`);
    expect(look.status).toBe(404);
    const list = (await (await callWith(g.on, dave.plain, dave.host, 'GET', '/.stepgate/api/approvals')).json()) as {
      awaiting_you: unknown[];
    };
    expect(list.awaiting_you).toEqual([]);
  });

  it('two admins approving at the same instant reach the quorum once, and the request is forwarded once', async () => {
    const id = await askForApproval(g, alice, 'DELETE', '/api/projects/4?m=dc-race');
    const opened = await Promise.all(
      [bob, carol].map(async (who) => ({
        who,
        res: await callWith(g.on, who.plain, who.host, 'POST', `/.stepgate/api/approvals/${id}/step-up`, {}),
      })),
    );
    const challenges = await Promise.all(
      opened.map(async ({ who, res }) => ({ who, id: ((await res.json()) as { challenge_id: string }).challenge_id })),
    );
    const { generate } = await import('otplib');
    g.tick();
    const codes = await Promise.all(challenges.map(({ who }) => generate({ secret: who.secret, epoch: Math.floor(g.now() / 1000) })));
    const answers = await Promise.all(
      challenges.map(({ who, id: cid }, i) =>
        callWith(g.on, who.plain, who.host, 'POST', `/.stepgate/api/challenges/${cid}/verify`, { method: 'totp', code: codes[i] }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(await eventsOf('approval.quorum_reached', id)).toHaveLength(1);
    const raced = await Promise.all(Array.from({ length: 4 }, () => send(g, alice, 'DELETE', '/api/projects/4?m=dc-race')));
    // One went to the origin (which may answer 404: an earlier test deleted the project); the others were refused.
    expect(raced.filter((r) => r.status !== 409 && r.status !== 401)).toHaveLength(1);
    expect(await seen('m=dc-race')).toHaveLength(1);
  });

  it('the requester can cancel; then nobody can approve it and nothing is forwarded', async () => {
    const id = await askForApproval(g, alice, 'DELETE', '/api/projects/4?m=dc-cancel');
    const cancelled = await callWith(g.on, alice.plain, alice.host, 'POST', `/.stepgate/api/approvals/${id}/cancel`, {});
    expect(cancelled.status).toBe(200);
    expect(await cancelled.json()).toMatchObject({ state: 'cancelled' });
    const late = await approveAs(g, bob, id);
    expect(late.status).toBe(409);
    expect(await late.json()).toMatchObject({ code: 'ERR_APPROVAL_CLOSED' });
    // Bob cannot cancel it for her (it is not his).
    const notHis = await callWith(g.on, bob.plain, bob.host, 'POST', `/.stepgate/api/approvals/${id}/cancel`, {});
    expect(notHis.status).toBe(404);
    expect((await send(g, alice, 'DELETE', '/api/projects/4?m=dc-cancel')).status).toBe(401);
    expect(await seen('m=dc-cancel')).toEqual([]);
  });
});
