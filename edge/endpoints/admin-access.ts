/**
 * @module What every call of the admin API (/.stepgate/api/admin/orgs/:org/...) does first: the
 * caller identified — a person in a browser (same-origin JSON for a write, a fresh step-up) or a
 * personal API token (`Authorization: Bearer sgt.…`, of this organisation, with the scope the call
 * needs) — their roles in the organisation read from the role store at this moment, and each action
 * decided by `authorize` (edge/admin/authorization.ts) and, for a token, by its scopes
 * (edge/admin/token-scopes.ts): some actions need a person in a browser whatever the token. An
 * organisation, or an app, the caller holds no role in is answered 404 with a body that names
 * nothing; a refusal by a rule is 403 ERR_FORBIDDEN with the rule's reason. Both are audited
 * (`admin.refused`), before the answer.
 */
import type * as z from '../http/zod';
import { ErrorCode } from '../../shared/errors';
import { authenticateToken, orgOfPerson } from '../admin/api-tokens';
import { isSubjectOf, personKey } from '../apps/app-people';
import { type Actor, type AdminAction, type AdminTarget, authorize, type Decision } from '../admin/authorization';
import { rolesOf } from '../admin/role-store';
import { SESSION_ONLY_REASON, scopeFor, type TokenScope, tokenMayDo } from '../admin/token-scopes';
import { hashRef } from '../audit/audit-log';
import type { AuditDetails, AuditType } from '../audit/events';
import type { Runtime } from '../deployment/runtime';
import { requireSameOriginJson } from '../http/csrf';
import { StepgateError } from '../http/stepgate-error';
import type { Identity } from '../identity/identity-source';
import { auditBase, jsonBody, requireIdentity, siteOf } from './endpoint-helpers';
import { requireAdminStepUp } from './fresh-step-up';

/** The caller of an admin call: who they are, and their roles in the organisation named by the path. */
export interface AdminCaller {
  /** The person; for a token, its owner (`sid` is `token:<id>`, `sessionHash` empty: there is no app session). */
  me: Identity;
  actor: Actor;
  /** Present when the caller is a personal API token (absent: a person in a browser with a fresh step-up). */
  token?: { id: string; scopes: readonly TokenScope[] };
}

/** How the caller was identified, as audit events record it. */
export const viaOf = (caller: AdminCaller): 'session' | 'token' => (caller.token ? 'token' : 'session');

/** The answer to an organisation or app the caller holds no role in: it names nothing, not even what was asked. */
export const NOT_FOUND_ORG = 'No such organisation, or you hold no role in it.';
export const NOT_FOUND_APP = 'No such app, or you hold no role for it.';

/**
 * The person's key in `org` (Identity.sub) for a subject as the organisation's apps name them: every
 * admin endpoint that takes a person from its input makes their key here, and nowhere else. A
 * subject with `/` in the default organisation is refused before anything is read or changed: its
 * key would be another organisation's person (`acme/alice`), and acting on it from `default` would
 * reach across organisations.
 *
 * @param field the input field that named the subject (for the refusal)
 * @throws {StepgateError} 400 ERR_BAD_REQUEST naming `field`
 */
export function personOf(org: string, subject: string, field = 'user'): string {
  if (!isSubjectOf(org, subject)) {
    throw new StepgateError(ErrorCode.BadRequest, 400, `${field}: a subject of this organisation never contains "/"`);
  }
  return personKey(org, subject);
}
/** The subject as the organisation's apps name it, for a person's key in `org`. */
export const subjectOf = (org: string, sub: string): string => (sub.startsWith(`${org}/`) ? sub.slice(org.length + 1) : sub);

/**
 * Where an admin event belongs: the organisation of the person who acted (for a token, its owner's
 * — the token's organisation), never the host's. A token may be presented on another organisation's
 * host; its events (changes and refusals) must not land in that organisation's log, where they
 * would hide from their own auditors and leak into someone else's. The host's app is named
 * (`app_id`) only when it belongs to that organisation.
 */
export const adminEventScope = (rt: Runtime, actor: Pick<Identity, 'sub'>): { org: string; app_id?: null } => {
  const org = orgOfPerson(actor.sub);
  return org === rt.app.org ? { org } : { org, app_id: null };
};

