/**
 * The administration rules (edge/admin/authorization.ts) as a table: every role × every action ×
 * same/other organisation × another person/oneself, against an expectation written out here as
 * data (not derived from the module), then each segregation rule on its own: the app-admin's
 * reach (people and `enrolment`) and the operator's organisation actions included.
 */
import { describe, expect, it } from 'vitest';
import {
  ADMIN_ACTIONS,
  type Actor,
  type AdminAction,
  type AdminTarget,
  authorize,
  authorizeOrgAction,
  type HeldRole,
  lastOwnerRefusal,
  ORG_ACTIONS,
  REFUSALS,
} from '../../edge/admin/authorization';

const ORG = 'acme';
const OTHER_ORG = 'globex';
const ME = 'acme/me';
const SOMEONE = 'acme/someone';
const STARTER = 'acme/starter';
const MY_APP = 'app-mine';
const OTHER_APP = 'app-other';

/** The expectation, written out: what each kind of actor may do (in its own organisation, to someone else). */
const MAY: Record<string, readonly AdminAction[]> = {
  owner: [
    'app.read',
    'app.create',
    'app.update',
    'app.delete',
    'policy.read',
    'policy.update',
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
    'webhook.manage',
  ],
  admin: [
    'app.read',
    'app.create',
    'app.update',
    'app.delete',
    'policy.read',
    'policy.update',
    'policy.approve',
    'role.read',
    'role.grant', // roles except owner: see below
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
    'webhook.manage',
  ],
  'app-admin of this app': ['app.read', 'policy.read', 'policy.update', 'person.invite', 'person.unlock', 'baseline.read'],
  // The organisation baseline binds every app: any app-admin reads it.
  'app-admin of another app': ['baseline.read'],
  auditor: ['audit.read', 'audit.export', 'dashboard.read', 'baseline.read'],
  helpdesk: ['person.unlock', 'recovery.start'],
  'no role': [],
};
const ROLES_OF: Record<string, HeldRole[]> = {
  owner: [{ role: 'owner', appId: null }],
  admin: [{ role: 'admin', appId: null }],
  'app-admin of this app': [{ role: 'app-admin', appId: MY_APP }],
  'app-admin of another app': [{ role: 'app-admin', appId: OTHER_APP }],
  auditor: [{ role: 'auditor', appId: null }],
  helpdesk: [{ role: 'helpdesk', appId: null }],
  'no role': [],
};
const ON_ROLES: AdminAction[] = ['role.grant', 'role.revoke'];
const ON_FACTORS: AdminAction[] = ['person.invite', 'person.unlock', 'person.revoke-factors', 'recovery.start', 'recovery.approve'];

/** What each refusal is expected to be, cell by cell. */
function expected(kind: string, action: AdminAction, sameOrg: boolean, self: boolean): string {
  if (!sameOrg) return 'other-organisation';
  if (!MAY[kind]!.includes(action)) {
    if (kind === 'app-admin of another app' && MAY['app-admin of this app']!.includes(action)) return 'not-your-app';
    return 'not-allowed';
  }
  if (self && ON_ROLES.includes(action)) return 'own-roles';
  if (self && ON_FACTORS.includes(action)) return 'own-factors';
  return 'allowed';
}

const cells = Object.keys(MAY).flatMap((kind) =>
  ADMIN_ACTIONS.flatMap((action) => [true, false].flatMap((sameOrg) => [false, true].map((self) => ({ kind, action, sameOrg, self })))),
);

