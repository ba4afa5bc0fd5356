/**
 * The ApprovalNotifier and notifyApproval (issue 14, item 5; docs/admin.md, "Webhooks") inside workerd,
 * real D1 and Durable Objects: a notice for an organisation without a webhook stores nothing; one with
 * a webhook is queued in D1 and attempted; notifyApproval never throws, even when everything under it
 * fails; at most 100 notices wait per organisation (the oldest given up, audited), also when many are
 * queued at once; removing the webhook gives up what waits, each audited.
 */
import { createExecutionContext, env, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { createOrg } from '../../edge/admin/org-store';
import { parseKeyring } from '../../edge/crypto/keyring';
import type { ApprovalNotifier } from '../../edge/notifications/approval-notifier';
import { type ApprovalNotice, noticeFacts, notifyApproval, type NotifyRuntime } from '../../edge/notifications/notify';
import { deleteWebhook, putWebhook } from '../../edge/notifications/webhook-store';
import { listEvents } from '../../edge/audit/audit-store';

const ring = parseKeyring(env.STEPGATE_KEYS);
const notifierOf = (org: string): DurableObjectStub<ApprovalNotifier> =>
  env.APPROVAL_NOTIFIER.get(env.APPROVAL_NOTIFIER.idFromName(`org:${org}`));
const rt: NotifyRuntime = { db: env.DB, approvalNotifier: notifierOf };

const notice = (org: string, n = 0): ApprovalNotice => ({
  event: 'approval.requested',
  org,
  approvalId: `appr-${n}`,
  app: { id: 'app1', name: 'Shop' },
  host: 'shop.test',
  method: 'DELETE',
  path: '/api/projects/7',
  rule: 'delete-project',
  requester: 'alice',
  expiresAt: Date.now() + 3_600_000,
  consoleUrl: `https://shop.test/.stepgate/approvals/appr-${n}`,
});
const waiting = async (org: string) =>
  (await env.DB.prepare('SELECT COUNT(*) AS n FROM webhook_deliveries WHERE org_id = ? AND next_attempt_at IS NOT NULL')
    .bind(org)
    .first<{ n: number }>())!.n;
const all = async (org: string) =>
  (await env.DB.prepare('SELECT COUNT(*) AS n FROM webhook_deliveries WHERE org_id = ?').bind(org).first<{ n: number }>())!.n;
const failures = async (org: string) =>
  (await listEvents(env.DB, ring, 'default', { org, types: ['notification.failed'] }, { limit: 500, order: 'asc' })).events.map(
    (e) => e.event.details!,
  );
/** Wait (at most 5 s) until `check` holds. */
const eventually = async (check: () => Promise<boolean>) => {
  for (let i = 0; i < 50 && !(await check()); i++) await new Promise((r) => setTimeout(r, 100));
};

/** A webhook that refuses connections: every attempt fails fast and is retried, so notices keep waiting. */
const refusing = (org: string) =>
  putWebhook(env.DB, ring, { org, url: 'https://127.0.0.1:1/hook', format: 'json', by: `${org}/olga`, now: Date.now() });

beforeAll(async () => {
  for (const id of ['nohook', 'queued', 'capped', 'removed', 'tampered'])
    expect((await createOrg(env.DB, { id, name: id, now: Date.now(), owner: { ring, sub: `${id}/olga`, grantedBy: 'seed' } })).ok).toBe(
      true,
    );
});

describe('notifyApproval', () => {
  it('stores nothing for an organisation without a webhook', async () => {
    const ctx = createExecutionContext();
    notifyApproval(rt, ctx, notice('nohook'));
    await waitOnExecutionContext(ctx);
    expect(await all('nohook')).toBe(0);
  });

  it('queues a notice for one with a webhook, attempted at once and waiting for its retry', async () => {
    await refusing('queued');
    const ctx = createExecutionContext();
    notifyApproval(rt, ctx, notice('queued'));
    await waitOnExecutionContext(ctx);
    const row = await env.DB.prepare('SELECT * FROM webhook_deliveries WHERE org_id = ?').bind('queued').first<Record<string, unknown>>();
    expect(row).toMatchObject({ event: 'approval.requested', approval_id: 'appr-0' });
    // The stored facts are what and where, as given: nothing else.
    expect(Object.keys(JSON.parse(String(row!.payload_json))).sort()).toEqual(['approval', 'console_url', 'event']);
    await eventually(async () => (await failures('queued')).length > 0);
    expect((await failures('queued'))[0]).toMatchObject({ org: 'queued', event: 'approval.requested', attempt: 1, error: 'network error' });
    const after = await env.DB.prepare('SELECT attempts, next_attempt_at, last_status FROM webhook_deliveries WHERE org_id = ?')
      .bind('queued')
      .first<{ attempts: number; next_attempt_at: number; last_status: string }>();
    expect(after).toMatchObject({ attempts: 1, last_status: 'failed network error' });
    expect(after!.next_attempt_at).toBeGreaterThan(Date.now());
  });

  it('never throws, whatever fails under it, and without a context', () => {
    const broken: NotifyRuntime = {
      db: {
        prepare() {
          throw new Error('D1 down');
        },
      } as unknown as D1Database,
      approvalNotifier: () => {
        throw new Error('no object');
      },
    };
    expect(() => notifyApproval(broken, null, notice('queued'))).not.toThrow();
    expect(() => notifyApproval(broken, createExecutionContext(), { ...notice('queued'), expiresAt: Number.NaN })).not.toThrow();
    expect(() => notifyApproval({ db: env.DB }, null, notice('queued'))).not.toThrow();
  });
});

describe('the notifier', () => {
  it('keeps at most 100 notices waiting per organisation, also when 115 are queued at once; the oldest are given up, audited', async () => {
    await refusing('capped');
    const stub = notifierOf('capped');
    const queued = await Promise.all(Array.from({ length: 115 }, (_, i) => stub.enqueue('capped', noticeFacts(notice('capped', i)))));
    expect(queued.every((q) => q !== null)).toBe(true);
    expect(await waiting('capped')).toBe(100);
    const given = await env.DB.prepare(
      "SELECT approval_id FROM webhook_deliveries WHERE org_id = 'capped' AND next_attempt_at IS NULL AND last_status LIKE 'given up%'",
    ).all<{ approval_id: string }>();
    expect(given.results).toHaveLength(15);
    // The oldest ones: the first queued, in the order the notifier took them (concurrent calls may arrive in any order).
    const queued115 = await env.DB.prepare(
      "SELECT approval_id FROM webhook_deliveries WHERE org_id = 'capped' ORDER BY created_at, rowid",
    ).all<{
      approval_id: string;
    }>();
    expect(queued115.results).toHaveLength(115);
    expect(new Set(given.results.map((r) => r.approval_id))).toEqual(new Set(queued115.results.slice(0, 15).map((r) => r.approval_id)));
    const capped = (await failures('capped')).filter((d) => d.error === 'given up: 100 notices undelivered');
    expect(capped).toHaveLength(15);
    for (const d of capped) expect(d).toMatchObject({ org: 'capped', event: 'approval.requested', retry_at: null });
  }, 60_000);

  it('gives up what waits when the webhook is removed, each audited, and answers null to a new notice', async () => {
    await refusing('removed');
    const stub = notifierOf('removed');
    for (let i = 0; i < 3; i++) expect(await stub.enqueue('removed', noticeFacts(notice('removed', i)))).not.toBeNull();
    expect(await deleteWebhook(env.DB, 'removed')).toBe(true);
    await stub.wake('removed');
    for (let i = 0; i < 50 && (await waiting('removed')) > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await waiting('removed')).toBe(0);
    const audited = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM audit_events WHERE type = 'notification.failed' AND org = 'removed'",
    ).first<{
      n: number;
    }>();
    expect(audited!.n).toBeGreaterThanOrEqual(3);
    expect(await stub.enqueue('removed', noticeFacts(notice('removed', 9)))).toBeNull();
    // One object per organisation: another organisation's name is refused.
    await expect(
      runInDurableObject(stub, (o) => (o as unknown as ApprovalNotifier).enqueue('capped', noticeFacts(notice('capped')))),
    ).rejects.toThrow();
  });

  it('sends nothing with a webhook that does not open (moved in D1 from another organisation): what waits is given up', async () => {
    await refusing('tampered');
    const stub = notifierOf('tampered');
    expect(await stub.enqueue('tampered', noticeFacts(notice('tampered')))).not.toBeNull();
    // Another organisation's sealed secret copied in: bound to that organisation, it opens for none other.
    await refusing('nohook');
    await env.DB.prepare(
      "UPDATE org_webhooks SET secret_sealed = (SELECT secret_sealed FROM org_webhooks WHERE org_id = 'nohook') WHERE org_id = 'tampered'",
    ).run();
    await stub.wake('tampered');
    const gaveUp = async () =>
      (await failures('tampered')).filter((d) => String(d.error).startsWith('given up: the webhook does not open'));
    await eventually(async () => (await gaveUp()).length >= 1);
    expect(await gaveUp()).toHaveLength(1);
    expect(await waiting('tampered')).toBe(0);
  });
});
