/**
 * @module The expectation table of the admin matrix (admin-matrix.test.ts): for every operation the
 * OpenAPI document lists under /.stepgate/api/admin/, /.stepgate/api/tokens and the console pages
 * (/.stepgate/admin), how to call it and what each role gets — in its own organisation, and aimed at
 * another organisation. The roles follow docs/admin.md ("Roles", "Admin API", "Revocation",
 * "Factor recovery", "The console"). A row says whether a role may call the endpoint at all; the
 * segregation rules (oneself, the last owner, owner-only on owners) are avoided by the targets chosen
 * here and tested in their own files.
 */

/** Who calls: the roles of docs/admin.md, app-admin split into "of the app in question" and "of another app". */
export const WHO = ['owner', 'admin', 'app-admin', 'other-app-admin', 'auditor', 'helpdesk', 'none'] as const;
export type Who = (typeof WHO)[number];
export type Org = 'default' | 'acme';

/** 'ok': the row's success status; else the exact refusal (400 = about the body, 403 = not allowed, 404 = names nothing). */
export type Outcome = 'ok' | 400 | 403 | 404;
export type Outcomes = Record<Who, Outcome>;

/** The outcomes in WHO order: owner, admin, app-admin, app-admin of another app, auditor, helpdesk, no role. */
const R = (...o: [Outcome, Outcome, Outcome, Outcome, Outcome, Outcome, Outcome]): Outcomes =>
  Object.fromEntries(WHO.map((w, i) => [w, o[i]])) as Outcomes;
const ALL = (o: Outcome) => R(o, o, o, o, o, o, o);

/** The objects a call acts on: the organisation's fixed ones, or throwaways made for this one call. */
export interface Targets {
  /** The app the callers come through; the app-admin administers it, the other app-admin the organisation's second app. */
  app: string;
  appName: string;
  /** A throwaway app (the app-admin administers it too), an auditor grant, a recovery a helpdesk started, a token of the caller. */
  freshApp: string;
  grant: string;
  recovery: string;
  token: string;
  /** A person who holds no role (a subject as the organisation's apps name them). */
  user: string;
}

/** What a row's request is built from. `cross`: aimed at `org`, which is not the caller's (`home`). */
export interface Ctx {
  home: Org;
  org: Org;
  cross: boolean;
  t: Targets;
  /** Unique per call. */
  n: string;
}

export interface Call {
  path: string;
  body?: unknown;
  /** Present the caller's personal API token instead of their browser session. */
  bearer?: true;
  /** A console page (HTML). */
  html?: true;
}

export interface Row {
  /** The status of an allowed call. */
  ok: number;
  /** Throwaway targets a call needs (made in the organisation the call is aimed at, before the call). */
  needs?: ('app' | 'grant' | 'recovery' | 'token')[];
  req: (c: Ctx) => Call | null;
  /** In the caller's own organisation. */
  same: (home: Org) => Outcomes;
  /**
   * Aimed at the other organisation (its id in the path, its targets): null where there is nothing to
   * aim with (the organisation is the one of the host the caller came through, or the call takes no target).
   */
  other: ((home: Org) => Outcomes | null) | null;
  /** The path has a target id: it is also called on the caller's own organisation naming the other's target. */
  mixed?: true;
  /** The answer is the caller's organisation's audit log, where the ids they themselves sent (refused) are recorded. */
  auditLog?: true;
  /** The default organisation's owner (the operator) sees every organisation here, by design (docs/admin.md, "Organisations"). */
  operatorSeesAll?: true;
}

const API = '/.stepgate/api/admin';
const orgs = (c: Ctx) => `${API}/orgs/${c.org}`;
const policy = {
  version: 1,
  rules: [{ id: 'writes', match: { methods: ['POST'], path: '/api/**' }, require: { factors: ['totp'], bind: 'session' } }],
};
export const TEST_POLICY = policy;

/** An operation on /orgs/{org}/…: aimed at an organisation the caller holds no role in, 404 for every role. */
const inOrg = (ok: number, same: Outcomes, req: Row['req'], more: Partial<Row> = {}): Row => ({
  ok,
  req,
  same: () => same,
  other: () => ALL(404),
  ...more,
});
/** An operation on the organisation of the host the caller came through: there is no other organisation to name. */
const onHost = (ok: number, same: Outcomes | ((home: Org) => Outcomes), req: Row['req'], more: Partial<Row> = {}): Row => ({
  ok,
  req,
  same: typeof same === 'function' ? same : () => same,
  other: null,
  ...more,
});
/** The deployment's own (the chain, keys, upkeep): the default organisation's people only, 403 to any other's. */
const defaultOnly = (inDefault: Outcomes) => (home: Org) => (home === 'default' ? inDefault : ALL(403));
const page = (path: string, same: Outcomes) => onHost(200, same, () => ({ path, html: true }));
/** A path naming a target (app, grant, recovery): also called on one's own organisation naming the other's. */
const target = { mixed: true } as const;
/** A person named in the body: from "default", another organisation's person is `acme/<subject>`, refused as a subject of default. */
const onPerson = (path: string) => (c: Ctx) =>
  c.cross && c.home === 'acme' ? null : { path, body: { user: c.cross ? `${c.org}/${c.t.user}` : c.t.user } };
