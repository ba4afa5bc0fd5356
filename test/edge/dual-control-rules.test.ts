/**
 * The rules of dual control that cannot be bent, on an app of its own organisation (real D1, the
 * people's Durable Objects, the demo origin): N of M within a group and every group required, one
 * person counted once however many groups they are in, a denial by one of three ends it, expiry, an
 * approval never moves to a changed body, people of another organisation count for nothing, a
 * group from the identity's claims, and the caps on what waits.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createOrg } from '../../edge/admin/org-store';
import { putWebhook } from '../../edge/notifications/webhook-store';
import { MAX_ASKED_PER_HOUR, MAX_OPEN_PER_PERSON } from '../../edge/approvals/approval-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import type { ApprovalJson } from '../../shared/wire-shapes';
import { callWith } from './admin-callers';
import { type Actor, actor, approvalAs, approveAs, askForApproval, type Clocked, clockedGateway, seen, send } from './dual-control-harness';
import { seedApp } from './seed-apps';
import { seedRole } from './seed-roles';

const ring = parseKeyring(env.STEPGATE_KEYS);
const HOST = 'dc-rules.test';
const OTHER = 'dc-other.test';
/** Another app of the same organisation. */
const SECOND = 'dc-rules-b.test';
const approval = (approvers: unknown[], extra: Record<string, unknown> = {}) => ({
  factors: ['totp'],
  bind: 'action',
  approval: { approvers, ...extra },
});
const rule = (id: string, path: string, require: unknown) => ({ id, match: { methods: ['POST'], path }, require });
const POLICY = {
  version: 1,
  rules: [
    rule('two-of-three', '/api/three/*', approval([{ from: { people: ['bob', 'carol', 'dave'] }, count: 2 }])),
    rule(
      'admin-and-bob',
      '/api/both/*',
      approval([
        { from: { role: 'admin' }, count: 1 },
        { from: { people: ['bob'] }, count: 1 },
      ]),
    ),
    rule('ten-minutes', '/api/short/*', approval([{ from: { people: ['bob'] }, count: 1 }], { expires: '10m' })),
    rule('finance', '/api/pay/*', {
      factors: ['totp'],
      bind: 'session',
      approval: { approvers: [{ from: { claimGroup: 'finance' }, count: 1 }], requesterStepUp: false },
    }),
  ],
};

let g: Clocked;
const people: Record<string, Actor> = {};
const decisions = (a: ApprovalJson) => a.votes.map((v) => `${v.person}:${v.vote}`);

