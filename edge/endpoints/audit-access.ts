/**
 * @module Who may read the audit log and administer the deployment: the roles people hold in the
 * default organisation (role store, `authorize`), whose tenant's audit log this deployment keeps.
 * Owners, admins and auditors read, in a browser with a fresh step-up or from the CLI with a
 * personal token of scope `audit:read` (acting as its owner, with their roles at the moment of
 * use); only owners and admins change anything, and only from a stepped-up browser session.
 */
import { ErrorCode } from '../../shared/errors';
import { authenticateToken } from '../admin/api-tokens';
import { authorize, type HeldRole } from '../admin/authorization';
import { DEFAULT_ORG } from '../admin/org-store';
import { rolesOf } from '../admin/role-store';
import type { Runtime } from '../deployment/runtime';
import { requireSameOriginJson } from '../http/csrf';
import { StepgateError } from '../http/stepgate-error';
import { auditBase, requireIdentity, siteOf } from './endpoint-helpers';
import { requireFreshStepUp } from './fresh-step-up';

export type Role = 'admin' | 'auditor';

/** Who is reading (or administering), with their role and how they proved it. */
export interface Reader {
  sub: string;
  /** admin: an owner or admin of the default organisation; auditor: may read only. */
  role: Role;
  via: 'session' | 'token';
}

/** The person's roles in the default organisation, the one whose audit log this deployment keeps. */
const defaultOrgRoles = (rt: Runtime, sub: string): Promise<HeldRole[]> => rolesOf(rt.db, rt.keys, DEFAULT_ORG, sub);

/**
 * The person's audit role, read from the role store on every request (so revoking a role stops
 * their tokens at once): admin (owner or admin), auditor, or null.
 */
export async function roleOf(rt: Runtime, sub: string): Promise<Role | null> {
  const roles = await defaultOrgRoles(rt, sub);
  if (roles.some((r) => r.role === 'owner' || r.role === 'admin')) return 'admin';
  const actor = { sub, orgId: DEFAULT_ORG, roles };
  return authorize(actor, 'audit.read', { orgId: DEFAULT_ORG }).allowed ? 'auditor' : null;
}

const NOT_A_READER = 'Only owners, admins and auditors of the organisation read the audit log.';

/** The reader of an audit endpoint: a token with `audit:read`, or a stepped-up session, of an owner, admin or auditor. */
export async function requireReader(rt: Runtime, req: Request): Promise<Reader> {
  const auth = req.headers.get('authorization');
  // A Stepgate token is `sgt.…`; any other bearer (an app's own JWT) is the identity source's to read.
  const m = auth === null ? null : /^Bearer\s+(sgt\.\S*)$/i.exec(auth);
  if (m) {
    const t = await authenticateToken(rt.db, rt.keys, m[1]!, rt.now());
    if (!t)
      throw new StepgateError(ErrorCode.IdentityRequired, 401, 'That API token is not valid (malformed, unknown, expired or revoked).');
    if (!t.scopes.includes('audit:read'))
      throw new StepgateError(ErrorCode.Forbidden, 403, 'That token does not have the audit:read scope.');
    const role = await roleOf(rt, t.sub);
    if (!role) throw new StepgateError(ErrorCode.Forbidden, 403, NOT_A_READER);
    return { sub: t.sub, role, via: 'token' };
  }
  const me = await requireIdentity(rt, req);
  const role = await roleOf(rt, me.sub);
  if (!role) throw new StepgateError(ErrorCode.Forbidden, 403, NOT_A_READER);
  await requireFreshStepUp(rt, req, me);
  return { sub: me.sub, role, via: 'session' };
}

/** An owner or admin of the default organisation in a stepped-up browser session (changes are never made with a token). */
export async function requireAdmin(rt: Runtime, req: Request): Promise<Reader> {
  requireSameOriginJson(req, siteOf(req.url).origin);
  const me = await requireIdentity(rt, req);
  if ((await roleOf(rt, me.sub)) !== 'admin')
    throw new StepgateError(ErrorCode.Forbidden, 403, 'Only owners and admins of the organisation do this.');
  await requireFreshStepUp(rt, req, me);
  return { sub: me.sub, role: 'admin', via: 'session' };
}

/** Who acted, where, as a reader's event records it (by token or by session). */
export const readerAuditBase = async (req: Request, r: Reader) => auditBase(req, { sub: r.sub }, r.via);
