/**
 * @module The OpenAPI paths of the policy tools (policy-tool-routes.ts): check a draft, test a request
 * against it, replay the last hour's routes, and promote a report-only rule to enforce.
 */
import { jsonBody, op, pathParam, responses, type Paths } from './openapi-builders';

const APP = [pathParam('org'), pathParam('app')];
const READ = '(fresh step-up, or a token with admin:read)';
const POLICY = { type: 'object', description: 'A policy document (docs/policy.md)' };

export const policyToolPaths: Paths = {
  '/.stepgate/api/admin/orgs/{org}/apps/{app}/policy/check': {
    post: op(
      `Owners, admins and the app’s app-admins: validate a draft policy, without saving it ${READ}`,
      responses(
        {
          '200':
            '`{valid, problems: [{rule, field, message}], diff: [{kind: "added"|"removed"|"changed", rule, text}], ' +
            'change: {weakening, reasons}, baseline: [sentence]}`: the problems of `stepgate policy check` by rule and field, ' +
            'the differences from the active version, whether saving it would wait for a second person (and why), and ' +
            'what it would weaken of the organisation baseline; `valid` only when both lists are empty',
        },
        400,
        401,
        403,
        404,
      ),
      { parameters: APP, requestBody: jsonBody(['policy'], { policy: POLICY }) },
    ),
  },
  '/.stepgate/api/admin/orgs/{org}/apps/{app}/policy/test': {
    post: op(
      `Which rule takes METHOD URL under a draft (default: the active policy, behind the organisation baseline), and what happens ${READ}`,
      responses(
        {
          '200':
            '`{rule, mode, outcome, text}`: `outcome` is `pass`, `step-up`, `approve-action`, `report-only` or `refused`; ' +
            '`text` says it in a sentence',
        },
        400,
        401,
        403,
        404,
        409,
      ),
      {
        parameters: APP,
        requestBody: jsonBody(['method', 'url'], {
          policy: POLICY,
          method: { type: 'string', pattern: '^[A-Za-z]{1,20}$' },
          url: { type: 'string', maxLength: 2048, description: 'A path (/api/projects/7) or an absolute http(s) URL' },
        }),
      },
    ),
  },
  '/.stepgate/api/admin/orgs/{org}/apps/{app}/policy/replay': {
    post: op(
      `The routes recorded since the start of the previous hour whose outcome a draft changes ${READ}`,
      responses(
        {
          '200':
            '`{hours: 1, routes, changed: [{method, host, path, requests, from, to}]}`: `routes` replayed, at most 100 ' +
            'changes, most requests first; `from` and `to` are outcomes as in …/policy/test',
        },
        400,
        401,
        403,
        404,
        409,
      ),
      { parameters: APP, requestBody: jsonBody(['policy'], { policy: POLICY }) },
    ),
  },
  '/.stepgate/api/admin/orgs/{org}/apps/{app}/policy/rules/{rule}/promote': {
    post: op(
      'Promote a report-only rule of the active policy to enforce: a new version, through the same path as PUT …/policy ' +
        '(fresh step-up, or a token with admin:write)',
      responses(
        {
          '200': '`{app_id, version, state: "active", hash, weakens, changes}`',
          '202': 'The classifier finds it weakens (it may take requests from a stricter rule): a proposal',
        },
        400,
        401,
        403,
        404,
        409,
      ),
      { parameters: [...APP, pathParam('rule')] },
    ),
  },
};