beforeAll(async () => {
  g = clockedGateway();
  for (const org of ['dcr', 'dcx']) {
    const made = await createOrg(env.DB, { id: org, name: org, now: Date.now(), owner: { ring, sub: `${org}/boss`, grantedBy: 'seed' } });
    if (!made.ok) throw new Error(made.reason);
  }
  await seedApp({ org: 'dcr', name: 'rules', hosts: [HOST], originUrl: inject('originUrl'), policy: POLICY });
  await seedApp({ org: 'dcx', name: 'other', hosts: [OTHER], originUrl: inject('originUrl'), policy: POLICY });
  await seedApp({ org: 'dcr', name: 'rules-b', hosts: [SECOND], originUrl: inject('originUrl'), policy: POLICY });
  // Several requesters: each person's session may open only so many challenges a minute.
  for (const name of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina', 'hal', 'ivy', 'jon', 'kim', 'lee'])
    people[name] = await actor(g, name, HOST);
  // bob of the other organisation: the same name, another person.
  people.xbob = await actor(g, 'bob', OTHER);
  // carol again, through the organisation's other app (its identity may name people differently).
  people.carolB = { ...people.carol!, host: SECOND };
  await seedRole('dcr/carol', 'admin', { org: 'dcr' });
  await seedRole('dcr/bob', 'admin', { org: 'dcr' });
  await seedRole('dcx/bob', 'admin', { org: 'dcx' });
});

describe('approver groups', () => {
  it('two of three named people: one approval is not enough, the second is', async () => {
    const { alice, bob, carol } = people;
    const id = await askForApproval(g, alice!, 'POST', '/api/three/1?m=dcr-2of3', 'a=1');
    expect((await approveAs(g, bob!, id)).status).toBe(200);
    expect((await send(g, alice!, 'POST', '/api/three/1?m=dcr-2of3', 'a=1')).status).toBe(202);
    expect(await seen('m=dcr-2of3')).toEqual([]);
    expect((await approveAs(g, carol!, id)).status).toBe(200);
    expect((await send(g, alice!, 'POST', '/api/three/1?m=dcr-2of3', 'a=1')).status).not.toBe(202);
    expect(await seen('m=dcr-2of3')).toHaveLength(1);
  });

  it('one person counts once, even when they are in both groups', async () => {
    const { alice, bob, carol } = people;
    const id = await askForApproval(g, alice!, 'POST', '/api/both/1?m=dcr-once', 'a=1');
    // bob is an admin and the named person: his one approval fills one group, not both.
    expect((await approveAs(g, bob!, id)).status).toBe(200);
    const after = await approvalAs(g, alice!, id);
    expect(after.state).toBe('pending');
    expect(after.required.map((r) => r.have).reduce((a, b) => a + b)).toBe(1);
    // Approving again changes nothing: one person, one decision.
    expect((await approveAs(g, bob!, id)).status).toBe(409);
    expect((await approveAs(g, carol!, id)).status).toBe(200);
    expect((await approvalAs(g, alice!, id)).state).toBe('approved');
  });

  it('a denial by one of three ends it: later approvals count for nothing and nothing is forwarded', async () => {
    const { alice, bob, carol, dave } = people;
    const id = await askForApproval(g, alice!, 'POST', '/api/three/2?m=dcr-deny', 'a=1');
    expect((await approveAs(g, bob!, id)).status).toBe(200);
    const denied = await callWith(g.on, dave!.plain, HOST, 'POST', `/.stepgate/api/approvals/${id}/deny`, {
      reason: 'Not during the freeze',
    });
    expect(denied.status).toBe(200);
    expect(await denied.json()).toMatchObject({ state: 'denied' });
    const late = await approveAs(g, carol!, id);
    expect(late.status).toBe(409);
    const view = await approvalAs(g, alice!, id);
    expect(decisions(view)).toEqual(['bob:approve', 'dave:deny']);
    expect(view.votes[1]!.reason).toBe('Not during the freeze');
    // Asked again, it is a new request that needs a new step-up; the denied one is never forwarded.
    expect((await send(g, alice!, 'POST', '/api/three/2?m=dcr-deny', 'a=1')).status).toBe(401);
    expect(await seen('m=dcr-deny')).toEqual([]);
  });

  it('someone outside the groups (or of another organisation with the same name) is refused', async () => {
    const { alice, erin, xbob } = people;
    const id = await askForApproval(g, alice!, 'POST', '/api/three/3?m=dcr-outside', 'a=1');
    const r = await approveAs(g, erin!, id);
    expect([r.status, ((await r.json()) as { code: string }).code]).toEqual([403, 'ERR_APPROVAL_NOT_ELIGIBLE']);
    // bob of dcx is named "bob" too, and an admin there: on his own organisation's host the request does not exist.
    const x = await approveAs(g, xbob!, id);
    expect([x.status, ((await x.json()) as { code: string }).code]).toEqual([404, 'ERR_APPROVAL_NOT_FOUND']);
    expect((await callWith(g.on, xbob!.plain, OTHER, 'GET', `/.stepgate/api/approvals/${id}`)).status).toBe(404);
    expect(decisions(await approvalAs(g, alice!, id))).toEqual([]);
  });
});

describe('more rules that cannot be bent', () => {
  it('a person decides through the request’s own app only, where the rule’s names are theirs', async () => {
    const { hal: alice, carolB } = people;
    const id = await askForApproval(g, alice!, 'POST', '/api/three/4?m=dcr-app', 'a=1');
    const r = await approveAs(g, carolB!, id);
    expect([r.status, ((await r.json()) as { code: string }).code]).toEqual([403, 'ERR_APPROVAL_NOT_ELIGIBLE']);
    const list = (await (await callWith(g.on, carolB!.plain, SECOND, 'GET', '/.stepgate/api/approvals')).json()) as {
      awaiting_you: unknown[];
    };
    expect(list.awaiting_you).toEqual([]);
    expect(decisions(await approvalAs(g, alice!, id))).toEqual([]);
  });

  it('an approver who approved may still deny before it is carried out, which ends it', async () => {
    const { ivy: alice, bob } = people;
    const id = await askForApproval(g, alice!, 'POST', '/api/three/5?m=dcr-rethink', 'a=1');
    expect((await approveAs(g, bob!, id)).status).toBe(200);
    const denied = await callWith(g.on, bob!.plain, HOST, 'POST', `/.stepgate/api/approvals/${id}/deny`, { reason: 'Second thoughts' });
    expect(denied.status).toBe(200);
    const view = (await denied.json()) as ApprovalJson;
    expect([view.state, decisions(view)]).toEqual(['denied', ['bob:deny']]);
    expect(await seen('m=dcr-rethink')).toEqual([]);
  });

  it('after approval the request goes on exactly as it was asked: headers sent with the retry change nothing', async () => {
    const { jon: alice, bob } = people;
    // Asked as JSON; approvers saw the JSON fields. A retry as a form (or with a tenant header) must not reinterpret it.
    const body = '{"confirm":"no","_":"&confirm=yes&_="}';
    const asked = await g.on(`http://${HOST}/api/short/7?m=dcr-headers`, {
      method: 'POST',
      body,
      headers: { ...alice!.plain, 'content-type': 'application/json' },
    });
    expect(asked.status).toBe(401);
    const { challenge_id } = (await asked.json()) as { challenge_id: string };
    const { answer } = await import('./dual-control-harness');
    expect((await answer(g, alice!, challenge_id)).status).toBe(200);
    const waiting = await g.on(`http://${HOST}/api/short/7?m=dcr-headers`, {
      method: 'POST',
      body,
      headers: { ...alice!.plain, 'content-type': 'application/json' },
    });
    const id = ((await waiting.json()) as { approval_id: string }).approval_id;
    expect((await approveAs(g, bob!, id)).status).toBe(200);
    await g.on(`http://${HOST}/api/short/7?m=dcr-headers`, {
      method: 'POST',
      body,
      headers: { ...alice!.plain, 'content-type': 'application/x-www-form-urlencoded', 'x-tenant': 'prod' },
    });
    const forwarded = await seen('m=dcr-headers');
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]!.headers['content-type']).toBe('application/json');
    expect(forwarded[0]!.headers['x-tenant']).toBeUndefined();
  });
});

