/**
 * @module The OpenAPI paths of an app's policy: reading and replacing it, what report-only rules would
 * have challenged, its versions (list, propose, approve, reject, roll back) and its canary.
 */
import { jsonBody, op, pathParam, query, responses, str, type Paths } from './openapi-builders';

const VERSION_ANSWER =
  '`{app_id, version, state: "active", hash, weakens: false, changes: [{kind, rule, field, message}], ' +
  'canary: {percent, base_version} | null}`';
const canaryPercent = { type: 'integer', minimum: 1, maximum: 99, description: 'Enforce for this share of people first (a canary)' };

export const policyPaths: Paths = {
  '/.stepgate/api/admin/orgs/{org}/apps/{app}/policy': {
    get: op(
      'An app’s active policy (owners, admins, its app-admins; fresh step-up, or a token with admin:read); the bundled app’s ' +
        'is policy.json (version 1) until its first change',
      responses(
        {
          '200':
            '`{app_id, version, policy, hash, updated_at, updated_by, canary: {percent, base_version} | null}`; `canary`: the active ' +
            'version enforces for `percent` % of people, `base_version` for the others',
        },
        401,
        403,
        404,
      ),
      { parameters: [pathParam('org'), pathParam('app')] },
    ),
    put: op(
      'Owners, admins and its app-admins: replace an app’s policy with a new version (validated; its hosts must cover the app’s, ' +
        'and it must keep the organisation baseline): active at once unless it weakens the active one',
      responses(
        {
          '200': VERSION_ANSWER,
          '202': 'It weakens the active version: `state: "proposed"`, waiting for a second person’s approval; `changes` say why',
        },
        401,
        403,
        404,
        409,
        413,
        415,
      ),
      {
        parameters: [pathParam('org'), pathParam('app')],
        requestBody: jsonBody(['policy'], { policy: { type: 'object' }, comment: str, canary_percent: canaryPercent }),
      },
    ),
  },
  '/.stepgate/api/admin/orgs/{org}/apps/{app}/policy/canary': {
    post: op(
      'Widen the app’s running canary to a larger share of people (100: everyone, the canary ends); narrowing is refused ' +
        '(409: roll back instead). Fresh step-up, or a token with admin:write',
      responses({ '200': '`{app_id, version, canary: {percent} | null, completed}`' }, 401, 403, 404, 409, 415),
      {
        parameters: [pathParam('org'), pathParam('app')],
        requestBody: jsonBody(['percent'], { percent: { type: 'integer', minimum: 1, maximum: 100 } }),
      },
    ),
  },
  '/.stepgate/api/admin/orgs/{org}/apps/{app}/policy/report': {
    get: op(
      'Owners, admins and the app’s app-admins: what the app’s report-only rules would have challenged ' +
        '(fresh step-up, or a token with admin:read)',
      responses(
        {
          '200':
            '`{app_id, hours, since, rules: [{rule, requests, people, anonymous, top_routes: [{route, requests}]}], dropped}`: ' +
            'per rule, the requests it matched that no enforce rule before it took, distinct people, requests that named nobody, ' +
            'and at most 10 routes (method and path, no query), most requests first; `dropped` counts requests beyond the cap of ' +
            '1,000 distinct keys per app and hour',
        },
        401,
        403,
        404,
      ),
      {
        parameters: [
          pathParam('org'),
          pathParam('app'),
          query('hours', { type: 'integer', minimum: 1, maximum: 168 }, 'How far back, from the start of that hour; default 24'),
        ],
      },
    ),
  },
  '/.stepgate/api/admin/orgs/{org}/apps/{app}/policy/versions': {
    get: op(
      'Owners, admins and the app’s app-admins: the app’s policy versions, newest first (fresh step-up, or a token with admin:read)',
      responses(
        {
          '200':
            '`{app_id, versions: [{version, state, hash, comment, author, approved_by, created_at, policy}]}`; `state` is ' +
            '`active` (exactly one), `superseded`, `proposed` or `rejected`',
        },
        400,
        401,
        403,
        404,
      ),
      { parameters: [pathParam('org'), pathParam('app'), query('limit', { type: 'integer', minimum: 1, maximum: 50 }, 'default 20')] },
    ),
    post: op(
      'Propose a new version of the app’s policy: active at once unless it weakens the active one ' +
        '(fresh step-up, or a token with admin:write)',
      responses(
        {
          '200': VERSION_ANSWER,
          '202': 'It weakens the active version: `state: "proposed"`, waiting for a second person’s approval; `changes` say why',
        },
        400,
        401,
        403,
        404,
        409,
      ),
      {
        parameters: [pathParam('org'), pathParam('app')],
        requestBody: jsonBody(['policy'], { policy: { type: 'object' }, comment: str, canary_percent: canaryPercent }),
      },
    ),
  },
  '/.stepgate/api/admin/orgs/{org}/apps/{app}/policy/versions/{n}/reject': {
    post: op(
      'Reject a proposed version (its author may withdraw it): it is kept as `rejected` and never becomes active (body `{}`)',
      responses({ '200': '`{app_id, version, state: "rejected", hash}`' }, 400, 401, 403, 404, 409, 415),
      { parameters: [pathParam('org'), pathParam('app'), pathParam('n')], requestBody: jsonBody([], {}) },
    ),
  },
  '/.stepgate/api/admin/orgs/{org}/apps/{app}/policy/versions/{n}/approve': {
    post: op(
      'A second person (not the author; in a browser, fresh step-up, never a token) approves a proposed version: it becomes active',
      responses({ '200': 'The version, now `state: "active"`' }, 400, 401, 403, 404, 409),
      { parameters: [pathParam('org'), pathParam('app'), pathParam('n')] },
    ),
  },
  '/.stepgate/api/admin/orgs/{org}/apps/{app}/policy/versions/{n}/activate': {
    post: op(
      'Roll back to an earlier (superseded) version: active at once unless that weakens the active version, then a new proposal',
      responses(
        { '200': 'The version, now `state: "active"`', '202': 'A new proposal with that version’s policy' },
        400,
        401,
        403,
        404,
        409,
      ),
      { parameters: [pathParam('org'), pathParam('app'), pathParam('n')] },
    ),
  },
};
