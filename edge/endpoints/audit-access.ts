/**
 * @module Who may read the audit log and administer Stepgate: administrators (ADMINS) and auditors
 * (AUDITORS) read, in a browser with a fresh step-up or from the CLI with a personal token of scope
 * `audit:read`; only administrators change anything, and only from a stepped-up browser session.
 */
import { ErrorCode } from '../../shared/errors';
import { authenticateToken } from '../admin/api-tokens';
import type { Runtime } from '../deployment/runtime';
import { requireSameOriginJson } from '../http/csrf';
import { StepgateError } from '../http/stepgate-error';
import { auditBase, requireIdentity, siteOf } from './endpoint-helpers';
import { requireFreshStepUp } from './fresh-step-up';

export type Role = 'admin' | 'auditor';

/** Who is reading (or administering), with their role and how they proved it. */
export interface Reader {
  sub: string;
  role: Role;
  via: 'session' | 'token';
}

/** The person's role, read from the runtime on every request (so removing someone from ADMINS or AUDITORS stops their tokens at once). */
export const roleOf = (rt: Runtime, sub: string): Role | null =>
  rt.admins.includes(sub) ? 'admin' : rt.auditors.includes(sub) ? 'auditor' : null;

/** The reader of an audit endpoint: a token with `audit:read`, or a stepped-up session, of an admin or auditor. */
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
    const role = roleOf(rt, t.sub);
    if (!role) throw new StepgateError(ErrorCode.Forbidden, 403, 'Only administrators and auditors read the audit log.');
    return { sub: t.sub, role, via: 'token' };
  }
  const me = await requireIdentity(rt, req);
  const role = roleOf(rt, me.sub);
  if (!role) throw new StepgateError(ErrorCode.Forbidden, 403, 'Only administrators and auditors read the audit log.');
  await requireFreshStepUp(rt, req, me);
  return { sub: me.sub, role, via: 'session' };
}

/** An administrator in a stepped-up browser session (changes are never made with a token). */
export async function requireAdmin(rt: Runtime, req: Request): Promise<Reader> {
  requireSameOriginJson(req, siteOf(req.url).origin);
  const me = await requireIdentity(rt, req);
  if (roleOf(rt, me.sub) !== 'admin') throw new StepgateError(ErrorCode.Forbidden, 403, 'Only administrators do this.');
  await requireFreshStepUp(rt, req, me);
  return { sub: me.sub, role: 'admin', via: 'session' };
}

/** Who acted, where, as a reader's event records it (by token or by session). */
export const readerAuditBase = async (req: Request, r: Reader) => auditBase(req, { sub: r.sub }, r.via);