describe('the exact request', () => {
  it('an approval never moves to another body or query: only the identical request is carried out', async () => {
    const { alice, bob } = people;
    const id = await askForApproval(g, alice!, 'POST', '/api/short/1?m=dcr-body', 'amount=10');
    expect((await approveAs(g, bob!, id)).status).toBe(200);
    for (const [path, body] of [
      ['/api/short/1?m=dcr-body', 'amount=1000'],
      ['/api/short/1?m=dcr-body&x=1', 'amount=10'],
      ['/api/short/2?m=dcr-body', 'amount=10'],
    ] as const) {
      const changed = await send(g, alice!, 'POST', path, body);
      expect([path, body, changed.status]).toEqual([path, body, 401]);
    }
    expect(await seen('m=dcr-body')).toEqual([]);
    expect((await send(g, alice!, 'POST', '/api/short/1?m=dcr-body', 'amount=10')).status).not.toBe(401);
    const forwarded = await seen('m=dcr-body');
    expect(forwarded.map((f) => f.url)).toEqual(['/api/short/1?m=dcr-body']);
  });

  it('expires: after its time nobody can approve it and it is not carried out', async () => {
    const { frank: alice, bob } = people;
    const id = await askForApproval(g, alice!, 'POST', '/api/short/3?m=dcr-expiry', 'a=1');
    g.tick(11 * 60_000);
    const late = await approveAs(g, bob!, id);
    expect(late.status).toBe(409);
    expect((await approvalAs(g, alice!, id)).state).toBe('expired');
    expect((await send(g, alice!, 'POST', '/api/short/3?m=dcr-expiry', 'a=1')).status).toBe(401);
    expect(await seen('m=dcr-expiry')).toEqual([]);
  });

  it('an approved request that expires before it is carried out is not forwarded', async () => {
    const { gina: alice, bob } = people;
    const id = await askForApproval(g, alice!, 'POST', '/api/short/4?m=dcr-late', 'a=1');
    expect((await approveAs(g, bob!, id)).status).toBe(200);
    g.tick(11 * 60_000);
    expect((await send(g, alice!, 'POST', '/api/short/4?m=dcr-late', 'a=1')).status).toBe(401);
    expect(await seen('m=dcr-late')).toEqual([]);
  });
});

