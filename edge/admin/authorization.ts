/**
 * @module Who may do which administrative action to what (docs/admin.md): the roles, the actions,
 * and the segregation rules, as one pure function. It reads nothing and writes nothing: the caller
 * brings the actor's roles (role-store.ts, `rolesOf`) and the target. The one rule that needs the
 * database at the moment of the change — never removing the last owner — is enforced by the store
 * in the same statement (`revokeRole`), and refused with the reason named here. Creating and listing
 * organisations is the deployment operator's (`authorizeOrgAction`): an owner of the default organisation.
 */

export const ROLES = ['owner', 'admin', 'app-admin', 'auditor', 'helpdesk'] as const;
export type Role = (typeof ROLES)[number];

/** A role a person holds: org-wide (`appId` null) or, for app-admin, for one app. */
export interface HeldRole {
  role: Role;
  appId: string | null;
}

export const ADMIN_ACTIONS = [
  'app.read',
  'app.create',
  'app.update',
  'app.delete',
  'policy.read',
  'policy.update',
  // Approving a weakening version (a proposal) of an app's policy: an owner or admin, never the author (docs/policy.md).
  'policy.approve',
  'role.read',
  'role.grant',
  'role.revoke',
  'person.invite',
  'person.unlock',
  'person.revoke-factors',
  'recovery.start',
  'recovery.approve',
  'token.read',
  'token.revoke',
  'audit.read',
  'audit.export',
  'dashboard.read',
  'baseline.read',
  'baseline.update',
  // The organisation's webhook of dual-control notices (docs/admin.md, "Webhooks"): owners and admins, in a browser only.
  'webhook.manage',
] as const;
export type AdminAction = (typeof ADMIN_ACTIONS)[number];

/** What each org-wide role may do anywhere in its organisation. */
const ORG_WIDE: Record<Exclude<Role, 'app-admin'>, readonly AdminAction[]> = {
  owner: ADMIN_ACTIONS,
  admin: ADMIN_ACTIONS, // "roles except owner": refused below as owner-only
  auditor: ['audit.read', 'audit.export', 'dashboard.read', 'baseline.read'],
  helpdesk: ['person.unlock', 'recovery.start'],
};
/** What an app-admin may do, for the apps named in their grants only. */
const APP_ADMIN: readonly AdminAction[] = ['app.read', 'policy.read', 'policy.update', 'person.invite', 'person.unlock', 'baseline.read'];

/** Actions on a person's factors: never on oneself. */
const ON_OWN_FACTORS: readonly AdminAction[] = [
  'person.invite',
  'person.unlock',
  'person.revoke-factors',
  'recovery.start',
  'recovery.approve',
];
/**
 * Actions on an owner's factors or tokens: only another owner takes them. Why: an admin who could
 * revoke an owner's factors and invite them anew, or start and approve their recovery with a second
 * admin, could make themselves the owner. Unlocking is not among them: it only clears failure
 * counters and gives no one a way in (the owner still needs their own factor), and an owner locked
 * out by someone guessing must not wait for another owner.
 */
const OWNER_ONLY_ON_OWNERS: readonly AdminAction[] = [
  'person.invite',
  'person.revoke-factors',
  'recovery.start',
  'recovery.approve',
  'token.revoke',
];
/** Actions that change a person's roles: never one's own. */
const ON_OWN_ROLES: readonly AdminAction[] = ['role.grant', 'role.revoke'];
/** Actions that need a person as their target. */
const NEEDS_PERSON: readonly AdminAction[] = [...ON_OWN_FACTORS, ...ON_OWN_ROLES, 'token.revoke'];

/** The person acting: Stepgate's key for them (Identity.sub), their organisation, and their roles there. */
export interface Actor {
  sub: string;
  orgId: string;
  roles: readonly HeldRole[];
}

/** What the action is done to. */
export interface AdminTarget {
  /** The organisation the target belongs to. */
  orgId: string;
  /** The app, for app-scoped actions (an app's settings or policy, or a person acted on through that app). */
  appId?: string;
  /** The person acted on (Identity.sub). */
  person?: string;
  /** role.grant / role.revoke: the role granted or revoked. */
  role?: Role;
  /** recovery.approve: who started the recovery. */
  recoveryStartedBy?: string;
  /**
   * The roles the person acted on holds in the organisation (role-store.ts `rolesOf`). An app-admin
   * acting on a person must say them: left out, the person is taken to hold roles beyond the app-admin's reach.
   * So must anyone but an owner for the actions only an owner takes on an owner (invite, revoke
   * factors, start or approve recovery, revoke tokens): left out, the action is refused.
   */
  personRoles?: readonly HeldRole[];
  /**
   * policy.update: whether the new policy's `enrolment` differs from the stored one's (app-input.ts
   * `changesEnrolment`). Left out, it is taken to differ: only an owner or admin may then update.
   */
  changesEnrolment?: boolean;
}

export type RefusalCode =
  | 'other-organisation'
  | 'not-allowed'
  | 'not-your-app'
  | 'own-roles'
  | 'own-factors'
  | 'owner-only'
  | 'owner-target'
  | 'last-owner'
  | 'same-person-approves'
  | 'incomplete-target'
  | 'person-beyond-app'
  | 'enrolment-owner-admin'
  | 'operator-only';

export type Decision = { allowed: true } | { allowed: false; code: RefusalCode; reason: string };

