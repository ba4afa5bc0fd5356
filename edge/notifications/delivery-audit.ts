/**
 * @module The audit events of webhook deliveries (`notification.sent`, `notification.failed`), written
 * by the ApprovalNotifier, which runs outside any request: straight to the tenant's AuditSequencer,
 * like the cron's maintenance. Each names the organisation (whose auditors read it), the event, the
 * approval, the delivery id and the attempt — never the URL, the body or the secret.
 */
import type { AuditSequencer } from '../audit/audit-sequencer';
import type { AuditInput } from '../audit/events';
import type { DeliveryRow } from './delivery-store';
import type { NoticeFacts } from './webhook-payload';

/** What the notifier reads of the Worker's environment to write audit events. */
export interface NotifierAuditEnv {
  AUDIT_SEQUENCER?: DurableObjectNamespace<AuditSequencer>;
  TENANT?: string;
}

export type AttemptAudit =
  | { sent: true; attempt: number; status: number }
  | { sent: false; attempt: number; status?: number; error?: string; retryAt: number | null };

/** The event of one attempt (or of giving a delivery up without one: attempt is then the attempts made so far). */
export function attemptEvent(
  org: string,
  row: Pick<DeliveryRow, 'id' | 'event' | 'approval_id'>,
  facts: NoticeFacts | null,
  a: AttemptAudit,
): AuditInput {
  const base = { org, event: row.event, approval: row.approval_id, delivery: row.id, attempt: a.attempt };
  return {
    type: a.sent ? 'notification.sent' : 'notification.failed',
    outcome: a.sent ? 'success' : 'failure',
    actor: null,
    via: 'system',
    org,
    app_id: facts && facts.event !== 'webhook.test' ? facts.approval.app.id : null,
    app: facts?.approval.host ?? null,
    details: a.sent
      ? { ...base, status: a.status }
      : {
          ...base,
          ...(a.status === undefined ? {} : { status: a.status }),
          ...(a.error === undefined ? {} : { error: a.error }),
          retry_at: a.retryAt === null ? null : new Date(a.retryAt).toISOString(),
        },
  };
}

/** Append events to the tenant's chain; resolves once they are durable. @throws when the sequencer or D1 fails */
export async function writeAudit(env: NotifierAuditEnv, events: AuditInput[]): Promise<void> {
  if (events.length === 0) return;
  const ns = env.AUDIT_SEQUENCER;
  if (!ns) throw new Error('binding AUDIT_SEQUENCER (AuditSequencer Durable Object) is missing');
  const tenant = String(env.TENANT ?? 'default');
  await ns.get(ns.idFromName(`tenant:${tenant}`)).append(tenant, events);
}
