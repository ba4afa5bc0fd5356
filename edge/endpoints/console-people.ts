/**
 * @module The data of the console's people page, read from the domain stores for one viewer: the
 * person looked up (their overview only for those who may read roles: B's `personOverview`), their
 * open recovery and the organisation's (C's recovery store, for those who may start or approve
 * one), the role grants (role.read), and which actions the viewer's roles allow on each — decided
 * by `authorize` exactly as the admin API will decide them.
 */
import { type AdminAction, type AdminTarget, authorize, ROLES, type Role } from '../admin/authorization';
import { bundledAppOf, listApps } from '../admin/app-store';
import { DEFAULT_ORG } from '../admin/org-store';
import { personOverview } from '../admin/person-overview';
import { cancelTarget, mayListRecoveries } from '../admin/recovery';
import { listOpenRecoveries, openRecoveryFor, type Recovery } from '../admin/recovery-store';
import { listRoleGrants, rolesOf } from '../admin/role-store';
import type { Runtime } from '../deployment/runtime';
import type { PeopleData, PersonView } from '../pages/people-page';
import type { RecoveryView } from '../pages/roles-panel';
import { personOf, subjectOf } from './admin-access';
import type { ConsoleViewer } from './console-access';
import { pageBadInput } from './console-access';

/** The person `user` names in `org`, or null: in `default` a subject with "/" would be another organisation's person. */
const personIn = (org: string, user: string): string | null => (org === DEFAULT_ORG && user.includes('/') ? null : personOf(org, user));

export async function peopleData(rt: Runtime, v: ConsoleViewer, lookup: string): Promise<PeopleData | Response> {
  const org = v.actor.orgId;
  const now = rt.now();
  const may = (action: AdminAction, target: Omit<AdminTarget, 'orgId'> = {}) =>
    authorize(v.actor, action, { orgId: org, ...target }).allowed;
  // The bundled app is an app of `default` too: its app-admins are granted here like any app's.
  const bundled = await bundledAppOf(rt.db, org);
  const apps = [...(bundled ? [{ id: bundled.id, name: bundled.name }] : []), ...(await listApps(rt.db, org))];
  const appName = (id: string | null) => (id === null ? null : (apps.find((a) => a.id === id)?.name ?? `app ${id}`));
  const seesRecoveries = mayListRecoveries(v.actor);
  // Only an owner acts on an owner's recovery (authorize needs the person's roles): the organisation's grants, read once.
  const orgGrants = seesRecoveries ? await listRoleGrants(rt.db, rt.keys, { orgId: org }) : [];
  const rolesIn = (person: string) => orgGrants.filter((g) => g.person === person).map((g) => ({ role: g.role, appId: g.appId }));
  const recoveryView = (r: Recovery): RecoveryView => ({
    id: r.id,
    user: subjectOf(org, r.person),
    state: r.state,
    startedBy: subjectOf(org, r.startedBy),
    startedAt: r.startedAt,
    approvedBy: r.approvedBy === null ? null : subjectOf(org, r.approvedBy),
    effectiveAt: r.effectiveAt,
    expiresAt: r.expiresAt,
    may: {
      approve: may('recovery.approve', { person: r.person, recoveryStartedBy: r.startedBy, personRoles: rolesIn(r.person) }),
      cancel: may('recovery.approve', { ...cancelTarget(org, r.person), personRoles: rolesIn(r.person) }),
    },
  });

  let person: PersonView | null = null;
  const user = lookup.trim();
  if (user !== '') {
    const key = user.length <= 256 ? personIn(org, user) : null;
    if (key === null)
      return pageBadInput(
        'people',
        'A user id is at most 256 characters, and in this organisation it never contains "/". Check it and look again.',
      );
    const open = seesRecoveries ? await openRecoveryFor(rt.db, rt.keys, org, key, now) : null;
    // invite and unlock act through the app the viewer came in by (POST /.stepgate/api/admin/invites, /unlock).
    // An app-admin acts only on people within their apps: authorize needs the person's roles.
    const viaApp = { appId: rt.app.id, person: key, personRoles: await rolesOf(rt.db, rt.keys, org, key) };
    const readable = may('role.read', { person: key });
    const details = readable
      ? await personOverview({ db: rt.db, keys: rt.keys, userState: rt.userState(key), org, person: key, now })
      : null;
    person = {
      user,
      details: details && {
        factors: details.factors,
        lock: details.lock,
        roles: details.roles.map((g) => ({ role: g.role, appName: appName(g.appId) })),
        tokens: details.tokens.map((t) => ({ label: t.label, scopes: t.scopes, expiresAt: t.expiresAt, revoked: t.revokedAt !== null })),
      },
      ...(seesRecoveries ? { recovery: open && recoveryView(open) } : {}),
      may: {
        invite: may('person.invite', viaApp),
        unlock: may('person.unlock', viaApp),
        revokeFactors: may('person.revoke-factors', { person: key, personRoles: viaApp.personRoles }),
        revokeTokens: may('token.revoke', { person: key, personRoles: viaApp.personRoles }),
        startRecovery: may('recovery.start', { person: key, personRoles: viaApp.personRoles }),
        approveRecovery:
          open !== null && may('recovery.approve', { person: key, recoveryStartedBy: open.startedBy, personRoles: viaApp.personRoles }),
        cancelRecovery: open !== null && may('recovery.approve', { ...cancelTarget(org, key), personRoles: viaApp.personRoles }),
      },
      selfNote:
        key === v.me.sub
          ? 'This is you. Nobody resets, recovers, unlocks or revokes their own factors, or changes their own roles: ask someone else.'
          : null,
    };
  }

  const recoveries = seesRecoveries ? (await listOpenRecoveries(rt.db, rt.keys, org, now)).map(recoveryView) : null;
  const grants = may('role.read')
    ? {
        grants: (await listRoleGrants(rt.db, rt.keys, { orgId: org })).map((g) => ({
          id: g.id,
          user: subjectOf(org, g.person),
          role: g.role,
          appName: appName(g.appId),
          grantedBy: g.grantedBy === null ? null : subjectOf(org, g.grantedBy),
          grantedAt: g.grantedAt,
          mayRevoke: may('role.revoke', { person: g.person, role: g.role, ...(g.appId === null ? {} : { appId: g.appId }) }),
        })),
        grantable: ROLES.filter((role: Role) =>
          role === 'app-admin'
            ? apps.length > 0 && apps.some((a) => may('role.grant', { person: '\u0000someone', role, appId: a.id }))
            : may('role.grant', { person: '\u0000someone', role }),
        ),
        apps: apps.map((a) => ({ id: a.id, name: a.name })),
      }
    : null;
  return { lookup: user, person, recoveries, grants, now };
}
