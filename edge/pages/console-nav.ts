/**
 * @module Which console pages and controls a person may use, decided by `authorize`
 * (edge/admin/authorization.ts) from their roles, so the console never offers what the admin API
 * would refuse. Hiding is for people, not for security: every action is decided again by the API.
 */
import { type Actor, type AdminAction, type AdminTarget, authorize } from '../admin/authorization';

export const CONSOLE_PAGES = ['overview', 'approvals', 'apps', 'people', 'tokens', 'audit', 'dashboard'] as const;
export type ConsolePage = (typeof CONSOLE_PAGES)[number];

/** The console's pages: their path and their name in the navigation. */
export const PAGE_INFO: Record<ConsolePage, { path: string; label: string }> = {
  overview: { path: '/.stepgate/admin', label: 'Overview' },
  approvals: { path: '/.stepgate/approvals', label: 'Approvals' },
  apps: { path: '/.stepgate/admin/apps', label: 'Apps' },
  people: { path: '/.stepgate/admin/people', label: 'People and roles' },
  tokens: { path: '/.stepgate/admin/tokens', label: 'API tokens' },
  audit: { path: '/.stepgate/admin/audit', label: 'Audit log' },
  dashboard: { path: '/.stepgate/admin/dashboard', label: 'Dashboard' },
};

/** Someone who is not the actor (no real person key holds a NUL character). */
const SOMEONE_ELSE = '\u0000someone-else';

/**
 * Whether `actor` may do `action` to someone else in their organisation: on any app for an
 * org-wide role, on one of their apps for an app-admin.
 */
export function mayDoSomewhere(actor: Actor, action: AdminAction): boolean {
  // Someone within an app-admin's reach (no role of their own), and a policy change that keeps its enrolment.
  const base: AdminTarget = {
    orgId: actor.orgId,
    person: SOMEONE_ELSE,
    personRoles: [],
    role: 'auditor',
    recoveryStartedBy: `${SOMEONE_ELSE}-2`,
    changesEnrolment: false,
  };
  if (authorize(actor, action, base).allowed) return true;
  return actor.roles.some((r) => r.appId !== null && authorize(actor, action, { ...base, appId: r.appId }).allowed);
}

/** What the people page offers: looking someone up, and acting on them. */
const PEOPLE_ACTIONS: readonly AdminAction[] = [
  'role.read',
  'person.invite',
  'person.unlock',
  'person.revoke-factors',
  'recovery.start',
  'recovery.approve',
  'token.revoke',
];

/** The console pages `actor` may open (the overview and approvals always: the overview says what they hold, or that they hold nothing). */
export function pagesAllowed(actor: Actor): Set<ConsolePage> {
  // Approvals: anyone may ask for one, and any signed-in person may be named as an approver.
  const pages = new Set<ConsolePage>(['overview', 'approvals']);
  if (actor.roles.length === 0) return pages;
  // Tokens act as their owner with the owner's roles: anyone who holds a role may have one.
  pages.add('tokens');
  if (mayDoSomewhere(actor, 'app.read')) pages.add('apps');
  if (PEOPLE_ACTIONS.some((a) => mayDoSomewhere(actor, a))) pages.add('people');
  if (mayDoSomewhere(actor, 'audit.read')) pages.add('audit');
  if (mayDoSomewhere(actor, 'dashboard.read')) pages.add('dashboard');
  return pages;
}

/** An app's policy page (editor, tester, report, versions): reached from the apps page, shown under "Apps". */
export const policyPagePath = (orgId: string, appId: string): string =>
  `/.stepgate/admin/orgs/${encodeURIComponent(orgId)}/apps/${encodeURIComponent(appId)}/policy`;

/** The organisation baseline page: the rules every app of the organisation enforces before its own. */
export const baselinePagePath = (orgId: string): string => `/.stepgate/admin/orgs/${encodeURIComponent(orgId)}/baseline`;
