/** @module The OpenAPI paths of an organisation's policy baseline: its console page; read, save, approve or reject a change. */
import { jsonBody, op, pathParam, responses, str, type Paths } from './openapi-builders';

const hashBody = jsonBody([], { hash: { ...str, description: 'The hash of the proposal the caller saw; another one is refused (409)' } });

export const baselinePaths: Paths = {
  '/.stepgate/admin/orgs/{org}/baseline': {
    get: op(
      'The organisation baseline page (HTML, console; baseline.read): its rules in words, a waiting change with why it weakens ' +
        'and Approve / Reject, and for owners and admins the editor. Without a fresh step-up it shows only "confirm it is you"',
      responses({ '200': 'HTML page' }, 401, 403),
      { parameters: [pathParam('org')] },
    ),
  },
  '/.stepgate/api/admin/orgs/{org}/policy-baseline': {
    get: op(
      'Owners, admins, auditors and app-admins (in a browser, fresh step-up): the organisation’s policy baseline, rules every app ' +
        'of it runs before its own, and a weakening change waiting for a second owner or admin',
      responses(
        {
          '200':
            '`{org, baseline: {policy, hash, updated_at, updated_by} | null, proposal: {policy, hash, proposed_by, proposed_at, mine, ' +
            'changes: [{kind, rule, message}]} | null}`; `baseline.policy` is null when the stored document no longer validates',
        },
        401,
        403,
        404,
      ),
      { parameters: [pathParam('org')] },
    ),
    put: op(
      'Owners and admins (fresh step-up, or a token with admin:write): save the baseline. In force at once unless it weakens the ' +
        'current one; then a proposal for a different owner or admin. At most one proposal waits',
      responses(
        {
          '200': '`{org, state: "active", hash, weakens: false, changes: [{kind, rule, field, message}]}`',
          '202': 'It weakens the baseline: `state: "proposed"`; `changes` say why',
        },
        400,
        401,
        403,
        404,
        409,
        413,
        415,
      ),
      { parameters: [pathParam('org')], requestBody: jsonBody(['policy'], { policy: { type: 'object' } }) },
    ),
  },
  '/.stepgate/api/admin/orgs/{org}/policy-baseline/approve': {
    post: op(
      'A different owner or admin than its author (in a browser, fresh step-up, never a token) approves the waiting change: it is in force',
      responses({ '200': '`{org, state: "active", hash, weakens, changes}`' }, 400, 401, 403, 404, 409, 415),
      { parameters: [pathParam('org')], requestBody: hashBody },
    ),
  },
  '/.stepgate/api/admin/orgs/{org}/policy-baseline/reject': {
    post: op(
      'Owners and admins, its author included (withdrawing it; fresh step-up, or a token with admin:write): reject the waiting change',
      responses({ '200': '`{org, state: "rejected", hash, weakens: false, changes: []}`' }, 400, 401, 403, 404, 409, 415),
      { parameters: [pathParam('org')], requestBody: hashBody },
    ),
  },
};