/** The reason given for each refusal (the HTTP API answers 403 ERR_FORBIDDEN with it). */
export const REFUSALS: Record<RefusalCode, string> = {
  'other-organisation': 'you can act only in your own organisation',
  'not-allowed': 'none of your roles allows this action',
  'not-your-app': 'you administer other apps, not this one',
  'own-roles': 'nobody grants or revokes their own roles: ask another owner or admin',
  'own-factors': 'nobody resets, recovers, unlocks or revokes their own factors: ask someone else',
  'owner-only': 'only an owner grants or revokes the owner role',
  'last-owner': 'this is the organisation’s last owner: grant another owner first',
  'same-person-approves': 'a recovery must be approved by someone other than the person who started it',
  'incomplete-target': 'this action needs a person (and, to grant or revoke, a role) to act on',
  'owner-target': 'only an owner invites, revokes the factors or tokens of, or starts or approves recovery for an owner: ask another owner',
  'person-beyond-app': 'an app-admin acts only on people who hold no role beyond your apps: ask an owner or admin',
  'enrolment-owner-admin': 'only an owner or admin changes how people enrol (the policy’s "enrolment")',
  'operator-only': 'only an owner of the default organisation (the deployment’s operator) creates or lists organisations',
};

const refuse = (code: RefusalCode, detail?: string): Decision => ({
  allowed: false,
  code,
  reason: detail ? `${REFUSALS[code]} (${detail})` : REFUSALS[code],
});

/** May `actor` do `action` to `target`? The first rule broken is the reason. */
export function authorize(actor: Actor, action: AdminAction, target: AdminTarget): Decision {
  // An organisation's people never act on another organisation, whatever their roles.
  if (actor.orgId !== target.orgId) return refuse('other-organisation');
  if (NEEDS_PERSON.includes(action) && target.person === undefined) return refuse('incomplete-target');
  if (ON_OWN_ROLES.includes(action) && target.role === undefined) return refuse('incomplete-target');

  const orgWide = actor.roles.some((r) => r.role !== 'app-admin' && ORG_WIDE[r.role].includes(action));
  if (!orgWide) {
    const apps = actor.roles.filter((r) => r.role === 'app-admin' && r.appId !== null).map((r) => r.appId!);
    if (apps.length === 0 || !APP_ADMIN.includes(action)) return refuse('not-allowed', action);
    // Why: the organisation baseline binds every app; its app-admins read it to know why an edit is refused.
    if (action === 'baseline.read') return { allowed: true };
    if (target.appId === undefined || !apps.includes(target.appId)) return refuse('not-your-app');
    // Why: people are organisation-wide. An app-admin who could unlock or invite an owner, admin,
    // auditor or helpdesk (or another app's app-admin) would reach beyond their app.
    if (target.person !== undefined && !withinApps(target.personRoles, apps)) return refuse('person-beyond-app');
    // Why: `enrolment: first-use` lets a stolen session enrol the thief's factor: an organisation-level choice.
    if (action === 'policy.update' && target.changesEnrolment !== false) return refuse('enrolment-owner-admin');
  }

  if (target.person !== undefined && target.person === actor.sub) {
    if (ON_OWN_ROLES.includes(action)) return refuse('own-roles');
    if (ON_OWN_FACTORS.includes(action)) return refuse('own-factors');
  }
  const isOwner = actor.roles.some((r) => r.role === 'owner');
  if (ON_OWN_ROLES.includes(action) && target.role === 'owner' && !isOwner) return refuse('owner-only');
  if (action === 'recovery.approve' && (target.recoveryStartedBy === undefined || target.recoveryStartedBy === actor.sub)) {
    return target.recoveryStartedBy === undefined ? refuse('incomplete-target') : refuse('same-person-approves');
  }
  if (OWNER_ONLY_ON_OWNERS.includes(action) && !isOwner) {
    // Fails closed: a caller that did not look the person's roles up gets no benefit of the doubt.
    if (target.personRoles === undefined) return refuse('incomplete-target', 'the person’s roles');
    if (target.personRoles.some((r) => r.role === 'owner')) return refuse('owner-target');
  }
  return { allowed: true };
}

/** Whether every role of `roles` is an app-admin grant for one of `apps` (unknown roles: no). */
const withinApps = (roles: readonly HeldRole[] | undefined, apps: readonly string[]): boolean =>
  roles?.every((r) => r.role === 'app-admin' && r.appId !== null && apps.includes(r.appId)) === true;

/** The organisation whose owners operate the deployment (org-store.ts DEFAULT_ORG). */
export const OPERATOR_ORG = 'default';

/** What only the deployment's operator does: create organisations, and list them all. */
export const ORG_ACTIONS = ['org.create', 'org.list'] as const;
export type OrgAction = (typeof ORG_ACTIONS)[number];

/**
 * May `actor` create organisations, or list every one (`org.list`; anyone else sees their own)?
 * Only an owner of the default organisation, acting in it: an owner of any other organisation is
 * a customer of the deployment, not its operator.
 */
export function authorizeOrgAction(actor: Actor, _action: OrgAction): Decision {
  if (actor.orgId === OPERATOR_ORG && actor.roles.some((r) => r.role === 'owner')) return { allowed: true };
  return refuse('operator-only');
}

/** The refusal a store's "last owner" outcome is answered with. */
export const lastOwnerRefusal = (): Decision => refuse('last-owner');