describe('authorize: role × action × organisation × person', () => {
  it('covers every cell of the table', () => {
    expect(cells).toHaveLength(7 * ADMIN_ACTIONS.length * 2 * 2);
    expect(ADMIN_ACTIONS).toHaveLength(23);
  });

  it.each(cells)('$kind: $action (same org: $sameOrg, on oneself: $self)', ({ kind, action, sameOrg, self }) => {
    const actor: Actor = { sub: ME, orgId: ORG, roles: ROLES_OF[kind]! };
    const target: AdminTarget = {
      orgId: sameOrg ? ORG : OTHER_ORG,
      appId: MY_APP,
      person: self ? ME : SOMEONE,
      role: 'admin',
      recoveryStartedBy: STARTER,
      personRoles: self ? ROLES_OF[kind]! : [],
      changesEnrolment: false,
    };
    const d = authorize(actor, action, target);
    const want = expected(kind, action, sameOrg, self);
    if (want === 'allowed') expect(d).toEqual({ allowed: true });
    else {
      expect(d).toMatchObject({ allowed: false, code: want });
      if (!d.allowed) expect(d.reason.startsWith(REFUSALS[d.code])).toBe(true);
    }
  });

  it('allows exactly the cells the table allows (a count that moves if a rule does)', () => {
    const allowed = cells.filter(
      ({ kind, action, sameOrg, self }) =>
        authorize({ sub: ME, orgId: ORG, roles: ROLES_OF[kind]! }, action, {
          orgId: sameOrg ? ORG : OTHER_ORG,
          appId: MY_APP,
          person: self ? ME : SOMEONE,
          role: 'admin',
          recoveryStartedBy: STARTER,
          personRoles: self ? ROLES_OF[kind]! : [],
          changesEnrolment: false,
        }).allowed,
    );
    // owner 23 + admin 23 + app-admin 6 + app-admin of another app 1 (baseline.read) + auditor 4 + helpdesk 2, to someone
    // else; on oneself, minus the 7 person actions each (owner, admin), 2 (app-admin: invite, unlock), 0 (auditor), 2 (helpdesk).
    expect(allowed.length).toBe(23 + 23 + 6 + 1 + 4 + 2 + (23 - 7) + (23 - 7) + (6 - 2) + 1 + 4 + 0);
  });
});

describe('segregation rules', () => {
  const owner: Actor = { sub: ME, orgId: ORG, roles: [{ role: 'owner', appId: null }] };
  const admin: Actor = { sub: ME, orgId: ORG, roles: [{ role: 'admin', appId: null }] };

  it.each(['role.grant', 'role.revoke'] as const)('only an owner %s the owner role', (action) => {
    expect(authorize(owner, action, { orgId: ORG, person: SOMEONE, role: 'owner' })).toEqual({ allowed: true });
    expect(authorize(admin, action, { orgId: ORG, person: SOMEONE, role: 'owner' })).toMatchObject({
      allowed: false,
      code: 'owner-only',
      reason: 'only an owner grants or revokes the owner role',
    });
    // an admin with an app-admin grant besides is still not an owner
    const both: Actor = { ...admin, roles: [...admin.roles, { role: 'app-admin', appId: MY_APP }] };
    expect(authorize(both, action, { orgId: ORG, person: SOMEONE, role: 'owner' })).toMatchObject({ code: 'owner-only' });
    expect(authorize(admin, action, { orgId: ORG, person: SOMEONE, role: 'auditor' })).toEqual({ allowed: true });
  });

  it('nobody changes their own roles, not even an owner stepping down, nor grants themselves owner', () => {
    for (const role of ['owner', 'admin', 'auditor'] as const) {
      for (const action of ['role.grant', 'role.revoke'] as const) {
        expect(authorize(owner, action, { orgId: ORG, person: ME, role })).toMatchObject({
          code: 'own-roles',
          reason: 'nobody grants or revokes their own roles: ask another owner or admin',
        });
      }
    }
  });

  it('nobody resets, recovers, unlocks or revokes their own factors', () => {
    for (const action of ON_FACTORS) {
      expect(authorize(owner, action, { orgId: ORG, person: ME, recoveryStartedBy: STARTER })).toMatchObject({ code: 'own-factors' });
    }
    // one's own tokens are not factors: revoking one's own token stays allowed
    expect(authorize(owner, 'token.revoke', { orgId: ORG, person: ME })).toEqual({ allowed: true });
  });

  it('a recovery is approved by someone other than the person who started it; helpdesk starts but never approves', () => {
    expect(authorize(admin, 'recovery.approve', { orgId: ORG, person: SOMEONE, recoveryStartedBy: ME })).toMatchObject({
      code: 'same-person-approves',
      reason: 'a recovery must be approved by someone other than the person who started it',
    });
    expect(authorize(admin, 'recovery.approve', { orgId: ORG, person: SOMEONE, recoveryStartedBy: STARTER, personRoles: [] })).toEqual({
      allowed: true,
    });
    expect(authorize(admin, 'recovery.approve', { orgId: ORG, person: SOMEONE })).toMatchObject({ code: 'incomplete-target' });
    const helpdesk: Actor = { sub: ME, orgId: ORG, roles: [{ role: 'helpdesk', appId: null }] };
    expect(authorize(helpdesk, 'recovery.start', { orgId: ORG, person: SOMEONE, personRoles: [] })).toEqual({ allowed: true });
    expect(authorize(helpdesk, 'recovery.approve', { orgId: ORG, person: SOMEONE, recoveryStartedBy: STARTER })).toMatchObject({
      code: 'not-allowed',
    });
  });

  it('another organisation is refused first, whatever the roles', () => {
    const everything: Actor = { sub: ME, orgId: ORG, roles: ROLES_OF.owner!.concat(ROLES_OF.admin!) };
    for (const action of ADMIN_ACTIONS) {
      expect(authorize(everything, action, { orgId: OTHER_ORG, person: `${OTHER_ORG}/x`, role: 'admin' })).toMatchObject({
        code: 'other-organisation',
        reason: 'you can act only in your own organisation',
      });
    }
  });

  it('an app-admin acts only on the apps named in their grants, and on nothing org-wide', () => {
    const appAdmin: Actor = {
      sub: ME,
      orgId: ORG,
      roles: [
        { role: 'app-admin', appId: MY_APP },
        { role: 'app-admin', appId: 'app-2' },
      ],
    };
    expect(authorize(appAdmin, 'policy.update', { orgId: ORG, appId: 'app-2', changesEnrolment: false })).toEqual({ allowed: true });
    expect(authorize(appAdmin, 'policy.update', { orgId: ORG, appId: OTHER_APP })).toMatchObject({ code: 'not-your-app' });
    expect(authorize(appAdmin, 'policy.update', { orgId: ORG })).toMatchObject({ code: 'not-your-app' });
    expect(authorize(appAdmin, 'app.create', { orgId: ORG, appId: MY_APP })).toMatchObject({ code: 'not-allowed' });
    expect(authorize(appAdmin, 'role.grant', { orgId: ORG, appId: MY_APP, person: SOMEONE, role: 'app-admin' })).toMatchObject({
      code: 'not-allowed',
    });
  });

  it('actions on a person need the person (and a role to grant)', () => {
    expect(authorize(owner, 'person.unlock', { orgId: ORG })).toMatchObject({ code: 'incomplete-target' });
    expect(authorize(owner, 'role.grant', { orgId: ORG, person: SOMEONE })).toMatchObject({ code: 'incomplete-target' });
  });

  it('names the last-owner refusal the stores report', () => {
    expect(lastOwnerRefusal()).toEqual({ allowed: false, code: 'last-owner', reason: REFUSALS['last-owner'] });
  });
});

