/**
 * @module Who may approve a dual-control request, and when enough have: a person's approver groups
 * (by role in the organisation, by name, by a group of their identity claims), the quorum — every
 * group its count, one person counted once even when they belong to several groups — and the
 * groups in words.
 */
import type { ApprovalRequirementJson } from '../../shared/wire-shapes';
import type { HeldRole } from '../admin/authorization';
import type { ApproverGroup, CompiledApproval } from '../policy/compile-policy';

/** Who a person is, as far as approver groups go. */
export interface ApproverFacts {
  /** The app's own subject. */
  subject: string;
  /** Their roles in the request's organisation. */
  roles: readonly HeldRole[];
  /** Their identity's groups claim, if the app's identity configuration reads one. */
  groups: readonly string[] | undefined;
}

/**
 * The roles that count for a role an approver group names: an owner counts among the admins, and an
 * owner or admin among an app's admins (they administer every app); an app-admin for their own app only.
 */
const COUNTS_AS: Record<string, readonly string[]> = {
  owner: ['owner'],
  admin: ['owner', 'admin'],
  'app-admin': ['owner', 'admin', 'app-admin'],
  auditor: ['auditor'],
  helpdesk: ['helpdesk'],
};

/** Whether a person belongs to one approver group. */
export function inGroup(g: ApproverGroup, who: ApproverFacts, appId: string): boolean {
  const from = g.from;
  if ('role' in from)
    return who.roles.some((r) => (COUNTS_AS[from.role] ?? []).includes(r.role) && (r.role !== 'app-admin' || r.appId === appId));
  if ('people' in from) return from.people.includes(who.subject);
  return who.groups?.includes(from.claimGroup) ?? false;
}

/** The indexes of the groups a person belongs to (empty: they may not approve). */
export const groupsOf = (approval: CompiledApproval, who: ApproverFacts, appId: string): number[] =>
  approval.approvers.flatMap((g, i) => (inGroup(g, who, appId) ? [i] : []));

/**
 * How many approvals each group has, when every approver is counted in at most one group (a
 * maximum matching of approvers to the groups' seats, Kuhn's algorithm: a few people, a few seats).
 * `met` when every group has its count.
 */
export function quorum(approval: CompiledApproval, approvers: readonly (readonly number[])[]): { have: number[]; met: boolean } {
  const seats: number[] = approval.approvers.flatMap((g, i) => Array.from({ length: g.count }, () => i));
  const seatOwner: (number | null)[] = seats.map(() => null);
  const tryPlace = (person: number, seen: boolean[]): boolean => {
    for (let s = 0; s < seats.length; s++) {
      if (seen[s] || !approvers[person]!.includes(seats[s]!)) continue;
      seen[s] = true;
      const owner = seatOwner[s]!;
      if (owner === null || tryPlace(owner, seen)) {
        seatOwner[s] = person;
        return true;
      }
    }
    return false;
  };
  for (let p = 0; p < approvers.length; p++)
    tryPlace(
      p,
      seats.map(() => false),
    );
  const have = approval.approvers.map((_, i) => seats.filter((g, s) => g === i && seatOwner[s] !== null).length);
  return { have, met: have.every((n, i) => n >= approval.approvers[i]!.count) };
}

const ROLE_WORDS: Record<string, string> = {
  owner: 'owners',
  admin: 'admins',
  'app-admin': 'admins of this app',
  auditor: 'auditors',
  helpdesk: 'helpdesk',
};

/** One group in words, as the pages and the extension show it. */
export function describeGroup(g: ApproverGroup): Pick<ApprovalRequirementJson, 'from' | 'kind'> {
  const from = g.from;
  if ('role' in from) return { kind: 'role', from: ROLE_WORDS[from.role] ?? from.role };
  if ('people' in from) {
    const names = from.people;
    const words = names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
    return { kind: 'people', from: words };
  }
  return { kind: 'claimGroup', from: `group ${from.claimGroup}` };
}

/** The groups as the wire shows them, with the approvals counted toward each. */
export const requirementJson = (approval: CompiledApproval, have: readonly number[]): ApprovalRequirementJson[] =>
  approval.approvers.map((g, i) => ({ ...describeGroup(g), count: g.count, have: have[i] ?? 0 }));

/** "one of the admins", "2 of bob, carol or dave, and one from group finance": who must approve, in a sentence. */
export function whoMustApprove(approval: CompiledApproval): string {
  const parts = approval.approvers.map((g) => {
    const { from, kind } = describeGroup(g);
    const n = g.count === 1 ? 'one' : String(g.count);
    if (kind === 'people') return g.count === 1 ? from : `${n} of ${from}`;
    if (kind === 'claimGroup') return `${n} from ${from}`;
    return `${n} of the ${from}`;
  });
  return parts.length === 1 ? parts[0]! : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}
