/**
 * @module compileApproval: a rule's `require.approval` (dual control) as the request path and the
 * approval store use it — who may approve, how many, for how long the request waits. The types are
 * re-exported by compile-policy.ts (`CompiledRule.approval`). docs/policy.md, "Dual control".
 */
import { APPROVAL_EXPIRES_DEFAULT, type ApproverRole, approvalExpiresSeconds, type Rule } from './schema';

/** A role an approver group may name: the same names as edge/admin's ROLES (kept equal by a test). */
export type Role = ApproverRole;
/** Who may approve, for one approver group: exactly one of a role, named people (app subjects) or an identity group. */
export type ApproverSource = { role: Role } | { people: readonly string[] } | { claimGroup: string };
/** One approver group: `count` distinct people from `from` must approve. */
export interface ApproverGroup {
  from: ApproverSource;
  count: number;
}
/** A rule's `require.approval`, compiled: every group is required (AND). */
export interface CompiledApproval {
  approvers: readonly ApproverGroup[];
  /** How long a pending request waits (from `expires`, default 1h, at most 7 days). */
  expiresSeconds: number;
  /** Whether the requester steps up before the request waits (default true). */
  requesterStepUp: boolean;
}

/** Compile a validated rule's `require.approval` (null when the rule has none). */
export function compileApproval(approval: Rule['require']['approval']): CompiledApproval | null {
  if (!approval) return null;
  return {
    approvers: approval.approvers.map((g) => ({ from: g.from, count: g.count })),
    expiresSeconds: approvalExpiresSeconds(approval.expires ?? APPROVAL_EXPIRES_DEFAULT),
    requesterStepUp: approval.requesterStepUp ?? true,
  };
}
