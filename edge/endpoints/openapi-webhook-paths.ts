/** @module The OpenAPI paths of an organisation's webhook of dual-control notices: read, set, remove, test (docs/admin.md, "Webhooks"). */
import { jsonBody, op, pathParam, responses, str, type Paths } from './openapi-builders';

export const webhookPaths: Paths = {
  '/.stepgate/api/admin/orgs/{org}/webhook': {
    get: op(
      'Owners and admins (in a browser, fresh step-up, never a token): the organisation’s webhook, never its secret',
      responses({ '200': '`{org, webhook: {url, format, created_at, updated_at, updated_by} | null}`' }, 401, 403, 404),
      { parameters: [pathParam('org')] },
    ),
    put: op(
      'Owners and admins (in a browser, fresh step-up, never a token): set the webhook. https only to a host name on port 443 ' +
        '(no IP address, no other port, no host this deployment serves; http to a loopback host in development), at most 2,048 ' +
        'characters, no user name or password. Each call makes a new signing secret, answered this once',
      responses(
        {
          '200': 'Replaced: `{org, webhook: {url, format, updated_at, updated_by}, secret: "whsec_…", note}`',
          '201': 'Created: the same',
        },
        400,
        401,
        403,
        404,
        413,
        415,
      ),
      {
        parameters: [pathParam('org')],
        requestBody: jsonBody(['url', 'format'], { url: { ...str, maxLength: 2048 }, format: { type: 'string', enum: ['json', 'slack'] } }),
      },
    ),
    delete: op(
      'Owners and admins (in a browser, fresh step-up, never a token): remove the webhook; notices still waiting are given up',
      responses({ '200': '`{org, deleted}`' }, 401, 403, 404, 415),
      { parameters: [pathParam('org')] },
    ),
  },
  '/.stepgate/api/admin/orgs/{org}/webhook/test': {
    post: op(
      'Owners and admins (in a browser, fresh step-up, never a token): send a test notice (`Stepgate-Event: webhook.test`), ' +
        'delivered and retried like any other; at most 5 a minute per organisation (429 with Retry-After)',
      responses({ '202': '`{org, delivery}`: the `Stepgate-Delivery` id' }, 400, 401, 403, 404, 409, 415, 429, 503),
      { parameters: [pathParam('org')], requestBody: jsonBody([], {}) },
    ),
  },
};