describe('groups from the identity, a rule without the requester’s step-up, and caps', () => {
  it('a rule without the requester’s step-up waits at once, and a person of the claimed group approves', async () => {
    const { alice, erin } = people;
    const first = await send(g, alice!, 'POST', '/api/pay/1?m=dcr-pay', 'a=1');
    expect(first.status).toBe(202);
    const id = ((await first.json()) as { approval_id: string }).approval_id;
    expect((await approveAs(g, erin!, id)).status).toBe(403);
    const financeErin = { ...erin!, plain: { ...erin!.plain, 'stepgate-dev-groups': 'finance' } };
    expect((await approveAs(g, financeErin, id)).status).toBe(200);
    expect((await send(g, alice!, 'POST', '/api/pay/1?m=dcr-pay', 'a=1')).status).not.toBe(202);
    expect(await seen('m=dcr-pay')).toHaveLength(1);
  });

  it(`nobody asks more than ${MAX_ASKED_PER_HOUR} times an hour, even cancelling each: past that, 429`, async () => {
    const { lee: gina } = people;
    const statuses: number[] = [];
    for (let i = 0; i <= MAX_ASKED_PER_HOUR; i++) {
      const r = await send(g, gina!, 'POST', `/api/pay/${i}?m=dcr-rate`, 'a=1');
      statuses.push(r.status);
      if (r.status !== 202) break;
      const id = ((await r.json()) as { approval_id: string }).approval_id;
      expect((await callWith(g.on, gina!.plain, HOST, 'POST', `/.stepgate/api/approvals/${id}/cancel`, {})).status).toBe(200);
    }
    expect(statuses.filter((s) => s === 202)).toHaveLength(MAX_ASKED_PER_HOUR);
    expect(statuses.at(-1)).toBe(429);
  });

  it(`a person has at most ${MAX_OPEN_PER_PERSON} requests waiting; past that, 429 and nothing stored`, async () => {
    const { dave } = people;
    const opened = await Promise.all(
      Array.from({ length: MAX_OPEN_PER_PERSON + 3 }, (_, i) => send(g, dave!, 'POST', `/api/pay/${i}?m=dcr-cap`, 'a=1')),
    );
    const statuses = opened.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(MAX_OPEN_PER_PERSON);
    expect(statuses.filter((s) => s === 429)).toHaveLength(3);
    const list = (await (await callWith(g.on, dave!.plain, HOST, 'GET', '/.stepgate/api/approvals')).json()) as { yours: unknown[] };
    expect(list.yours).toHaveLength(MAX_OPEN_PER_PERSON);
  });
});

describe('the organisation’s webhook', () => {
  it('is told when a request waits and when it is approved: what and where, never the body or a secret', async () => {
    // A receiver nobody listens on: the notice is queued (and retried); what matters here is what is queued.
    await putWebhook(env.DB, ring, { org: 'dcr', url: 'http://127.0.0.1:9/hook', format: 'json', by: 'dcr/boss', now: Date.now() });
    const { kim: alice, bob } = people;
    const id = await askForApproval(g, alice!, 'POST', '/api/short/9?m=dcr-hook', 'secret_note=do-not-leak');
    expect((await approveAs(g, bob!, id)).status).toBe(200);
    const { results } = await env.DB.prepare('SELECT event, payload_json FROM webhook_deliveries WHERE approval_id = ? ORDER BY created_at')
      .bind(id)
      .all<{ event: string; payload_json: string }>();
    expect(results.map((r) => r.event)).toEqual(['approval.requested', 'approval.approved']);
    const payload = JSON.parse(results[0]!.payload_json) as { approval: Record<string, unknown>; console_url: string };
    expect(payload.approval).toMatchObject({ id, method: 'POST', path: '/api/short/9', rule: 'ten-minutes', requester: 'kim' });
    expect(payload.console_url).toBe(`http://${HOST}/.stepgate/approvals/${id}`);
    expect(results.map((r) => r.payload_json).join()).not.toMatch(/do-not-leak|secret_note|m=dcr-hook|whsec_/);
  });
});
