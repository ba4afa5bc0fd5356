/**
 * @module What a personal API token may be used for (docs/admin.md, "API tokens and the CLI"). A
 * token acts as its owner, with their roles at the moment of use, in its organisation only; its
 * scopes narrow that further. Some actions are never done with a token, whatever its scopes: the
 * ones that change who may do what, or take someone's access away (roles, unlocking, revoking
 * factors, grants or others' tokens, recovery). Those need a person in a browser, with a fresh
 * step-up, so a stolen token cannot entrench itself or lock the real administrators out.
 */
import { type Actor, type AdminAction, authorize } from './authorization';

export const TOKEN_SCOPES = ['audit:read', 'admin:read', 'admin:write'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

/** The admin actions each scope lets a token do (its owner's roles still decide). */
export const SCOPE_ACTIONS: Record<TokenScope, readonly AdminAction[]> = {
  'audit:read': ['audit.read', 'audit.export', 'dashboard.read'],
  'admin:read': ['app.read', 'policy.read', 'role.read', 'token.read'],
  'admin:write': ['app.create', 'app.update', 'app.delete', 'policy.update', 'person.invite', 'baseline.update'],
};

/** The answer to a token asking for an action only a person in a browser may do. */
export const SESSION_ONLY_REASON =
  'a person must do this in the browser, with a fresh step-up: API tokens never change roles, unlock people, ' +
  'revoke factors, grants or others’ tokens, or recover factors';

/** Whether a token of these scopes may ask for `action`: yes, not with these scopes, or never with a token. */
export function tokenMayDo(scopes: readonly TokenScope[], action: AdminAction): 'yes' | 'missing-scope' | 'session-only' {
  if (scopes.some((s) => SCOPE_ACTIONS[s].includes(action))) return 'yes';
  // An action no scope names (role changes, unlocking, revocation, recovery, anything added later) is
  // a browser's: failing closed, a new action is never open to tokens by accident.
  return TOKEN_SCOPES.some((s) => SCOPE_ACTIONS[s].includes(action)) ? 'missing-scope' : 'session-only';
}

/** The scope that would let a token do `action`, for the refusal's wording (undefined: none would). */
export const scopeFor = (action: AdminAction): TokenScope | undefined => TOKEN_SCOPES.find((s) => SCOPE_ACTIONS[s].includes(action));

/**
 * Whether a person with `actor`'s roles could ever use `scope`: one of their roles allows one of its
 * actions in the most favourable case (on an app of theirs, to someone else who holds no role, a
 * policy that keeps its enrolment). A token is only made for a scope its owner can use.
 */
export function scopeUsableBy(actor: Actor, scope: TokenScope): boolean {
  const someoneElse = `${actor.sub}\u0000someone-else`;
  return actor.roles.some((r) =>
    SCOPE_ACTIONS[scope].some(
      (action) =>
        authorize({ ...actor, roles: [r] }, action, {
          orgId: actor.orgId,
          person: someoneElse,
          personRoles: [],
          changesEnrolment: false,
          ...(r.appId === null ? {} : { appId: r.appId }),
        }).allowed,
    ),
  );
}
