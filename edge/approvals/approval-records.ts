/**
 * @module What a dual-control request keeps sealed: the view approvers read (who asked, the exact
 * action, the body summary, where from), the requester's reason, and each approver's decision —
 * each sealed under its own encryption context, so no part can be moved to another request or
 * organisation, or passed off as another part.
 */
import type { BodySummary, RequestedFrom } from '../../shared/wire-shapes';
import { open, seal } from '../crypto/aead';
import { approvalAad, approvalVoteAad } from '../crypto/encryption-context';
import type { Keyring } from '../crypto/keyring';
import type { CanonicalAction } from '../policy/canonical-action';
import type { ApprovalRow } from './approval-store';
import type { VoteRow } from './approval-vote-store';

/** What approvers see of a request, and what its carrying out needs to say (sealed in `view_sealed`). */
export interface ApprovalView {
  /** The app's own subject of the requester (what the assertion's `sub` names). */
  requester: string;
  /** Stepgate's key for the requester (`<org>/<subject>` outside the default organisation). */
  requesterSub: string;
  appName: string;
  action: CanonicalAction;
  matchedMethod: string;
  body: BodySummary | null;
  requestedFrom: RequestedFrom | null;
  ruleDescription: string | null;
  /** The requester's step-up before the request waited (empty when the rule asks none). */
  amr: string[];
  /** Seconds; null when the rule asks no step-up of the requester. */
  authTime: number | null;
}

/** One approver's decision, sealed in `approval_votes.sealed`. */
export interface VoteRecord {
  /** The app's own subject of the approver. */
  subject: string;
  /** Stepgate's key for the approver. */
  sub: string;
  /** The factors of their step-up (empty for a denial). */
  amr: string[];
  reason: string | null;
  /** Stepgate's signature over the approval statement (a compact JWS), or null for a denial. */
  statement: string | null;
}

export const sealView = (ring: Keyring, id: string, orgId: string, v: ApprovalView): Promise<string> =>
  seal(ring, 'factor-metadata', JSON.stringify(v), approvalAad(id, orgId, 'view'));

export const openView = async (ring: Keyring, row: Pick<ApprovalRow, 'id' | 'org_id' | 'view_sealed'>): Promise<ApprovalView> =>
  JSON.parse(await open(ring, 'factor-metadata', row.view_sealed, approvalAad(row.id, row.org_id, 'view'))) as ApprovalView;

export const sealJustification = (ring: Keyring, id: string, orgId: string, text: string): Promise<string> =>
  seal(ring, 'factor-metadata', text, approvalAad(id, orgId, 'justification'));

export const openJustification = async (
  ring: Keyring,
  row: Pick<ApprovalRow, 'id' | 'org_id' | 'justification_sealed'>,
): Promise<string | null> =>
  row.justification_sealed === null
    ? null
    : open(ring, 'factor-metadata', row.justification_sealed, approvalAad(row.id, row.org_id, 'justification'));

export const sealVote = (ring: Keyring, approvalId: string, approverRef: string, v: VoteRecord): Promise<string> =>
  seal(ring, 'factor-metadata', JSON.stringify(v), approvalVoteAad(approvalId, approverRef));

export const openVote = async (ring: Keyring, row: Pick<VoteRow, 'approval_id' | 'approver_ref' | 'sealed'>): Promise<VoteRecord> =>
  JSON.parse(await open(ring, 'factor-metadata', row.sealed, approvalVoteAad(row.approval_id, row.approver_ref))) as VoteRecord;

/** A justification as people may type it: trimmed, control characters out, at most 500 characters. */
export function cleanJustification(text: string | null | undefined): string | null {
  if (text === null || text === undefined) return null;
  const clean = text
    .replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g, ' ')
    .trim()
    .slice(0, 500);
  return clean === '' ? null : clean;
}
