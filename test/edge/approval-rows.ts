/**
 * @module Dual-control rows written straight through edge/approvals under a chosen keyring (no gateway):
 * people who ask and decide, with an audit log that only collects — for the key-rotation tests.
 */
import { env } from 'cloudflare:test';
import { type ApprovalDeps, openApproval } from '../../edge/approvals/approval-flow';
import type { Viewer } from '../../edge/approvals/approval-json';
import { sealJustification } from '../../edge/approvals/approval-records';
import { getApproval, setJustification } from '../../edge/approvals/approval-store';
import { approve, checkDecider, deny } from '../../edge/approvals/approval-votes';
import type { AuditInput } from '../../edge/audit/events';
import { approvalAad } from '../../edge/crypto/encryption-context';
import type { Keyring } from '../../edge/crypto/keyring';
import { sealRequest } from '../../edge/request-path/held-request';

/** Asking and deciding in organisation `org`, on app host `host`; the rule asks two admins. */
export function approvalRows(org: string, host: string) {
  const events: AuditInput[] = [];
  /** While set, writing an event waits for it (`hold`/`release`): a decision caught between its row and its record. */
  let held: Promise<void> | null = null;
  let release = () => {};
  const hold = () => {
    held = new Promise((r) => {
      release = () => {
        held = null;
        r();
      };
    });
  };
  const audit = {
    tenant: org,
    record: async (...e: AuditInput[]) => {
      await held;
      events.push(...e);
    },
    later: (ctx: { waitUntil(p: Promise<unknown>): void }, ...e: AuditInput[]) => {
      events.push(...e);
      ctx.waitUntil(Promise.resolve());
    },
  };
  const deps = (keys: Keyring): ApprovalDeps => ({ db: env.DB, keys, audit, now: Date.now });
  const where = { app: host };

  /** An admin of the organisation (every admin may approve). */
  const person = (name: string): Viewer => ({
    sub: `${org}/${name}`,
    subject: name,
    roles: [{ role: 'admin', appId: null }],
    groups: undefined,
  });

  /** `who` asks, under `keys`, for DELETE /api/projects/<project> (its body sealed as the request path seals it). */
  async function ask(keys: Keyring, who: Viewer, project: string): Promise<string> {
    const url = `https://${host}/api/projects/${project}`;
    const body = new Uint8Array(new TextEncoder().encode(`{"project":"${project}"}`));
    const r = await openApproval(deps(keys), {
      orgId: org,
      appId: 'bundled',
      rule: 'delete-project',
      requirement: { approvers: [{ from: { role: 'admin' }, count: 2 }], expiresSeconds: 3600, requesterStepUp: true },
      requesterSub: who.sub,
      sid: `session-${who.subject}`,
      digest: `digest-${project}`,
      view: {
        requester: who.subject,
        requesterSub: who.sub,
        appName: 'Rotation',
        action: { method: 'DELETE', host, path: `/api/projects/${project}`, query: '', bodySha256: '' },
        matchedMethod: 'DELETE',
        body: null,
        requestedFrom: null,
        ruleDescription: null,
        amr: ['totp'],
        authTime: null,
      },
      sealRequest: (id) => sealRequest(keys, approvalAad(id, org, 'request'), url, 'DELETE', new Headers({ 'x-kept': project }), body),
      where,
    });
    if (!r.ok || !r.created) throw new Error('not created');
    return r.row.id;
  }

  /** `who` decides on request `id` under `keys`: 'ok', or the refusal's reason. */
  async function decide(keys: Keyring, who: Viewer, id: string, vote: 'approve' | 'deny' = 'approve'): Promise<string> {
    const d = deps(keys);
    const checked = await checkDecider(d, await getApproval(env.DB, id), who, { org, appId: 'bundled' }, where, vote);
    if (!checked.ok) return checked.reason;
    const r =
      vote === 'approve'
        ? await approve(d, { ...checked, me: who, amr: ['totp'], challenge: `c-${who.subject}`, passkey: null, where })
        : await deny(d, { ...checked, me: who, reason: 'no', where });
    return r.ok ? 'ok' : r.reason;
  }

  /** A pending request with every keyed value: asked, with a reason, and one approval. */
  async function seedApproval(keys: Keyring, project = 'seeded'): Promise<string> {
    const id = await ask(keys, person('asker'), project);
    if (!(await setJustification(env.DB, id, await sealJustification(keys, id, org, 'why'), Date.now()))) throw new Error('reason');
    if ((await decide(keys, person('approver'), id)) !== 'ok') throw new Error('vote');
    return id;
  }

  return { events, audit, deps, where, person, ask, decide, seedApproval, hold, release: () => release() };
}