describe('an app-admin’s reach', () => {
  const appAdmin: Actor = { sub: ME, orgId: ORG, roles: [{ role: 'app-admin', appId: MY_APP }] };
  const owner: Actor = { sub: ME, orgId: ORG, roles: [{ role: 'owner', appId: null }] };
  const helpdesk: Actor = { sub: ME, orgId: ORG, roles: [{ role: 'helpdesk', appId: null }] };
  const on = (personRoles?: HeldRole[]): AdminTarget => ({
    orgId: ORG,
    appId: MY_APP,
    person: SOMEONE,
    ...(personRoles ? { personRoles } : {}),
  });
  const beyond: [string, HeldRole[]][] = [
    ['an owner', [{ role: 'owner', appId: null }]],
    ['an admin', [{ role: 'admin', appId: null }]],
    ['an auditor', [{ role: 'auditor', appId: null }]],
    ['a helpdesk', [{ role: 'helpdesk', appId: null }]],
    ['another app’s app-admin', [{ role: 'app-admin', appId: OTHER_APP }]],
    [
      'this app’s app-admin who is also an auditor',
      [
        { role: 'app-admin', appId: MY_APP },
        { role: 'auditor', appId: null },
      ],
    ],
  ];

  it.each(beyond)('never invites or unlocks %s', (_who, personRoles) => {
    for (const action of ['person.invite', 'person.unlock'] as const) {
      expect(authorize(appAdmin, action, on(personRoles))).toEqual({
        allowed: false,
        code: 'person-beyond-app',
        reason: REFUSALS['person-beyond-app'],
      });
      // an owner may; helpdesk unlocks anyone
      expect(authorize(owner, action, on(personRoles))).toEqual({ allowed: true });
    }
    expect(authorize(helpdesk, 'person.unlock', on(personRoles))).toEqual({ allowed: true });
  });

  it('invites and unlocks people with no role, or only app-admin of the same app; roles not given count as beyond', () => {
    for (const action of ['person.invite', 'person.unlock'] as const) {
      expect(authorize(appAdmin, action, on([]))).toEqual({ allowed: true });
      expect(authorize(appAdmin, action, on([{ role: 'app-admin', appId: MY_APP }]))).toEqual({ allowed: true });
      expect(authorize(appAdmin, action, on())).toMatchObject({ code: 'person-beyond-app' });
    }
  });

  it('changes its app’s policy but never its enrolment (not said: taken as changed); an owner or admin may', () => {
    const policy = (changesEnrolment?: boolean): AdminTarget => ({
      orgId: ORG,
      appId: MY_APP,
      ...(changesEnrolment === undefined ? {} : { changesEnrolment }),
    });
    expect(authorize(appAdmin, 'policy.update', policy(false))).toEqual({ allowed: true });
    for (const t of [policy(true), policy()]) {
      expect(authorize(appAdmin, 'policy.update', t)).toEqual({
        allowed: false,
        code: 'enrolment-owner-admin',
        reason: REFUSALS['enrolment-owner-admin'],
      });
    }
    const admin: Actor = { sub: ME, orgId: ORG, roles: [{ role: 'admin', appId: null }] };
    expect(authorize(admin, 'policy.update', policy(true))).toEqual({ allowed: true });
    expect(authorize(owner, 'policy.update', policy())).toEqual({ allowed: true });
    // an app-admin of another app is refused first by the app rule
    const other: Actor = { sub: ME, orgId: ORG, roles: [{ role: 'app-admin', appId: OTHER_APP }] };
    expect(authorize(other, 'policy.update', policy(false))).toMatchObject({ code: 'not-your-app' });
  });
});

