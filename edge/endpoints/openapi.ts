/** @module The OpenAPI 3.1 description of the edge's own JSON API. A test keeps it in step with the routes. */
import { TOKEN_SCOPES } from '../admin/token-scopes';
import { STEPGATE_VERSION } from '../config/version';
import { op, pathParam, problem, query, responses, jsonBody, jsonResponse, str, type Paths } from './openapi-builders';
import { challengeAnswer, challengeAnswered, wireSchemas } from './openapi-schemas';
import { adminPeoplePaths } from './openapi-people-paths';
import { recoveryPaths } from './openapi-recovery-paths';
import { consolePaths } from './openapi-console-paths';
import { policyPaths } from './openapi-policy-paths';
import { policyToolPaths } from './openapi-policy-tool-paths';
import { baselinePaths } from './openapi-baseline-paths';
import { webhookPaths } from './openapi-webhook-paths';
import { approvalPaths } from './openapi-approval-paths';
import { auditStreamPaths } from './openapi-audit-stream-paths';

const document = {
  openapi: '3.1.0',
  info: {
    title: 'Stepgate edge API',
    version: STEPGATE_VERSION,
    description:
      'Endpoints Stepgate serves itself under the reserved paths /.stepgate/* and /.well-known/stepgate. ' +
      'They are never forwarded to the origin. Errors are RFC 9457 problem+json with a stable `code`. ' +
      'Every path answers 400 ERR_AMBIGUOUS_IDENTITY to a request that names its session in two ways. ' +
      'A request of the application that needs a step-up is answered 401 ERR_STEP_UP_REQUIRED (schema StepUpRequired).',
  },
  paths: {
    '/.well-known/stepgate': {
      get: op(
        'Discovery: version, endpoints and factors of this gateway',
        responses({ '200': jsonResponse('Discovery document', 'Discovery') }),
      ),
    },
    '/.well-known/stepgate/jwks.json': {
      get: op(
        'Public keys (EdDSA) that verify the Stepgate-Assertion header forwarded ' +
          'to the origin; live key ids only (a retired key id is not published)',
        responses({ '200': 'JWK Set' }),
      ),
    },
    '/.stepgate/api/openapi.json': {
      get: op('This document', responses({ '200': 'OpenAPI 3.1 document' })),
    },
    '/.stepgate/api/policy.schema.json': {
      get: op('JSON Schema of the policy file format', responses({ '200': 'JSON Schema (draft 2020-12)' })),
    },
    '/.well-known/stepgate/prompt-jwks.json': {
      get: op('Public keys (Ed25519 JWKS) that verify signed approval prompts (typ stepgate-prompt+jwt)', responses({ '200': 'JWKS' })),
    },
    '/.stepgate/api/challenges': {
      get: op(
        "This browser session's pending challenges, newest first, each with `prompt`: " +
          'the edge-signed JWS of what it approves (for the extension)',
        responses({ '200': jsonResponse('The pending challenges', 'PendingChallengeList') }, 401),
      ),
    },
    '/.stepgate/api/challenges/{id}/deny': {
      post: op(
        'Deny a pending challenge (from the extension prompt): ' +
          'a held request is refused with ERR_STEP_UP_DENIED; audited; a denial of a prompt ' +
          'that another session of the same person raised counts toward back-off (not while it runs)',
        responses({ '200': '`{denied: true, id}`' }, 401, 403, 404),
        { parameters: [pathParam()] },
      ),
    },
    '/.stepgate/api/challenges/{id}': {
      get: op(
        'A pending step-up challenge of the calling user and session',
        responses({ '200': jsonResponse('The challenge, the exact action it approves, and its number', 'ChallengeDetail') }, 401, 404),
        { parameters: [pathParam()] },
      ),
    },
    '/.stepgate/api/challenges/{id}/how-to-answer': {
      get: op(
        'How the caller can answer their pending challenge now (read only): the ways they have set up that its rule allows, ' +
          'strongest first; the wrong answers it still takes; a wait or a lock-out',
        responses({ '200': jsonResponse('What the step-up page offers', 'HowToAnswer') }, 401, 404),
        { parameters: [pathParam()] },
      ),
    },
    '/.stepgate/api/challenges/{id}/verify': {
      post: op(
        'Answer a challenge with a passkey, a TOTP code or a recovery code',
        responses(
          {
            '200': {
              description: 'A session grant (`bind: session`) or a one-time approval (`bind: action`)',
              content: { 'application/json': { schema: challengeAnswered } },
            },
          },
          400,
          401,
          403,
          404,
          409,
          415,
          429,
        ),
        {
          description:
            'Same-origin JSON only (or from the extension, an origin in WEBAUTHN_ORIGINS). Session rules: sets the grant cookie and ' +
            'returns the grant token (send it as `Stepgate-Grant` from API clients). ' +
            'Action rules: records a one-use approval; the identical request then passes once. ' +
            "A wrong code or passkey is 401 ERR_FACTOR_INVALID with `attempts_left`; when the challenge's tries are used up, " +
            '429 ERR_LOCKED_OUT with `attempts_left` 0. From another browser of the person, `number` must be the number shown ' +
            'where the request was made (400 ERR_NUMBER_MISMATCH with `tries_left`; the last wrong one is 403 ERR_STEP_UP_DENIED).',
          parameters: [pathParam()],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: challengeAnswer } },
          },
        },
      ),
    },
    '/.stepgate/api/challenges/{id}/webauthn/options': {
      post: op(
        'WebAuthn request options to answer this challenge with a passkey (user verification required)',
        responses({ '200': 'PublicKeyCredentialRequestOptionsJSON' }, 400, 401, 404),
        { parameters: [pathParam()] },
      ),
    },
    '/.stepgate/api/factors/webauthn/options': {
      post: op(
        'WebAuthn creation options to register a passkey (first factor per the enrolment policy; later ones need the fresh step-up)',
        responses({ '200': 'PublicKeyCredentialCreationOptionsJSON' }, 401, 403),
      ),
    },
    '/.stepgate/api/factors/webauthn/verify': {
      post: op(
        'Register the passkey created with the options above; the first factor also returns recovery codes, shown once',
        responses({ '201': '`{registered, recovery_codes?}`' }, 400, 401, 403, 409),
        { requestBody: jsonBody(['response'], { response: { type: 'object' }, nickname: str }) },
      ),
    },
    '/.stepgate/api/factors': {
      get: op(
        "The caller's factors and recovery-code status",
        responses({ '200': '`{totp: [{id}], recovery_codes_left, enrolment}`' }, 401),
      ),
    },
    '/.stepgate/api/factors/step-up': {
      post: op(
        'Start a step-up that, once answered, allows changing your own factors for five minutes',
        responses({ '201': '`{challenge_id, challenge_url, expires_at}`' }, 400, 401, 403),
      ),
    },
    '/.stepgate/api/factors/totp': {
      post: op(
        'Start enrolling an authenticator app (first factor per the enrolment policy, ' +
          'with `{"invite": code}` under "invite"; later ones need the fresh step-up)',
        responses({ '201': '`{id, secret, otpauth_uri, qr_svg}`' }, 401, 403),
      ),
    },
    '/.stepgate/api/factors/totp/{id}/confirm': {
      post: op(
        'Confirm an authenticator app with a first code; the first factor also returns recovery codes, shown once',
        responses({ '200': '`{activated, id, recovery_codes?}`' }, 400, 401, 403, 404, 409),
        { parameters: [pathParam()], requestBody: jsonBody(['code'], { code: str }) },
      ),
    },
    '/.stepgate/api/factors/remove': {
      post: op(
        'Remove one of your factors (needs the fresh step-up; the last factor cannot be removed)',
        responses({ '200': '`{removed, kind, id}`' }, 401, 403, 404, 409),
        { requestBody: jsonBody(['kind', 'id'], { kind: { enum: ['totp', 'webauthn'] }, id: str }) },
      ),
    },
    '/.stepgate/api/admin/invites': {
      post: op(
        'Owners, admins and this app’s app-admins: issue a one-time, day-long invitation for a person ' +
          'to enrol a first factor (needs a fresh step-up; not for yourself)',
        responses({ '201': '`{user, invite, expires_at}`' }, 401, 403),
        { requestBody: jsonBody(['user'], { user: str }) },
      ),
    },
    '/.stepgate/api/admin/unlock': {
      post: op(
        'Owners, admins, this app’s app-admins and helpdesk: clear a person’s failure count and lock ' +
          '(needs a fresh step-up; not yourself)',
        responses({ '200': '`{unlocked, user, consecutive_failures}`' }, 401, 403),
        { requestBody: jsonBody(['user'], { user: str }) },
      ),
    },
    '/.stepgate/api/admin/me': {
      get: op(
        'Your organisation and your roles in it (needs a fresh step-up)',
        responses({ '200': '`{person, org, orgs: [{id, name, roles: [{role, app_id}]}]}`' }, 401, 403),
      ),
    },
    '/.stepgate/api/admin/bootstrap': {
      post: op(
        'The person BOOTSTRAP_OWNER names claims ownership of the default organisation: once, ' +
          'while it has no owner, with an enrolled factor and a fresh step-up',
        responses({ '201': '`{org, role, grant, person}`' }, 401, 403, 409),
        { requestBody: jsonBody([], {}) },
      ),
    },
    '/.stepgate/api/admin/orgs': {
      get: op(
        'Organisations: every one for an owner of the default organisation (the operator), else your own (fresh step-up)',
        responses({ '200': '`{orgs: [{id, name, created_at}]}`' }, 401, 403),
      ),
      post: op(
        'Owners of the default organisation: create an organisation with its first owner (a subject of its apps) ' +
          'and, optionally, its first app (fresh step-up)',
        responses({ '201': '`{org: {id, name, created_at}, owner: {person, role, grant}, app: {…} | null}`' }, 401, 403, 409, 413, 415),
        {
          requestBody: jsonBody(['id', 'name', 'owner'], {
            id: str,
            name: str,
            owner: str,
            app: { type: 'object', description: 'As POST /orgs/{org}/apps takes it: name, hosts, origin_url, identity, policy' },
          }),
        },
      ),
    },
    '/.stepgate/api/admin/orgs/{org}/apps': {
      get: op(
        'The apps of an organisation (owners and admins: all; an app-admin: theirs); fresh step-up',
        responses({ '200': '`{apps: [App]}`' }, 401, 403, 404),
        { parameters: [pathParam('org')] },
      ),
      post: op(
        'Owners and admins: create an app with its hosts, origin, identity configuration and policy (fresh step-up)',
        responses({ '201': '`{app, policy_hash}`' }, 401, 403, 404, 409, 413, 415),
        {
          parameters: [pathParam('org')],
          requestBody: jsonBody(['name', 'hosts', 'identity', 'policy'], {
            name: str,
            hosts: { type: 'array', items: str },
            origin_url: { type: ['string', 'null'] },
            identity: { type: 'object' },
            policy: { type: 'object' },
          }),
        },
      ),
    },
    '/.stepgate/api/admin/orgs/{org}/apps/{app}': {
      get: op('One app (owners, admins, its app-admins; fresh step-up)', responses({ '200': '`{app}`' }, 401, 403, 404), {
        parameters: [pathParam('org'), pathParam('app')],
      }),
      patch: op(
        'Owners and admins: change an app’s name, hosts (replaced as a whole), origin or identity configuration',
        responses({ '200': '`{app}`' }, 401, 403, 404, 409, 413, 415),
        {
          parameters: [pathParam('org'), pathParam('app')],
          requestBody: jsonBody([], {
            name: str,
            hosts: { type: 'array', items: str },
            origin_url: { type: ['string', 'null'] },
            identity: { type: 'object' },
          }),
        },
      ),
      delete: op(
        'Owners and admins: delete an app with its hosts, policy and app-admin grants (body `{}`)',
        responses({ '200': '`{deleted, id}`' }, 401, 403, 404, 415),
        { parameters: [pathParam('org'), pathParam('app')], requestBody: jsonBody([], {}) },
      ),
    },
    // …/apps/{app}/policy (read, replace): openapi-policy-paths.ts, with the versions.
    '/.stepgate/api/admin/orgs/{org}/roles': {
      get: op(
        'Owners and admins: the role grants of an organisation (fresh step-up)',
        responses({ '200': '`{grants: [{id, person, role, app_id, granted_by, granted_at}]}`' }, 401, 403, 404),
        { parameters: [pathParam('org')] },
      ),
      post: op(
        'Owners and admins: grant a role to another person (owner only by an owner; app-admin with `app_id`; never to yourself)',
        responses({ '201': '`{grant}`' }, 401, 403, 404, 409, 415),
        {
          parameters: [pathParam('org')],
          requestBody: jsonBody(['person', 'role'], {
            person: str,
            role: { enum: ['owner', 'admin', 'app-admin', 'auditor', 'helpdesk'] },
            app_id: str,
          }),
        },
      ),
    },
    '/.stepgate/api/admin/orgs/{org}/roles/{grant}': {
      delete: op(
        'Owners and admins: revoke another person’s role (owner only by an owner; never the last owner; body `{}`)',
        responses({ '200': '`{revoked, id}`' }, 401, 403, 404, 415),
        { parameters: [pathParam('org'), pathParam('grant')], requestBody: jsonBody([], {}) },
      ),
    },
    '/.stepgate/api/recovery-codes': {
      post: op('Replace your recovery codes (needs the fresh step-up)', responses({ '201': '`{recovery_codes}`' }, 401, 403)),
    },
    '/.well-known/stepgate/audit-jwks.json': {
      get: op(
        'Public keys (Ed25519 JWKS) that verify signed audit checkpoints, ' +
          'one per key id, retired key ids included (verify-only, with `retired_at`)',
        responses({ '200': 'JWKS' }),
      ),
    },
    '/.stepgate/api/admin/audit/events': {
      get: op(
        'Owners, admins and auditors: list their organisation’s audit events, decrypted (a stepped-up session: the organisation ' +
          'of the app it is on; or a personal token with audit:read: the token’s organisation)',
        responses({ '200': '`{events: [{event, prev_hash, hash}], next_cursor}`' }, 400, 401, 403, 503),
        {
          parameters: [
            ...['from', 'to'].map((name) => query(name, str, 'ISO 8601 or milliseconds; from inclusive, to exclusive')),
            query('user', str, 'The person who acted (matched by blind index)'),
            query('ip', str, 'Client IP (matched by blind index)'),
            query('app', str),
            query('type', str, 'Event types, comma-separated (docs/audit.md)'),
            query('outcome', { enum: ['success', 'failure', 'denied', 'info'] }),
            query('order', { enum: ['desc', 'asc'] }),
            query('limit', { type: 'integer', minimum: 1, maximum: 500 }),
            query('cursor', str, 'next_cursor of the previous page'),
          ],
        },
      ),
    },
    '/.stepgate/api/admin/audit/export': {
      get: op(
        'Export the organisation’s audit events (same readers and filters as events), oldest first: ' +
          'ndjson (chained events and signed checkpoints), csv, or ocsf (OCSF 1.1 NDJSON, as stepgate-audit.ocsf.ndjson)',
        responses({ '200': 'A streamed file' }, 400, 401, 403),
        { parameters: [query('format', { enum: ['ndjson', 'csv', 'ocsf'] })] },
      ),
    },
    '/.stepgate/api/admin/audit/verify': {
      get: op(
        'Verify the chain from sequence `from`, at most `limit` rows; names the first sequence modified, deleted, inserted or ' +
          'reordered. The chain holds every organisation’s events: readers of the default organisation only',
        responses(
          { '200': '`{ok, from, start: {seq, hash}, to, rows, checkpoints, complete, next}` or `{ok: false, seq, problem, detail}`' },
          401,
          403,
        ),
        {
          parameters: [query('from', { type: 'integer', minimum: 1 }), query('limit', { type: 'integer', minimum: 1, maximum: 5000 })],
        },
      ),
    },
    '/.stepgate/api/admin/audit/checkpoints': {
      get: op(
        'Signed checkpoints (compact JWS) of the chain; readers of the default organisation only',
        responses({ '200': '`{checkpoints: [{seq, kind, jws}]}`' }, 401, 403),
      ),
    },
    '/.stepgate/api/admin/maintenance': {
      post: op(
        'Owners and admins of the default organisation: run the cron upkeep now ' +
          '(checkpoint, re-encrypt a batch under the primary key, retention)',
        responses({ '200': '`{checkpoint, reencrypted, pruned}`' }, 401, 403),
      ),
    },
    '/.stepgate/api/admin/keys': {
      get: op(
        'Owners and admins of the default organisation: which key ids stored data still uses, and which may be retired',
        responses({ '200': '`{primary, kids, usage, retirable, notes}`' }, 401, 403),
      ),
    },
    '/.stepgate/api/tokens': {
      get: op('Your personal API tokens, in your organisation (never their secrets)', responses({ '200': '`{tokens}`' }, 401, 403)),
      post: op(
        'Create a personal API token in your organisation (in a browser, with a fresh step-up; only scopes your roles ' +
          'there could use; at most 20 per person); shown once',
        responses({ '201': '`{id, org, token, label, scopes, created_at, expires_at, revoked_at, last_used_at}`' }, 401, 403, 409),
        {
          requestBody: jsonBody(['scopes', 'label'], {
            scopes: { type: 'array', items: { enum: [...TOKEN_SCOPES] } },
            ttl_days: { type: 'integer', minimum: 1, maximum: 30 },
            label: str,
          }),
        },
      ),
    },
    '/.stepgate/api/tokens/current': {
      get: op(
        'The personal API token presented (Authorization: Bearer sgt.…): its owner, organisation, scopes and expiry',
        responses({ '200': '`{id, org, user, label, scopes, created_at, expires_at, revoked_at, last_used_at}`' }, 401),
      ),
    },
    '/.stepgate/api/tokens/{id}/revoke': {
      post: op('Revoke one of your tokens (in a browser)', responses({ '200': '`{revoked, id}`' }, 401, 403, 404), {
        parameters: [pathParam()],
      }),
    },
    '/.stepgate/challenge/{id}': {
      get: op('The step-up page for a challenge (HTML, for browsers)', responses({ '200': 'HTML page' }, 401, 404), {
        parameters: [pathParam()],
      }),
    },
    '/.stepgate/admin/audit': {
      get: op(
        'The audit log page of the console (HTML, owners, admins and auditors): confirm it is you, then search, export and verify',
        responses({ '200': 'HTML page' }),
      ),
    },
    '/.stepgate/enrol': {
      get: op(
        'The enrolment page (HTML): who is signed in; add a passkey or an authenticator app (a second factor after ' +
          '"Confirm it is you" on the page itself, then within 5 minutes); recovery codes shown once, with Copy and Download',
        responses({
          '200': 'HTML page (also when signed out: what to do, and, when the app has a loginUrl, a link to it with `return_to`)',
        }),
        {
          parameters: [query('return', str, 'A path on this site to offer "Back to where you were" (anything else is ignored)')],
        },
      ),
    },
    '/.stepgate/challenge/{id}/continue': {
      post: op(
        'After approval, carry out the held original request exactly once (form POST from the step-up page)',
        {
          default: { description: "The app's own answer to the held request, passed through as it is (a redirect, a page or JSON)" },
          '303': { description: "Signed out meanwhile (a browser): to the app's loginUrl, with `return` as `return_to`" },
          ...responses({}, 401, 403, 404),
        },
        {
          description:
            "A refusal (nothing held any more, signed out without a loginUrl, another site's form) is problem+json for a program, " +
            'and for a browser navigating an HTML page in words with the same status and a link back to `return`.',
          parameters: [pathParam(), query('return', str, 'The page the person came from: a path on this site (anything else is ignored)')],
        },
      ),
    },
    '/.stepgate/assets/{file}': {
      get: op('Static assets of Stepgate pages', responses({ '200': 'Asset' }, 404), { parameters: [pathParam('file')] }),
    },
    ...adminPeoplePaths,
    ...recoveryPaths,
    ...consolePaths,
    ...policyPaths,
    ...policyToolPaths,
    ...baselinePaths,
    ...webhookPaths,
    ...approvalPaths,
    ...auditStreamPaths,
  },
  components: {
    responses: {
      Problem: {
        description: 'RFC 9457 problem details',
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      },
    },
    schemas: {
      ...wireSchemas,
      Discovery: {
        type: 'object',
        required: ['stepgate', 'endpoints', 'factors'],
        properties: {
          stepgate: { type: 'string', description: 'Gateway version' },
          endpoints: { type: 'object', additionalProperties: { type: 'string' } },
          factors: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
} as const;

/** Every operation of `paths`, with a 400 problem response first. */
const with400 = (paths: Paths): Paths =>
  Object.fromEntries(
    Object.entries(paths).map(([path, ops]) => [
      path,
      Object.fromEntries(Object.entries(ops).map(([method, o]) => [method, { ...o, responses: { '400': problem, ...o.responses } }])),
    ]),
  );

/**
 * The document, with 400 on every operation: the gateway refuses a request that names its session
 * in two ways (ERR_AMBIGUOUS_IDENTITY) before any route, Stepgate's own included.
 */
export const openapi = { ...document, paths: with400(document.paths) };