const personElsewhere = (home: Org) => (home === 'default' ? R(400, 400, 400, 400, 400, 400, 403) : null);

const app = (c: Ctx) => `${orgs(c)}/apps/${c.t.app}`;

export const TABLE: Record<string, Row> = {
  'POST /.stepgate/api/admin/invites': {
    ...onHost(201, R('ok', 'ok', 'ok', 403, 403, 403, 403), onPerson(`${API}/invites`)),
    other: personElsewhere,
  },
  'POST /.stepgate/api/admin/unlock': {
    ...onHost(200, R('ok', 'ok', 'ok', 403, 403, 'ok', 403), onPerson(`${API}/unlock`)),
    other: personElsewhere,
  },
  'GET /.stepgate/api/admin/me': onHost(200, ALL('ok'), () => ({ path: `${API}/me` })),
  // An owner exists in both organisations; nobody here is the person BOOTSTRAP_OWNER names.
  'POST /.stepgate/api/admin/bootstrap': onHost(201, ALL(403), () => ({ path: `${API}/bootstrap`, body: {} })),
  'GET /.stepgate/api/admin/orgs': onHost(200, ALL('ok'), () => ({ path: `${API}/orgs` }), { operatorSeesAll: true }),
  'POST /.stepgate/api/admin/orgs': onHost(201, defaultOnly(R('ok', 403, 403, 403, 403, 403, 403)), (c) => ({
    path: `${API}/orgs`,
    body: { id: `mx-org-${c.n}`, name: `Made ${c.n}`, owner: 'first' },
  })),
  'GET /.stepgate/api/admin/orgs/{org}/apps': inOrg(200, R('ok', 'ok', 'ok', 'ok', 403, 403, 404), (c) => ({ path: `${orgs(c)}/apps` })),
  'POST /.stepgate/api/admin/orgs/{org}/apps': inOrg(201, R('ok', 'ok', 403, 403, 403, 403, 404), (c) => ({
    path: `${orgs(c)}/apps`,
    body: { name: `made-${c.n}`, hosts: [`made-${c.n}.mx.test`], identity: { source: 'dev' }, policy },
  })),
  'GET /.stepgate/api/admin/orgs/{org}/apps/{app}': inOrg(200, R('ok', 'ok', 'ok', 404, 403, 403, 404), (c) => ({ path: app(c) }), target),
  // The app's own name again: an allowed call changes nothing, so the matrix does not depend on its order. app.update and
  // app.delete are no app-admin's on any app: 403 naming the action, whichever app (so none is confirmed to exist).
  'PATCH /.stepgate/api/admin/orgs/{org}/apps/{app}': inOrg(
    200,
    R('ok', 'ok', 403, 403, 403, 403, 404),
    (c) => ({ path: app(c), body: { name: c.t.appName } }),
    target,
  ),
  'DELETE /.stepgate/api/admin/orgs/{org}/apps/{app}': inOrg(
    200,
    R('ok', 'ok', 403, 403, 403, 403, 404),
    (c) => ({ path: `${orgs(c)}/apps/${c.cross ? c.t.app : c.t.freshApp}`, body: {} }),
    { ...target, needs: ['app'] },
  ),
  'GET /.stepgate/api/admin/orgs/{org}/apps/{app}/policy': inOrg(
    200,
    R('ok', 'ok', 'ok', 404, 403, 403, 404),
    (c) => ({ path: `${app(c)}/policy` }),
    target,
  ),
  'PUT /.stepgate/api/admin/orgs/{org}/apps/{app}/policy': inOrg(
    200,
    R('ok', 'ok', 'ok', 404, 403, 403, 404),
    (c) => ({ path: `${app(c)}/policy`, body: { policy } }),
    target,
  ),
  'GET /.stepgate/api/admin/orgs/{org}/apps/{app}/policy/report': inOrg(
    200,
    R('ok', 'ok', 'ok', 404, 403, 403, 404),
    (c) => ({ path: `${app(c)}/policy/report` }),
    target,
  ),
  // Policy versions: the same policy again is a new version that changes nothing (200); approving or rolling back to a
  // version that does not exist is 404 for whoever may update the app's policy.
  'GET /.stepgate/api/admin/orgs/{org}/apps/{app}/policy/versions': inOrg(
    200,
    R('ok', 'ok', 'ok', 404, 403, 403, 404),
    (c) => ({ path: `${app(c)}/policy/versions` }),
    target,
  ),
  'POST /.stepgate/api/admin/orgs/{org}/apps/{app}/policy/versions': inOrg(
    200,
    R('ok', 'ok', 'ok', 404, 403, 403, 404),
    (c) => ({ path: `${app(c)}/policy/versions`, body: { policy } }),
    target,
  ),
  // Approving a weakening: owners and admins only (an app-admin may propose one, never approve another's).
  'POST /.stepgate/api/admin/orgs/{org}/apps/{app}/policy/versions/{n}/approve': inOrg(
    404,
    R('ok', 'ok', 403, 404, 403, 403, 404),
    (c) => ({ path: `${app(c)}/policy/versions/999999/approve`, body: {} }),
    target,
  ),
  'POST /.stepgate/api/admin/orgs/{org}/apps/{app}/policy/versions/{n}/activate': inOrg(
    404,
    R('ok', 'ok', 'ok', 404, 403, 403, 404),
    (c) => ({ path: `${app(c)}/policy/versions/999999/activate`, body: {} }),
    target,
  ),
  // Rejecting a version that does not exist is 404, widening a canary that does not run 409, for whoever may update the policy.
  'POST /.stepgate/api/admin/orgs/{org}/apps/{app}/policy/versions/{n}/reject': inOrg(
    404,
    R('ok', 'ok', 'ok', 404, 403, 403, 404),
    (c) => ({ path: `${app(c)}/policy/versions/999999/reject`, body: {} }),
    target,
  ),
  'POST /.stepgate/api/admin/orgs/{org}/apps/{app}/policy/canary': inOrg(
    409,
    R('ok', 'ok', 'ok', 404, 403, 403, 404),
    (c) => ({ path: `${app(c)}/policy/canary`, body: { percent: 50 } }),
    target,
  ),
  // Policy tools: checking, testing and replaying a draft read only; promoting a rule that does not exist is 404.
  'POST /.stepgate/api/admin/orgs/{org}/apps/{app}/policy/check': inOrg(
    200,
    R('ok', 'ok', 'ok', 404, 403, 403, 404),
    (c) => ({ path: `${app(c)}/policy/check`, body: { policy } }),
    target,
  ),
  'POST /.stepgate/api/admin/orgs/{org}/apps/{app}/policy/test': inOrg(
    200,
    R('ok', 'ok', 'ok', 404, 403, 403, 404),
    (c) => ({ path: `${app(c)}/policy/test`, body: { method: 'POST', url: '/api/projects' } }),
    target,
  ),
  'POST /.stepgate/api/admin/orgs/{org}/apps/{app}/policy/replay': inOrg(
    200,
    R('ok', 'ok', 'ok', 404, 403, 403, 404),
    (c) => ({ path: `${app(c)}/policy/replay`, body: { policy } }),
    target,
  ),
  'POST /.stepgate/api/admin/orgs/{org}/apps/{app}/policy/rules/{rule}/promote': inOrg(
    404,
    R('ok', 'ok', 'ok', 404, 403, 403, 404),
    (c) => ({ path: `${app(c)}/policy/rules/no-such-rule/promote`, body: {} }),
    target,
  ),
  // The organisation baseline: read by every role but helpdesk, changed by owners and admins; nothing waits, so approving
  // or rejecting is 409 for them. Saving the same empty baseline again changes nothing.
  'GET /.stepgate/api/admin/orgs/{org}/policy-baseline': inOrg(200, R('ok', 'ok', 'ok', 'ok', 'ok', 403, 404), (c) => ({
    path: `${orgs(c)}/policy-baseline`,
  })),
  'PUT /.stepgate/api/admin/orgs/{org}/policy-baseline': inOrg(200, R('ok', 'ok', 403, 403, 403, 403, 404), (c) => ({
    path: `${orgs(c)}/policy-baseline`,
    body: { policy: { version: 1, rules: [] } },
  })),
  'POST /.stepgate/api/admin/orgs/{org}/policy-baseline/approve': inOrg(409, R('ok', 'ok', 403, 403, 403, 403, 404), (c) => ({
    path: `${orgs(c)}/policy-baseline/approve`,
    body: {},
  })),
  'POST /.stepgate/api/admin/orgs/{org}/policy-baseline/reject': inOrg(409, R('ok', 'ok', 403, 403, 403, 403, 404), (c) => ({
    path: `${orgs(c)}/policy-baseline/reject`,
    body: {},
  })),
  // Its console page: another organisation's is refused in words (403), naming nothing.
  'GET /.stepgate/admin/orgs/{org}/baseline': {
    ...inOrg(200, R('ok', 'ok', 'ok', 'ok', 'ok', 403, 403), (c) => ({ path: `/.stepgate/admin/orgs/${c.org}/baseline`, html: true })),
    other: () => ALL(403),
  },
  // The app's policy page: those who may read its policy; another organisation's is refused in words (403).
  'GET /.stepgate/admin/orgs/{org}/apps/{app}/policy': {
    ...inOrg(200, R('ok', 'ok', 'ok', 403, 403, 403, 403), (c) => ({
      path: `/.stepgate/admin/orgs/${c.org}/apps/${c.t.app}/policy`,
      html: true,
    })),
    other: () => ALL(403),
  },
  // The organisation's webhook (docs/admin.md, "Webhooks"): owners and admins. An allowed PUT here names a URL that is not https,
  // so it is 400 and stores nothing (no notice is ever sent from the matrix); with none stored, removing is 200 and a test 409.
  'GET /.stepgate/api/admin/orgs/{org}/webhook': inOrg(200, R('ok', 'ok', 403, 403, 403, 403, 404), (c) => ({
    path: `${orgs(c)}/webhook`,
  })),
  'PUT /.stepgate/api/admin/orgs/{org}/webhook': inOrg(400, R('ok', 'ok', 403, 403, 403, 403, 404), (c) => ({
    path: `${orgs(c)}/webhook`,
    body: { url: `ftp://hooks.mx.test/${c.n}`, format: 'json' },
  })),
  'DELETE /.stepgate/api/admin/orgs/{org}/webhook': inOrg(200, R('ok', 'ok', 403, 403, 403, 403, 404), (c) => ({
    path: `${orgs(c)}/webhook`,
    body: {},
  })),
  'POST /.stepgate/api/admin/orgs/{org}/webhook/test': inOrg(409, R('ok', 'ok', 403, 403, 403, 403, 404), (c) => ({
    path: `${orgs(c)}/webhook/test`,
    body: {},
  })),
  'GET /.stepgate/api/admin/orgs/{org}/roles': inOrg(200, R('ok', 'ok', 403, 403, 403, 403, 404), (c) => ({ path: `${orgs(c)}/roles` })),
  'POST /.stepgate/api/admin/orgs/{org}/roles': inOrg(201, R('ok', 'ok', 403, 403, 403, 403, 404), (c) => ({
    path: `${orgs(c)}/roles`,
    body: { person: c.t.user, role: 'helpdesk' },
  })),
  'DELETE /.stepgate/api/admin/orgs/{org}/roles/{grant}': inOrg(
    200,
    R('ok', 'ok', 403, 403, 403, 403, 404),
    (c) => ({ path: `${orgs(c)}/roles/${c.t.grant}`, body: {} }),
    { ...target, needs: ['grant'] },
  ),
  'GET /.stepgate/api/admin/orgs/{org}/people/{user}': inOrg(200, R('ok', 'ok', 403, 403, 403, 403, 404), (c) => ({
    path: `${orgs(c)}/people/${c.t.user}`,
  })),
  'POST /.stepgate/api/admin/orgs/{org}/people/revoke': inOrg(200, R('ok', 'ok', 403, 403, 403, 403, 404), (c) => ({
    path: `${orgs(c)}/people/revoke`,
    body: { user: c.t.user, grants: true, tokens: true },
  })),
  'POST /.stepgate/api/admin/orgs/{org}/recoveries': inOrg(201, R('ok', 'ok', 403, 403, 403, 'ok', 404), (c) => ({
    path: `${orgs(c)}/recoveries`,
    body: { user: c.t.user },
  })),
  'GET /.stepgate/api/admin/orgs/{org}/recoveries': inOrg(200, R('ok', 'ok', 403, 403, 403, 'ok', 404), (c) => ({
    path: `${orgs(c)}/recoveries`,
  })),
  // The recovery was started by the organisation's helpdesk: approving it is someone else's, as the rule wants.
  'POST /.stepgate/api/admin/orgs/{org}/recoveries/{id}/approve': inOrg(
    200,
    R('ok', 'ok', 403, 403, 403, 403, 404),
    (c) => ({ path: `${orgs(c)}/recoveries/${c.t.recovery}/approve`, body: {} }),
    { ...target, needs: ['recovery'] },
  ),
  'POST /.stepgate/api/admin/orgs/{org}/recoveries/{id}/cancel': inOrg(
    200,
    R('ok', 'ok', 403, 403, 403, 403, 404),
    (c) => ({ path: `${orgs(c)}/recoveries/${c.t.recovery}/cancel`, body: {} }),
    { ...target, needs: ['recovery'] },
  ),
  'GET /.stepgate/api/admin/orgs/{org}/dashboard': inOrg(200, R('ok', 'ok', 403, 403, 'ok', 403, 404), (c) => ({
    path: `${orgs(c)}/dashboard`,
  })),
  // The audit log of the caller's organisation (the one of the host they came through).
  'GET /.stepgate/api/admin/audit/events': onHost(200, R('ok', 'ok', 403, 403, 'ok', 403, 403), () => ({ path: `${API}/audit/events` }), {
    auditLog: true,
  }),
  'GET /.stepgate/api/admin/audit/export': onHost(200, R('ok', 'ok', 403, 403, 'ok', 403, 403), () => ({ path: `${API}/audit/export` }), {
    auditLog: true,
  }),
  // The pull feed of the same events (a resume cursor): readers of the organisation, as the export.
  'GET /.stepgate/api/admin/audit/stream': onHost(200, R('ok', 'ok', 403, 403, 'ok', 403, 403), () => ({ path: `${API}/audit/stream` }), {
    auditLog: true,
  }),
  // The chain holds every organisation's events: the deployment's readers only.
  'GET /.stepgate/api/admin/audit/verify': onHost(200, defaultOnly(R('ok', 'ok', 403, 403, 'ok', 403, 403)), () => ({
    path: `${API}/audit/verify?limit=50`,
  })),
  'GET /.stepgate/api/admin/audit/checkpoints': onHost(200, defaultOnly(R('ok', 'ok', 403, 403, 'ok', 403, 403)), () => ({
    path: `${API}/audit/checkpoints`,
  })),
  'POST /.stepgate/api/admin/maintenance': onHost(200, defaultOnly(R('ok', 'ok', 403, 403, 403, 403, 403)), () => ({
    path: `${API}/maintenance`,
    body: {},
  })),
  'GET /.stepgate/api/admin/keys': onHost(200, defaultOnly(R('ok', 'ok', 403, 403, 403, 403, 403)), () => ({ path: `${API}/keys` })),
  // Your own tokens: anyone signed in; making one needs a role that can use its scope (admin:read: apps, policies, roles).
  'GET /.stepgate/api/tokens': onHost(200, ALL('ok'), () => ({ path: '/.stepgate/api/tokens' })),
  'POST /.stepgate/api/tokens': onHost(201, R('ok', 'ok', 'ok', 'ok', 403, 403, 403), (c) => ({
    path: '/.stepgate/api/tokens',
    body: { scopes: ['admin:read'], label: `mx-${c.n}` },
  })),
  'GET /.stepgate/api/tokens/current': onHost(200, ALL('ok'), () => ({ path: '/.stepgate/api/tokens/current', bearer: true })),
  // One's own token (a throwaway); another organisation's token is nobody's here.
  'POST /.stepgate/api/tokens/{id}/revoke': {
    ...onHost(200, ALL('ok'), (c) => ({ path: `/.stepgate/api/tokens/${c.t.token}/revoke`, body: {} }), { needs: ['token'] }),
    other: () => ALL(404),
  },
  // Console pages: the overview for anyone signed in; the others as the nav allows (docs/admin.md, "The console").
  'GET /.stepgate/admin': page('/.stepgate/admin', ALL('ok')),
  'GET /.stepgate/admin/apps': page('/.stepgate/admin/apps', R('ok', 'ok', 'ok', 'ok', 403, 403, 403)),
  'GET /.stepgate/admin/people': page('/.stepgate/admin/people', R('ok', 'ok', 'ok', 'ok', 403, 'ok', 403)),
  'GET /.stepgate/admin/tokens': page('/.stepgate/admin/tokens', R('ok', 'ok', 'ok', 'ok', 'ok', 'ok', 403)),
  'GET /.stepgate/admin/audit': page('/.stepgate/admin/audit', R('ok', 'ok', 403, 403, 'ok', 403, 403)),
  'GET /.stepgate/admin/dashboard': page('/.stepgate/admin/dashboard', R('ok', 'ok', 403, 403, 'ok', 403, 403)),
};

/** The operations the matrix must cover: every one under these prefixes in the OpenAPI document. */
export const COVERED_PREFIXES = ['/.stepgate/api/admin/', '/.stepgate/api/tokens', '/.stepgate/admin'];