/** Record a refusal of a signed-in person's admin action (before the answer), in the caller's organisation's log. */
export async function recordRefusal(
  rt: Runtime,
  req: Request,
  me: Pick<Identity, 'sub'>,
  r: {
    action: AdminAction | 'admin.access' | 'bootstrap';
    code: string;
    reason: string;
    org: string;
    appId?: string | null;
    person?: string;
    /** How the refused caller was identified (default: a session); for a token, its id is recorded as a hash. */
    via?: 'session' | 'token';
    tokenId?: string;
  },
): Promise<void> {
  await rt.audit.record({
    type: 'admin.refused',
    outcome: 'denied',
    ...(await auditBase(req, me, r.via ?? 'session')),
    ...adminEventScope(rt, me),
    reason: r.reason,
    ...(r.person === undefined ? {} : { target: r.person }),
    details: {
      action: r.action,
      code: r.code,
      org: r.org,
      app_id: r.appId ?? null,
      ...(r.tokenId === undefined ? {} : { token: await hashRef(r.tokenId) }),
    },
  });
}

/** A Stepgate personal token in `Authorization: Bearer sgt.…`, or null (any other bearer is the identity source's to read). */
export const presentedToken = (req: Request): string | null =>
  /^Bearer\s+(sgt\.\S*)$/i.exec(req.headers.get('authorization') ?? '')?.[1] ?? null;

/** Refuse a personal API token on an endpoint only a person in a browser may use. @throws {StepgateError} 403 */
export function refuseToken(req: Request): void {
  if (presentedToken(req) !== null) throw new StepgateError(ErrorCode.Forbidden, 403, SESSION_ONLY_REASON);
}

/**
 * The caller of an admin call on organisation `org`: a personal API token, or an identified person
 * of this organisation (same-origin JSON for a write, a fresh step-up), who holds a role in it.
 * A token needs `tokenScope` (default admin:write for a write, admin:read for a read; audit and
 * dashboard reads pass audit:read).
 *
 * @throws {StepgateError} 403/415 (not same-origin JSON), 401 (no identity, or a token that is not
 *   valid), 404 (no role in `org`: recorded), 403 (a token without the scope: recorded),
 *   403 ERR_FRESH_STEP_UP_REQUIRED
 */
export async function requireAdminCaller(
  rt: Runtime,
  req: Request,
  org: string,
  o: { write: boolean; tokenScope?: TokenScope },
): Promise<AdminCaller> {
  const presented = presentedToken(req);
  if (presented !== null) return tokenCaller(rt, req, org, presented, o.tokenScope ?? (o.write ? 'admin:write' : 'admin:read'), o.write);
  if (o.write) requireSameOriginJson(req, siteOf(req.url).origin);
  const me = await requireIdentity(rt, req);
  // People are keyed by the organisation of the app they came through: nobody acts on another.
  const roles = org === rt.app.org ? await rolesOf(rt.db, rt.keys, org, me.sub) : [];
  if (roles.length === 0) {
    await recordRefusal(rt, req, me, { action: 'admin.access', code: 'no-role', reason: NOT_FOUND_ORG, org });
    throw new StepgateError(ErrorCode.NotFound, 404, NOT_FOUND_ORG);
  }
  await requireAdminStepUp(rt, req, me); // a passkey-made step-up, when the person has a passkey
  return { me, actor: { sub: me.sub, orgId: org, roles } };
}

/**
 * A token's caller: valid (not expired or revoked), of this organisation, its owner holding a role
 * here now, with the scope. No fresh step-up (the token was made after one) and no same-origin
 * check (a bearer header is never sent by a browser on its own, so there is nothing to forge);
 * a write still carries JSON.
 */
