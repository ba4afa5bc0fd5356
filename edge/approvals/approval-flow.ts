/**
 * @module The life of a dual-control request apart from the approvers' votes (approval-votes.ts):
 * opened (on the record before anyone sees it), cancelled by the requester, expired (each expiry
 * recorded once), carried out once by the session that asked. Every step is audited; D1 decides
 * every race (approval-store.ts).
 */
import type { AuditLog } from '../audit/audit-log';
import type { AuditInput, AuditRequest } from '../audit/events';
import { base64url } from '../crypto/base64';
import { blindIndex, blindIndexes } from '../crypto/blind-index';
import type { Keyring } from '../crypto/keyring';
import { newId } from '../crypto/random-id';
import type { CompiledApproval } from '../policy/compile-policy';
import { type ApprovalView, openView, sealView } from './approval-records';
import {
  type ApprovalRow,
  expireDue,
  type InsertResult,
  insertApproval,
  markCancelled,
  markClosureRecorded,
  takeApproved,
  untake,
} from './approval-store';
import { whoMustApprove } from './approver-groups';

/** What the approval steps need: D1, the keyring, the audit log (of the app) and a clock. */
export interface ApprovalDeps {
  db: D1Database;
  keys: Keyring;
  audit: AuditLog;
  now(): number;
}

/** Where a step happened, for its audit event. */
export interface ApprovalWhere {
  /** The app's canonical host. */
  app: string | null;
  request?: AuditRequest;
}

/** SHA-256 of the session id: only the session that asked carries its request out. */
export async function sessionHash(sid: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`approval-session\0${sid}`)));
  return [...d].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export interface NewApproval {
  orgId: string;
  appId: string;
  rule: string;
  requirement: CompiledApproval;
  requesterSub: string;
  sid: string;
  digest: string;
  view: ApprovalView;
  /** Seal the exact request under the new request's id (the request path knows its bytes). */
  sealRequest(id: string): Promise<string>;
  where: ApprovalWhere;
}

/**
 * Open a request for approval, or find the one this session already has open for the same action.
 * A new request is on the record (`approval.requested`) before it is answered; if the record
 * fails it is withdrawn and the error thrown (503), so nobody can approve an unrecorded request.
 */
export async function openApproval(d: ApprovalDeps, o: NewApproval): Promise<InsertResult> {
  const now = d.now();
  await recordExpired(d, o.orgId);
  const id = newId();
  const kid = d.keys.primary;
  const row: ApprovalRow = {
    id,
    org_id: o.orgId,
    app_id: o.appId,
    rule: o.rule,
    key_id: kid,
    requester_ref: await blindIndex(d.keys, 'user', o.requesterSub, kid),
    session_hash: await sessionHash(o.sid),
    action_digest: o.digest,
    state: 'pending',
    requirement_json: JSON.stringify(o.requirement),
    request_sealed: await o.sealRequest(id),
    view_sealed: await sealView(d.keys, id, o.orgId, o.view),
    justification_sealed: null,
    created_at: now,
    expires_at: now + o.requirement.expiresSeconds * 1000,
    closed_at: null,
    quorum_recorded: 0,
    closure_recorded: 1,
  };
  const r = await insertApproval(d.db, row, await blindIndexes(d.keys, 'user', o.requesterSub), now);
  if (!r.ok || !r.created) return r;
  try {
    await d.audit.record({
      type: 'approval.requested',
      outcome: 'info',
      actor: o.requesterSub,
      via: 'session',
      ...o.where,
      rule: o.rule,
      details: {
        approval: id,
        action_digest: o.digest,
        required: [whoMustApprove(o.requirement)],
        expires_at: new Date(row.expires_at).toISOString(),
        requester_step_up: o.view.amr,
      },
    });
  } catch (err) {
    await d.db.prepare('DELETE FROM approval_requests WHERE id = ?').bind(id).run();
    throw err;
  }
  return r;
}

/**
 * Record the expiry of every open request past its time (of one organisation, or all), and every
 * closing still owed from before (an expiry or cancellation whose record failed): each at least once,
 * marked recorded only after its event is written.
 */
export async function recordExpired(d: ApprovalDeps, orgId?: string): Promise<number> {
  const rows = await expireDue(d.db, d.now(), orgId);
  if (rows.length === 0) return 0;
  const events: AuditInput[] = await Promise.all(
    rows.map(async (row) => {
      const view = await openView(d.keys, row).catch(() => null);
      return {
        type: row.state === 'cancelled' ? 'approval.cancelled' : 'approval.expired',
        outcome: row.state === 'cancelled' ? 'success' : 'info',
        actor: view?.requesterSub ?? null,
        via: row.state === 'cancelled' ? 'session' : 'system',
        org: row.org_id,
        app_id: row.app_id,
        app: view?.action.host ?? null,
        rule: row.rule,
        details: { approval: row.id },
      } satisfies AuditInput;
    }),
  );
  await d.audit.record(...events);
  await markClosureRecorded(
    d.db,
    rows.map((r) => r.id),
  );
  return rows.length;
}

/**
 * The requester cancels their open request: true once. A cancellation stands even if its record
 * fails (it only stops something): the event is then owed, and written by the next sweep.
 */
export async function cancelApproval(d: ApprovalDeps, row: ApprovalRow, me: { sub: string }, where: ApprovalWhere): Promise<boolean> {
  const done = await markCancelled(d.db, row.id, await blindIndexes(d.keys, 'user', me.sub), d.now());
  if (!done) return false;
  try {
    await d.audit.record({
      type: 'approval.cancelled',
      outcome: 'success',
      actor: me.sub,
      via: 'session',
      ...where,
      rule: row.rule,
      details: { approval: row.id },
    });
    await markClosureRecorded(d.db, [row.id]);
  } catch (err) {
    console.error('stepgate: a cancellation is owed to the audit log:', err instanceof Error ? err.message : 'non-error');
  }
  return true;
}

/** Whether `sub` asked for this request (its index under the request's own key). */
export const isRequester = async (keys: Keyring, row: Pick<ApprovalRow, 'key_id' | 'requester_ref'>, sub: string): Promise<boolean> =>
  (await blindIndex(keys, 'user', sub, row.key_id)) === row.requester_ref;

/**
 * Take an approved request (`row`, read with its sealed bytes) to carry it out, once, for the session
 * that asked; `record` writes its `approval.carried_out` event. If that record fails the take is
 * undone and the error thrown: nothing is forwarded that is not on the record.
 */
export async function takeToCarryOut(d: ApprovalDeps, row: ApprovalRow, sid: string, record: () => Promise<void>): Promise<boolean> {
  if (!(await takeApproved(d.db, row.id, await sessionHash(sid), d.now()))) return false;
  try {
    await record();
  } catch (err) {
    await untake(d.db, row.id, row.request_sealed);
    throw err;
  }
  return true;
}

/**
 * What an approver's own step-up approves: a digest of the request's action digest under the
 * approval's id (so it approves nothing else). Its passkey's WebAuthn challenge ends with SHA-256 of
 * this string, so the recorded assertion is checked from the event alone: `approval` and `action_digest`.
 */
export async function approverDigest(approvalId: string, actionDigest: string): Promise<string> {
  const bytes = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`stepgate-approval-vote\n${approvalId}\n${actionDigest}`));
  return base64url(bytes);
}
