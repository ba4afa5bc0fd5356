/**
 * @module Who may read the audit log, and whose part of it: an owner, admin or auditor of an
 * organisation reads that organisation's events only — in a browser with a fresh step-up (the
 * organisation of the app they came through), or from the CLI with a personal token of scope
 * `audit:read` (the token's organisation), always with their roles at the moment of use. The
 * deployment's own upkeep (verifying the whole chain, checkpoints, key status, maintenance) is
 * for the default organisation, the deployment's operator: the chain holds every organisation's
 * events, so its shape is not another organisation's to see.
 */
import { ErrorCode } from '../../shared/errors';
import { authenticateToken } from '../admin/api-tokens';
import { type AdminAction, authorize, type HeldRole } from '../admin/authorization';
import { DEFAULT_ORG } from '../admin/org-store';
import { rolesOf } from '../admin/role-store';
import type { Runtime } from '../deployment/runtime';
import { requireSameOriginJson } from '../http/csrf';
import { StepgateError } from '../http/stepgate-error';
import { auditBase, requireIdentity, siteOf } from './endpoint-helpers';
import { requireAdminStepUp } from './fresh-step-up';

export type Role = 'admin' | 'auditor';

/** Who is reading (or administering), in which organisation, with their role and how they proved it. */
export interface Reader {
  sub: string;
  /** The organisation whose events they read: the app's they came through, or their token's. */
  org: string;
  /** admin: an owner or admin of `org`; auditor: may read only. */
  role: Role;
  via: 'session' | 'token';
}

/** The person's audit role in `org`, read from the role store on every request (revoking a role stops their tokens at once). */
async function roleIn(rt: Runtime, org: string, sub: string, action: AdminAction): Promise<Role | null> {
  const roles: HeldRole[] = await rolesOf(rt.db, rt.keys, org, sub);
  if (roles.some((r) => r.role === 'owner' || r.role === 'admin')) return 'admin';
  return authorize({ sub, orgId: org, roles }, action, { orgId: org }).allowed ? 'auditor' : null;
}

const NOT_A_READER = 'Only owners, admins and auditors of the organisation read its audit log.';
const DEPLOYMENT_ONLY =
  'The chain holds every organisation’s events: its verification, checkpoints and key status are for owners, admins ' +
  'and auditors of the default organisation (the deployment’s operator). Your organisation’s events are in the listing and the export.';

/**
 * The reader of an audit endpoint: a token with `audit:read`, or a stepped-up session, of an owner,
 * admin or auditor of the organisation they read (`action`: audit.read, or audit.export).
 */
export async function requireReader(rt: Runtime, req: Request, action: AdminAction = 'audit.read'): Promise<Reader> {
  const auth = req.headers.get('authorization');
  // A Stepgate token is `sgt.…`; any other bearer (an app's own JWT) is the identity source's to read.
  const m = auth === null ? null : /^Bearer\s+(sgt\.\S*)$/i.exec(auth);
  if (m) {
    const t = await authenticateToken(rt.db, rt.keys, m[1]!, rt.now());
    if (!t)
      throw new StepgateError(ErrorCode.IdentityRequired, 401, 'That API token is not valid (malformed, unknown, expired or revoked).');
    if (!t.scopes.includes('audit:read'))
      throw new StepgateError(ErrorCode.Forbidden, 403, 'That token does not have the audit:read scope.');
    // A token reads its own organisation, wherever it is presented: never the host's.
    const role = await roleIn(rt, t.org, t.sub, action);
    if (!role) throw new StepgateError(ErrorCode.Forbidden, 403, NOT_A_READER);
    return { sub: t.sub, org: t.org, role, via: 'token' };
  }
  const me = await requireIdentity(rt, req);
  // A person is a person of the organisation of the app they came through (their key says so).
  const org = rt.app.org;
  const role = await roleIn(rt, org, me.sub, action);
  if (!role) throw new StepgateError(ErrorCode.Forbidden, 403, NOT_A_READER);
  await requireAdminStepUp(rt, req, me);
  return { sub: me.sub, org, role, via: 'session' };
}

/** A reader of the default organisation, for what spans every organisation (the chain). @throws {StepgateError} 403 */
export function requireDeploymentReader(r: Reader): void {
  if (r.org !== DEFAULT_ORG) throw new StepgateError(ErrorCode.Forbidden, 403, DEPLOYMENT_ONLY);
}

/**
 * An owner or admin of the default organisation in a stepped-up browser session on one of its
 * apps' hosts (changes are never made with a token): the deployment's upkeep.
 */
export async function requireAdmin(rt: Runtime, req: Request): Promise<Reader> {
  requireSameOriginJson(req, siteOf(req.url).origin);
  const me = await requireIdentity(rt, req);
  if (rt.app.org !== DEFAULT_ORG || (await roleIn(rt, DEFAULT_ORG, me.sub, 'audit.read')) !== 'admin')
    throw new StepgateError(
      ErrorCode.Forbidden,
      403,
      'Only owners and admins of the default organisation (the deployment’s operator) do this.',
    );
  await requireAdminStepUp(rt, req, me);
  return { sub: me.sub, org: DEFAULT_ORG, role: 'admin', via: 'session' };
}

/**
 * Who acted, where, as a reader's event records it (by token or by session), in the reader's
 * organisation: a token presented on another organisation's host still reads (and is recorded in)
 * its own, without that host's app id.
 */
export const readerAuditBase = async (rt: Runtime, req: Request, r: Reader) => ({
  ...(await auditBase(req, { sub: r.sub }, r.via)),
  org: r.org,
  ...(r.org === rt.app.org ? {} : { app_id: null }),
});
