/** @module The OpenAPI paths of revoking a person's factors, grants and tokens, and looking a person up. */
import { jsonBody, op, pathParam, responses, str, type Paths } from './openapi-builders';

const bool = { type: 'boolean' };

export const adminPeoplePaths: Paths = {
  '/.stepgate/api/admin/orgs/{org}/people/revoke': {
    post: op(
      'Owners and admins: revoke a person’s factors, grants and/or API tokens, effective on their next request (fresh step-up)',
      responses({ '200': '`{user, revoked: {factors, tokens, challenges, held, approvals}}`' }, 401, 403, 404, 413, 415),
      {
        description:
          'At least one of `factors`, `grants`, `tokens` must be true. Factors (every passkey, authenticator app, recovery code and ' +
          'unspent invitation) always take the grants with them. Grants: every grant stepped up until now stops working on the next ' +
          'request; pending challenges, held requests and approvals are dropped (a request held on a prompt is refused). ' +
          'Factors and grants are `person.revoke-factors`, never your own; tokens are `token.revoke` (your own allowed). ' +
          'Audited as `person.revoked`.',
        parameters: [pathParam('org')],
        requestBody: jsonBody(['user'], { user: str, factors: bool, grants: bool, tokens: bool }),
      },
    ),
  },
  '/.stepgate/api/admin/orgs/{org}/people/{user}': {
    get: op(
      'Owners and admins: a person of the organisation — factors, lockout, roles, API tokens, open recovery (fresh step-up)',
      responses(
        {
          '200':
            '`{user, factors: [{kind, label?, created_at}], locked: {consecutive_failures, backoff_until, locked_out}, ' +
            'roles: [{role, app_id, grant}], tokens: [{id, label, scopes, expires_at, revoked}], recovery}`',
        },
        401,
        403,
        404,
      ),
      { parameters: [pathParam('org'), pathParam('user')] },
    ),
  },
};
