/** @module The OpenAPI paths of factor recovery: started by one person, approved by another, cancelled or completed by the person. */
import { jsonBody, op, pathParam, responses, str, type Paths } from './openapi-builders';

const RECOVERY = '`{recovery: {id, user, state, started_by, started_at, approved_by, approved_at, effective_at, expires_at}}`';
/** An empty JSON object, or no body at all. */
const NO_BODY = { required: false, content: { 'application/json': { schema: { type: 'object', additionalProperties: false } } } };

export const recoveryPaths: Paths = {
  '/.stepgate/api/admin/orgs/{org}/recoveries': {
    post: op(
      'Helpdesk, admins and owners: start recovering the factors of a person who lost them (fresh step-up; never your own)',
      responses({ '201': RECOVERY }, 401, 403, 404, 409, 413, 415, 503),
      {
        description:
          'The person is told at once (a notice on Stepgate’s pages and in the extension) and may cancel. A different admin or ' +
          'owner must approve within 72 hours, or it expires. One open recovery per person (409 for a second). A personal API ' +
          'token is refused: recovery needs a person in a browser. Audited as `recovery.started`.',
        parameters: [pathParam('org')],
        requestBody: jsonBody(['user'], { user: str }),
      },
    ),
    get: op(
      'Helpdesk, admins and owners: the open recoveries of the organisation (fresh step-up)',
      responses(
        { '200': '`{recoveries: [{id, user, state, started_by, started_at, approved_by, approved_at, effective_at, expires_at}]}`' },
        401,
        403,
        404,
      ),
      { parameters: [pathParam('org')] },
    ),
  },
  '/.stepgate/api/admin/orgs/{org}/recoveries/{id}/approve': {
    post: op(
      'Admins and owners: approve a recovery someone else started (fresh step-up; never your own, nor for yourself)',
      responses({ '200': RECOVERY }, 401, 403, 404, 409, 413, 415, 503),
      {
        description:
          'It takes effect after the waiting period (`RECOVERY_WAIT_HOURS`, default 24): `effective_at`. The person is told, and ' +
          'may still cancel until they complete it. Audited as `recovery.approved`.',
        parameters: [pathParam('org'), pathParam()],
        requestBody: NO_BODY,
      },
    ),
  },
  '/.stepgate/api/admin/orgs/{org}/recoveries/{id}/cancel': {
    post: op('Admins and owners: cancel an open recovery (fresh step-up)', responses({ '200': RECOVERY }, 401, 403, 404, 409, 413, 415), {
      description: 'Audited as `recovery.cancelled`.',
      parameters: [pathParam('org'), pathParam()],
      requestBody: NO_BODY,
    }),
  },
  '/.stepgate/api/me/notices': {
    get: op(
      'Your notices: a recovery of your factors someone started, or an administrator’s removal of them (the extension polls this)',
      responses(
        {
          '200':
            '`{notices: [...]}`, by `kind`: `recovery` `{kind, id, state, started_at, effective_at, expires_at, can_complete}`; ' +
            '`factors-revoked` `{kind, id, revoked_at, expires_at}`',
        },
        401,
      ),
    ),
  },
  '/.stepgate/api/me/notices/{id}/dismiss': {
    post: op(
      'Dismiss your notice that an administrator revoked your factors (id `factors-revoked`; same-origin JSON or the extension)',
      responses({ '200': '`{dismissed, id}`' }, 401, 403, 404, 415),
      {
        description: 'A recovery’s notice cannot be dismissed (cancel the recovery instead): 404.',
        parameters: [pathParam()],
        requestBody: NO_BODY,
      },
    ),
  },
  '/.stepgate/api/me/recoveries/{id}/cancel': {
    post: op(
      'Cancel a recovery of your factors (needs only your identity; same-origin JSON or the extension)',
      responses({ '200': '`{cancelled, id}`' }, 401, 403, 404, 415),
      { description: 'Audited as `recovery.cancelled`.', parameters: [pathParam()], requestBody: NO_BODY },
    ),
  },
  '/.stepgate/api/me/recoveries/{id}/complete': {
    post: op(
      'Complete your approved recovery once it is in effect: your old factors, grants and API tokens are revoked, and an ' +
        'invitation for a new first factor is returned, shown once',
      responses({ '200': '`{completed, id, invite, invite_expires_at}`' }, 401, 403, 404, 409, 415, 503),
      {
        description: 'Before `effective_at`: 409 with `retry_at`. Audited as `recovery.completed`.',
        parameters: [pathParam()],
        requestBody: NO_BODY,
      },
    ),
  },
};