async function tokenCaller(
  rt: Runtime,
  req: Request,
  org: string,
  presented: string,
  scope: TokenScope,
  write: boolean,
): Promise<AdminCaller> {
  const t = await authenticateToken(rt.db, rt.keys, presented, rt.now());
  if (!t) throw new StepgateError(ErrorCode.IdentityRequired, 401, 'That API token is not valid (malformed, unknown, expired or revoked).');
  const me: Identity = { sub: t.sub, subject: subjectOf(t.org, t.sub), sid: `token:${t.id}`, sessionHash: '', source: rt.identitySource };
  // A token works in its own organisation only, with its owner's roles at this moment.
  const roles = t.org === org ? await rolesOf(rt.db, rt.keys, org, t.sub) : [];
  const refused = { org, via: 'token' as const, tokenId: t.id };
  if (roles.length === 0) {
    await recordRefusal(rt, req, me, { action: 'admin.access', code: 'no-role', reason: NOT_FOUND_ORG, ...refused });
    throw new StepgateError(ErrorCode.NotFound, 404, NOT_FOUND_ORG);
  }
  if (!t.scopes.includes(scope)) {
    // A write that no scope allows (roles, unlocking, revocation, recovery) is named as such too.
    const reason = write
      ? `this token does not have the ${scope} scope; and whatever the token, ${SESSION_ONLY_REASON}`
      : `this token does not have the ${scope} scope`;
    await recordRefusal(rt, req, me, { action: 'admin.access', code: 'token-scope', reason, ...refused });
    throw new StepgateError(ErrorCode.Forbidden, 403, reason);
  }
  if (write) {
    const ct = (req.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (ct !== 'application/json')
      throw new StepgateError(ErrorCode.UnsupportedMediaType, 415, 'Send a JSON body (Content-Type: application/json).');
  }
  return { me, actor: { sub: t.sub, orgId: org, roles }, token: { id: t.id, scopes: t.scopes } };
}

/**
 * `authorize`, answered: nothing when allowed; else the refusal recorded and thrown — 404 when an
 * app-admin asks about an app not theirs (its existence is not confirmed), otherwise 403 with the reason.
 */
export async function requireAllowed(
  rt: Runtime,
  req: Request,
  caller: AdminCaller,
  action: AdminAction,
  target: AdminTarget,
): Promise<void> {
  const base = {
    action,
    org: target.orgId,
    appId: target.appId ?? null,
    ...(target.person === undefined ? {} : { person: target.person }),
    ...(caller.token ? { via: 'token' as const, tokenId: caller.token.id } : {}),
  };
  if (caller.token) {
    // A token: only the actions its scopes name, and never one a person must do in a browser —
    // refused before the roles are asked, so the answer is the same whoever owns the token.
    const may = tokenMayDo(caller.token.scopes, action);
    if (may !== 'yes') {
      const reason = may === 'session-only' ? SESSION_ONLY_REASON : `this token does not have the ${scopeFor(action)} scope (${action})`;
      await recordRefusal(rt, req, caller.me, { ...base, code: may === 'session-only' ? 'session-only' : 'token-scope', reason });
      throw new StepgateError(ErrorCode.Forbidden, 403, reason);
    }
  }
  const d: Decision = authorize(caller.actor, action, target);
  if (d.allowed) return;
  const hidden = d.code === 'not-your-app';
  await recordRefusal(rt, req, caller.me, { ...base, code: d.code, reason: hidden ? NOT_FOUND_APP : d.reason });
  throw hidden ? new StepgateError(ErrorCode.NotFound, 404, NOT_FOUND_APP) : new StepgateError(ErrorCode.Forbidden, 403, d.reason);
}

/** Record a change made by an admin call (after it is stored, before the answer), in the caller's organisation's log. */
export async function recordChange(
  rt: Runtime,
  req: Request,
  caller: AdminCaller,
  type: Extract<AuditType, `role.${string}` | `app.${string}` | `policy.${string}`>,
  o: { org: string; appId: string | null; person?: string; details?: AuditDetails },
): Promise<void> {
  await rt.audit.record({
    type,
    outcome: 'success',
    ...(await auditBase(req, caller.me, viaOf(caller))),
    ...adminEventScope(rt, caller.me),
    ...(o.person === undefined ? {} : { target: o.person }),
    details: { org: o.org, app_id: o.appId, ...(caller.token ? { token: await hashRef(caller.token.id) } : {}), ...o.details },
  });
}

/** Admin bodies may carry a whole policy: up to 256 KiB (jsonBody's 16 KiB is for the small ones). */
export const MAX_ADMIN_BODY = 256 * 1024;

/** Parse an admin call's JSON body (an empty body is `{}`) against a schema. @throws {StepgateError} 400 naming the field, 413 */
export const adminBody = <T>(req: Request, schema: z.ZodMiniType<T>): Promise<T> =>
  jsonBody(req, schema, { maxBytes: MAX_ADMIN_BODY, emptyBody: {} });
