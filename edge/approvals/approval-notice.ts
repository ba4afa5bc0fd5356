/**
 * @module What an organisation's webhook is told of a dual-control request: what and where — the
 * app, method, path (high-entropy segments masked), rule, who asked, until when — and the link to
 * its page. Never its body, query, a session or a secret.
 */
import type { ApprovalNotice } from '../notifications/notify';
import { maskPath } from '../policy/mask-path';
import type { ApprovalView } from './approval-records';
import type { ApprovalRow } from './approval-store';

export function approvalNotice(
  origin: string,
  row: Pick<ApprovalRow, 'id' | 'org_id' | 'app_id' | 'rule' | 'expires_at'>,
  view: ApprovalView,
  event: ApprovalNotice['event'],
): ApprovalNotice {
  return {
    event,
    org: row.org_id,
    approvalId: row.id,
    app: { id: row.app_id, name: view.appName },
    host: view.action.host,
    method: view.matchedMethod,
    path: maskPath(view.action.path),
    rule: row.rule,
    requester: view.requester,
    expiresAt: row.expires_at,
    consoleUrl: `${origin}/.stepgate/approvals/${row.id}`,
  };
}
