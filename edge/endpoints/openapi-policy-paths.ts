/** @module The OpenAPI paths of policies beyond reading and replacing them: what report-only rules would have challenged. */
import { op, pathParam, query, responses, type Paths } from './openapi-builders';

export const policyPaths: Paths = {
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
};
