/**
 * @module Dual control between policy versions: how strict a rule's `require.approval` is, whether
 * one is at least as strict as another (rule shadowing, baselines), what a change of it does
 * (weakening.ts), and the approvers in words. docs/policy.md, "What counts as weakening".
 *
 * Approver groups are paired by who they name (`from`), never by position: a group whose `from`
 * changed in any way (another role, a person added or removed, another claim group) counts as that
 * group removed, which weakens (fail closed: Stepgate cannot tell a wider set of approvers from a
 * narrower one, and a new person is a new way past the rule).
 */
import { APPROVAL_EXPIRES_DEFAULT, approvalExpiresSeconds, APPROVER_ROLES } from './schema';

/** A rule's approval as the classifier reads it: groups by key, or null when the rule has none. */
export interface ApprovalRequirement {
  /** key (approverKey) → count; several groups naming the same approvers cannot pass validation. */
  groups: ReadonlyMap<string, number>;
  /** The words of each key, for messages. */
  words: ReadonlyMap<string, string>;
  expiresSeconds: number;
  requesterStepUp: boolean;
}

/** Read failure: a shape this version does not know (only from an unvalidated document; fails closed). */
export const UNREADABLE = 'unreadable' as const;

const ROLE_WORDS: Record<string, string> = {
  owner: 'owners',
  admin: 'admins',
  'app-admin': 'app admins',
  auditor: 'auditors',
  helpdesk: 'helpdesk',
};

/** One `from`, keyed so the same approvers compare equal (people as a set); null for an unknown shape. */
export function approverKey(from: unknown): string | null {
  if (!from || typeof from !== 'object' || Array.isArray(from)) return null;
  const keys = Object.keys(from);
  if (keys.length !== 1) return null;
  const o = from as Record<string, unknown>;
  if (typeof o.role === 'string' && (APPROVER_ROLES as readonly string[]).includes(o.role)) return `role:${o.role}`;
  if (Array.isArray(o.people) && o.people.length > 0 && o.people.every((p) => typeof p === 'string'))
    return `people:${JSON.stringify([...new Set(o.people as string[])].sort())}`;
  if (typeof o.claimGroup === 'string' && o.claimGroup !== '') return `claimGroup:${o.claimGroup}`;
  return null;
}

/** Who a `from` names, in words: "admins", "bob or carol", "group finance". */
export function approverSourceWords(from: unknown): string {
  const o = (from ?? {}) as Record<string, unknown>;
  if (typeof o.role === 'string') return ROLE_WORDS[o.role] ?? o.role;
  if (Array.isArray(o.people)) return o.people.join(o.people.length === 2 ? ' or ' : ', ');
  if (typeof o.claimGroup === 'string') return `group ${o.claimGroup}`;
  return JSON.stringify(from);
}

/** A rule's `require.approval` read for comparison: null when absent, UNREADABLE for an unknown shape. */
export function readApproval(raw: unknown): ApprovalRequirement | null | typeof UNREADABLE {
  if (raw === undefined) return null;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return UNREADABLE;
  const a = raw as Record<string, unknown>;
  if (Object.keys(a).some((k) => !['approvers', 'expires', 'requesterStepUp'].includes(k))) return UNREADABLE;
  if (!Array.isArray(a.approvers) || a.approvers.length === 0) return UNREADABLE;
  const groups = new Map<string, number>();
  const words = new Map<string, string>();
  for (const g of a.approvers as unknown[]) {
    const group = (g ?? {}) as Record<string, unknown>;
    const key = approverKey(group.from);
    const extra = Object.keys(group).some((k) => k !== 'from' && k !== 'count');
    if (key === null || extra || !Number.isInteger(group.count) || (group.count as number) < 1 || groups.has(key)) return UNREADABLE;
    groups.set(key, group.count as number);
    words.set(key, approverSourceWords(group.from));
  }
  let expiresSeconds: number;
  try {
    expiresSeconds = approvalExpiresSeconds(a.expires === undefined ? APPROVAL_EXPIRES_DEFAULT : String(a.expires));
  } catch {
    return UNREADABLE;
  }
  if (a.requesterStepUp !== undefined && typeof a.requesterStepUp !== 'boolean') return UNREADABLE;
  return { groups, words, expiresSeconds, requesterStepUp: a.requesterStepUp !== false };
}

/** Why `after` asks less than `before`, and how it asks more; both empty when they mean the same. */
export function compareApprovals(
  before: ApprovalRequirement | null,
  after: ApprovalRequirement | null,
): { weaker: string[]; stricter: string[] } {
  const weaker: string[] = [];
  const stricter: string[] = [];
  if (before === null && after === null) return { weaker, stricter };
  if (after === null) return { weaker: ['it no longer needs anyone to approve the request'], stricter };
  if (before === null) return { weaker, stricter: [`it now needs ${approvalWords(after)}`] };
  for (const [key, count] of before.groups) {
    const now = after.groups.get(key);
    const who = before.words.get(key)!;
    if (now === undefined) weaker.push(`the approver group "${who}" was removed or now names other approvers`);
    else if (now < count) weaker.push(`${who} now need ${now} approval(s) instead of ${count}`);
    else if (now > count) stricter.push(`${who} now need ${now} approval(s) instead of ${count}`);
  }
  for (const key of after.groups.keys())
    if (!before.groups.has(key)) stricter.push(`the approver group "${after.words.get(key)}" was added (${after.groups.get(key)} needed)`);
  if (after.expiresSeconds > before.expiresSeconds)
    weaker.push(`a request now waits ${seconds(after.expiresSeconds)} for approval instead of ${seconds(before.expiresSeconds)}`);
  else if (after.expiresSeconds < before.expiresSeconds)
    stricter.push(`a request now waits ${seconds(after.expiresSeconds)} for approval instead of ${seconds(before.expiresSeconds)}`);
  if (before.requesterStepUp && !after.requesterStepUp) weaker.push('the requester no longer steps up before the request waits');
  else if (!before.requesterStepUp && after.requesterStepUp) stricter.push('the requester now steps up before the request waits');
  return { weaker, stricter };
}

/** Whether a request held to approval `a` is held at least as strictly as under `b` (UNREADABLE is never). */
export function approvalAtLeastAsStrict(
  a: ApprovalRequirement | null | typeof UNREADABLE,
  b: ApprovalRequirement | null | typeof UNREADABLE,
): boolean {
  if (b === null) return true;
  if (a === UNREADABLE || b === UNREADABLE) return false;
  return compareApprovals(b, a).weaker.length === 0;
}

const seconds = (s: number): string => (s % 86400 === 0 ? `${s / 86400}d` : s % 3600 === 0 ? `${s / 3600}h` : `${s / 60}m`);

/** "approval by 1 of admins and 2 of bob or carol (waits up to 1h; the requester steps up first)". */
export function approvalWords(a: ApprovalRequirement): string {
  const groups = [...a.groups].map(([key, count]) => `${count} of ${a.words.get(key)}`).join(' and ');
  const stepUp = a.requesterStepUp ? 'the requester steps up first' : 'without the requester stepping up';
  return `approval by ${groups} (waits up to ${seconds(a.expiresSeconds)}; ${stepUp})`;
}
