/** @module The OpenAPI paths of the admin console pages and the dashboard. */
import { op, pathParam, query, responses, str, type Paths } from './openapi-builders';

/** A console page (HTML): 401 without a session, 403 when the person's roles do not allow it. */
const consolePage = (summary: string, ...more: number[]) => ({
  get: op(
    `${summary} (HTML, console). Without a fresh step-up it shows only "confirm it is you"; the nav lists only the pages your roles allow`,
    responses({ '200': 'HTML page' }, 401, 403, ...more),
  ),
});

export const consolePaths: Paths = {
  '/.stepgate/admin': {
    get: op(
      'The console overview (HTML): your organisation, your roles, the apps you may see; ' +
        'the bootstrap claim for the person BOOTSTRAP_OWNER names',
      responses({ '200': 'HTML page' }, 401),
    ),
  },
  '/.stepgate/admin/apps': consolePage(
    'Apps: hosts, origin, identity and policy; create, change, delete, edit the policy (as your roles allow)',
  ),
  '/.stepgate/admin/people': {
    get: {
      ...consolePage('People and roles: look a person up; invite, unlock, revoke, recovery; role grants', 400).get,
      parameters: [query('user', { type: 'string', maxLength: 256 }, 'The person to look up, as their app names them')],
    },
  },
  '/.stepgate/admin/tokens': consolePage('Your personal API tokens: create (shown once), revoke'),
  '/.stepgate/admin/orgs/{org}/apps/{app}/policy': {
    get: {
      ...consolePage(
        'An app’s policy (policy.read on the app): edit with live checking and a diff, save (a weakening change waits for a second ' +
          'person), try requests and replay the last hour, what report-only rules would have challenged, canary, versions',
        404,
      ).get,
      parameters: [pathParam('org'), pathParam('app')],
    },
  },
  '/.stepgate/admin/dashboard': {
    get: {
      ...consolePage(
        'The dashboard: step-ups, failures, denials and lockouts per day and per app (SVG charts), top denied routes and people',
        400,
      ).get,
      parameters: [
        query('from', { type: 'string', format: 'date' }, 'First day (UTC); default 13 days before `to`'),
        query('to', { type: 'string', format: 'date' }, 'Last day (UTC); default today; at most 90 days in all'),
      ],
    },
  },
  '/.stepgate/api/admin/orgs/{org}/dashboard': {
    get: op(
      'The organisation’s dashboard data (owners, admins, auditors: dashboard.read; a stepped-up session or a token with audit:read): ' +
        'step-ups (grant.issued), failures (factor.failed), denials (request.denied) and lockouts (user.locked_out) per UTC day ' +
        'and app, and the 10 most denied routes and people among the newest 5,000 denials of the range. Audited (audit.read)',
      responses(
        {
          '200':
            '`{from, to, days: [{day, app, stepUps, failures, denials, lockouts}], apps, topDeniedRoutes: [{route, count}], ' +
            'topDeniedPeople: [{person, count}], archivedThrough}`: whole UTC days, `to` exclusive; `archivedThrough` (ms, or ' +
            'null): events up to then are archived to R2 and not counted',
        },
        400,
        401,
        403,
        404,
        500,
        503,
      ),
      {
        parameters: [
          pathParam('org'),
          query('from', str, 'ISO 8601 or milliseconds, rounded down to its UTC day; default 13 days before today'),
          query(
            'to',
            str,
            'ISO 8601 or milliseconds (exclusive), rounded up to a UTC day; default the end of today; at most 90 days after from',
          ),
        ],
      },
    ),
  },
};
