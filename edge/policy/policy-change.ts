/**
 * @module What a policy change does to protection: the PolicyChange the weakening classifier reports,
 * and how strict a rule's requirement is (factors, binding, maxAge, approval, enforce or report mode).
 */
import { type ApprovalRequirement, approvalAtLeastAsStrict, approvalWords, readApproval, UNREADABLE } from './approval-change';
import { durationSeconds, type Rule } from './schema';

export type ChangeKind = 'weakens' | 'strengthens' | 'neutral';

/** One classified change, in words a console can show. */
export interface PolicyChange {
  kind: ChangeKind;
  /** The rule's id; null for a document-level field. */
  rule: string | null;
  /**
   * Dotted field (`require.maxAge`, `hosts`); `(rule)` for a rule added or removed; `position` or
   * `match` for a rule that may take over another's requests.
   */
  field: string;
  before?: unknown;
  after?: unknown;
  /** Why, as a sentence. */
  message: string;
}

/** `enforce` (the default), `report` (matched, never challenges), or a value this version does not know. */
export type Mode = 'enforce' | 'report' | 'unknown';

export const modeOf = (v: unknown): Mode => (v === undefined || v === 'enforce' ? 'enforce' : v === 'report' ? 'report' : 'unknown');

/** A rule's mode: `report` rules are matched apart and never take a request from an enforce rule (compile-policy.ts). */
export const ruleMode = (rule: Rule): Mode => modeOf(rule.mode);

export interface Requirement {
  mode: Mode;
  factors: readonly string[];
  bind: string;
  maxAgeSeconds: number;
  /** `require.approval` (approval-change.ts): null when none; UNREADABLE is held to be weaker than anything. */
  approval: ApprovalRequirement | null | typeof UNREADABLE;
}

export const requirementOf = (rule: Rule): Requirement => ({
  mode: ruleMode(rule),
  factors: rule.require.factors,
  bind: rule.require.bind,
  maxAgeSeconds: durationSeconds(rule.require.maxAge ?? '5m'),
  approval: readApproval(rule.require.approval),
});

/** Whether a request held to `a` instead of `b` is held at least as strictly. */
export function atLeastAsStrict(a: Requirement, b: Requirement): boolean {
  if (b.mode === 'report') return true; // b never challenged anyone
  if (a.mode !== 'enforce') return false; // report never challenges; an unknown mode is assumed not to
  return (
    a.factors.every((f) => b.factors.includes(f)) &&
    (a.bind === b.bind || (a.bind === 'action' && b.bind === 'session')) &&
    a.maxAgeSeconds <= b.maxAgeSeconds &&
    approvalAtLeastAsStrict(a.approval, b.approval)
  );
}

export const describeRequirement = (r: Requirement): string =>
  r.mode === 'report'
    ? 'nothing (report only)'
    : `${r.factors.join(' or ')}, bound to the ${r.bind}, ${r.maxAgeSeconds}s` +
      `${approvalText(r.approval)}${r.mode === 'unknown' ? ', in an unknown mode' : ''}`;

const approvalText = (a: Requirement['approval']): string =>
  a === null ? '' : a === UNREADABLE ? ', with an approval this version cannot read' : `, then ${approvalWords(a)}`;

/** A factor that cannot be phished (a passkey is bound to the site's origin). */
export const PHISHING_RESISTANT: readonly string[] = ['webauthn'];