describe('organisations: the operator’s actions', () => {
  const actor = (orgId: string, roles: HeldRole[]): Actor => ({ sub: orgId === 'default' ? 'op' : `${orgId}/op`, orgId, roles });

  it.each(ORG_ACTIONS)('%s: only an owner of the default organisation', (action) => {
    expect(authorizeOrgAction(actor('default', [{ role: 'owner', appId: null }]), action)).toEqual({ allowed: true });
    const refused: [string, Actor][] = [
      ['an admin of default', actor('default', [{ role: 'admin', appId: null }])],
      ['an auditor of default', actor('default', [{ role: 'auditor', appId: null }])],
      ['a helpdesk of default', actor('default', [{ role: 'helpdesk', appId: null }])],
      ['an app-admin of default', actor('default', [{ role: 'app-admin', appId: MY_APP }])],
      ['nobody of default', actor('default', [])],
      ['an owner of another organisation', actor(ORG, [{ role: 'owner', appId: null }])],
    ];
    for (const [who, a] of refused) {
      expect(authorizeOrgAction(a, action), who).toEqual({ allowed: false, code: 'operator-only', reason: REFUSALS['operator-only'] });
    }
  });
});

describe('only an owner acts on an owner’s factors or tokens', () => {
  const owner: Actor = { sub: ME, orgId: ORG, roles: [{ role: 'owner', appId: null }] };
  const admin: Actor = { sub: ME, orgId: ORG, roles: [{ role: 'admin', appId: null }] };
  const helpdesk: Actor = { sub: ME, orgId: ORG, roles: [{ role: 'helpdesk', appId: null }] };
  const ownerRoles: HeldRole[] = [{ role: 'owner', appId: null }];
  const on = (personRoles?: readonly HeldRole[]): AdminTarget => ({
    orgId: ORG,
    appId: MY_APP,
    person: SOMEONE,
    recoveryStartedBy: STARTER,
    ...(personRoles === undefined ? {} : { personRoles }),
  });
  const guarded: AdminAction[] = ['person.invite', 'person.revoke-factors', 'recovery.start', 'recovery.approve', 'token.revoke'];

  it.each(guarded)('%s: an admin is refused on an owner, allowed on an admin; an owner on both', (action) => {
    expect(authorize(admin, action, on(ownerRoles))).toEqual({ allowed: false, code: 'owner-target', reason: REFUSALS['owner-target'] });
    expect(authorize(admin, action, on([{ role: 'admin', appId: null }, ...ownerRoles]))).toMatchObject({ code: 'owner-target' });
    expect(authorize(admin, action, on([{ role: 'admin', appId: null }]))).toEqual({ allowed: true });
    expect(authorize(owner, action, on(ownerRoles))).toEqual({ allowed: true });
  });

  it.each(guarded)('%s: fails closed for anyone but an owner when the person’s roles are not given', (action) => {
    expect(authorize(admin, action, on())).toMatchObject({ allowed: false, code: 'incomplete-target' });
    expect(authorize(owner, action, on())).toEqual({ allowed: true });
  });

  it('helpdesk starts no recovery of an owner, but unlocks one (unlocking only clears failure counters)', () => {
    expect(authorize(helpdesk, 'recovery.start', on(ownerRoles))).toMatchObject({ code: 'owner-target' });
    expect(authorize(helpdesk, 'person.unlock', on(ownerRoles))).toEqual({ allowed: true });
    expect(authorize(admin, 'person.unlock', on(ownerRoles))).toEqual({ allowed: true });
  });
});
