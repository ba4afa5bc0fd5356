/**
 * Dual control fails closed when the audit log does (a D1 trigger refuses the event's insert): an
 * approval that is not on the record never counts, a quorum that is not on the record is never
 * carried out, a carrying out that is not on the record forwards nothing and can be tried again, and
 * an expiry whose record failed is written by the next sweep.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createOrg } from '../../edge/admin/org-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import { callWith } from './admin-callers';
import { type Actor, actor, approvalAs, approveAs, askForApproval, type Clocked, clockedGateway, seen, send } from './dual-control-harness';
import { seedApp } from './seed-apps';
import { refuseAudit } from '../support/audit-faults';
import { listEvents } from '../../edge/audit/audit-store';

const ring = parseKeyring(env.STEPGATE_KEYS);
const HOST = 'dc-faults.test';
const POLICY = {
  version: 1,
  rules: [
    {
      id: 'two',
      match: { methods: ['POST'], path: '/api/two/*' },
      require: { factors: ['totp'], bind: 'action', approval: { approvers: [{ from: { people: ['bob', 'carol', 'dave'] }, count: 2 }] } },
    },
    {
      id: 'one',
      match: { methods: ['POST'], path: '/api/one/*' },
      require: { factors: ['totp'], bind: 'action', approval: { approvers: [{ from: { people: ['bob'] }, count: 1 }], expires: '5m' } },
    },
  ],
};

/** Audit events of `type` cannot be recorded until `drop`. */
const auditRefuses = (type: string) => refuseAudit(`dcf_${type.replace(/\W/g, '_')}`, `NEW.type = '${type}'`);

const eventCount = async (type: string, approval: string) => {
  return (await listEvents(env.DB, ring, 'default', { types: [type as never] }, { limit: 500, order: 'asc' })).events.filter(
    (e) => e.event.details?.approval === approval,
  ).length;
};

let g: Clocked;
const p: Record<string, Actor> = {};

beforeAll(async () => {
  g = clockedGateway();
  const made = await createOrg(env.DB, { id: 'dcf', name: 'dcf', now: Date.now(), owner: { ring, sub: 'dcf/boss', grantedBy: 'seed' } });
  if (!made.ok) throw new Error(made.reason);
  await seedApp({ org: 'dcf', name: 'faults', hosts: [HOST], originUrl: inject('originUrl'), policy: POLICY });
  for (const name of ['alice', 'bob', 'carol', 'dave', 'erin']) p[name] = await actor(g, name, HOST);
});

describe('when the audit log fails', () => {
  it('an approval that is not on the record never counts; approving again once it works does', async () => {
    const id = await askForApproval(g, p.alice!, 'POST', '/api/two/1?m=dcf-vote', 'a=1');
    expect((await approveAs(g, p.bob!, id)).status).toBe(200);
    const down = await auditRefuses('approval.approved');
    const failed = await approveAs(g, p.carol!, id);
    await down.drop();
    expect(failed.status).toBe(503);
    const view = await approvalAs(g, p.alice!, id);
    expect([view.state, view.votes.map((v) => v.person)]).toEqual(['pending', ['bob']]);
    expect((await send(g, p.alice!, 'POST', '/api/two/1?m=dcf-vote', 'a=1')).status).toBe(202);
    expect((await approveAs(g, p.carol!, id)).status).toBe(200);
    expect((await approvalAs(g, p.alice!, id)).state).toBe('approved');
  });

  it('an approval written but not yet on the record does not complete the quorum', async () => {
    const id = await askForApproval(g, p.alice!, 'POST', '/api/two/2?m=dcf-unrecorded', 'a=1');
    // dave's vote is in the table but its event never made it (recorded = 0): it must not count.
    const row = (await env.DB.prepare('SELECT key_id FROM approval_requests WHERE id = ?').bind(id).first<{ key_id: string }>())!;
    await env.DB.prepare(
      'INSERT INTO approval_votes (approval_id, approver_ref, vote, eligible_json, sealed, at, recorded) ' +
        `VALUES (?, ?, 'approve', '[0]', 'x', ?, 0)`,
    )
      .bind(id, `${row.key_id}.not-yet-recorded`, Date.now())
      .run();
    expect((await approveAs(g, p.bob!, id)).status).toBe(200);
    expect((await approvalAs(g, p.alice!, id)).state).toBe('pending');
    expect((await send(g, p.alice!, 'POST', '/api/two/2?m=dcf-unrecorded', 'a=1')).status).toBe(202);
    expect(await seen('m=dcf-unrecorded')).toEqual([]);
  });

  it('a quorum that is not on the record is not carried out; the requester asking again settles it', async () => {
    const id = await askForApproval(g, p.alice!, 'POST', '/api/one/1?m=dcf-quorum', 'a=1');
    const down = await auditRefuses('approval.quorum_reached');
    expect((await approveAs(g, p.bob!, id)).status).toBe(503);
    expect((await approvalAs(g, p.alice!, id)).state).toBe('pending');
    expect((await send(g, p.alice!, 'POST', '/api/one/1?m=dcf-quorum', 'a=1')).status).toBe(503);
    expect(await seen('m=dcf-quorum')).toEqual([]);
    await down.drop();
    // bob's approval is on the record: asking again records the quorum and carries it out, once.
    expect((await send(g, p.alice!, 'POST', '/api/one/1?m=dcf-quorum', 'a=1')).status).not.toBe(202);
    expect(await seen('m=dcf-quorum')).toHaveLength(1);
    expect(await eventCount('approval.quorum_reached', id)).toBe(1);
  });

  it('a carrying out that is not on the record forwards nothing, and can be done once it is', async () => {
    const id = await askForApproval(g, p.alice!, 'POST', '/api/one/2?m=dcf-carry', 'a=1');
    expect((await approveAs(g, p.bob!, id)).status).toBe(200);
    const down = await auditRefuses('approval.carried_out');
    expect((await send(g, p.alice!, 'POST', '/api/one/2?m=dcf-carry', 'a=1')).status).toBe(503);
    await down.drop();
    expect(await seen('m=dcf-carry')).toEqual([]);
    expect((await approvalAs(g, p.alice!, id)).state).toBe('approved');
    expect((await send(g, p.alice!, 'POST', '/api/one/2?m=dcf-carry', 'a=1')).status).not.toBe(202);
    expect(await seen('m=dcf-carry')).toHaveLength(1);
  });

  it('an expiry whose record failed is written by the next sweep, once', async () => {
    const id = await askForApproval(g, p.erin!, 'POST', '/api/one/3?m=dcf-expiry', 'a=1');
    g.tick(6 * 60_000);
    const down = await auditRefuses('approval.expired');
    expect((await callWith(g.on, p.erin!.plain, HOST, 'GET', '/.stepgate/api/approvals')).status).toBe(503);
    await down.drop();
    expect(await eventCount('approval.expired', id)).toBe(0);
    expect((await callWith(g.on, p.erin!.plain, HOST, 'GET', '/.stepgate/api/approvals')).status).toBe(200);
    expect((await callWith(g.on, p.erin!.plain, HOST, 'GET', '/.stepgate/api/approvals')).status).toBe(200);
    expect(await eventCount('approval.expired', id)).toBe(1);
    expect((await approvalAs(g, p.erin!, id)).state).toBe('expired');
  });
});
