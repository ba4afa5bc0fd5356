/**
 * @module notifyApproval: tell an organisation's webhook about a dual-control request (docs/admin.md,
 * "Webhooks"), after the answer. It never throws and never delays the request: the work runs in
 * `waitUntil`. An organisation without a webhook costs one D1 primary-key read there, and nothing
 * else. Why not a per-isolate cache of "no webhook": a webhook just set would miss notices in every
 * other isolate until the cache lapsed, and the read happens after the response anyway, at the pace
 * of approvals (people), not of requests. With a webhook, the organisation's ApprovalNotifier
 * (approval-notifier.ts) stores the notice and delivers it, with retries.
 */
import type { ApprovalNotifier } from './approval-notifier';
import { hasWebhook } from './webhook-store';
import type { NoticeFacts } from './webhook-payload';

export interface ApprovalNotice {
  event:
    | 'approval.requested'
    | 'approval.approved'
    | 'approval.denied'
    | 'approval.expired'
    | 'approval.cancelled'
    | 'approval.carried_out';
  org: string;
  approvalId: string;
  app: { id: string; name: string };
  host: string;
  method: string;
  /** Already masked (no query, path secrets replaced). */
  path: string;
  rule: string;
  /** The app's own subject of the person who asked. */
  requester: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** https://<host>/.stepgate/approvals/<id> */
  consoleUrl: string;
}

/**
 * What notifying needs of a Runtime (edge/deployment/runtime.ts satisfies it; declared here because
 * the domain never imports the wiring above it).
 */
export interface NotifyRuntime {
  db: D1Database;
  /** The organisation's notifier, or null/absent when the deployment binds none (APPROVAL_NOTIFIER). */
  approvalNotifier?: ((org: string) => DurableObjectStub<ApprovalNotifier>) | null;
}

/** The stored facts of a notice. */
export const noticeFacts = (n: ApprovalNotice): NoticeFacts => ({
  event: n.event,
  approval: {
    id: n.approvalId,
    app: { id: n.app.id, name: n.app.name },
    host: n.host,
    method: n.method,
    path: n.path,
    rule: n.rule,
    requester: n.requester,
    expires_at: new Date(n.expiresAt).toISOString(),
  },
  console_url: n.consoleUrl,
});

let warnedUnbound = false;

/** Queue a notice for the organisation's webhook, after the answer. Never throws; never awaited by the request. */
export function notifyApproval(rt: NotifyRuntime, ec: ExecutionContext | null, n: ApprovalNotice): void {
  try {
    const work = (async () => {
      const notifier = rt.approvalNotifier;
      if (!notifier) {
        if (!warnedUnbound) console.warn('stepgate: no APPROVAL_NOTIFIER binding: webhook notices are not sent');
        warnedUnbound = true;
        return;
      }
      if (!(await hasWebhook(rt.db, n.org))) return;
      await notifier(n.org).enqueue(n.org, noticeFacts(n));
    })().catch((err: unknown) => console.error('stepgate: webhook notice not queued:', err instanceof Error ? err.message : 'non-error'));
    ec?.waitUntil(work);
  } catch (err) {
    console.error('stepgate: webhook notice not queued:', err instanceof Error ? err.message : 'non-error');
  }
}
