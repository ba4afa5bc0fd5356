/** @module The OpenAPI 3.1 description of the edge's own JSON API. A test keeps it in step with the routes. */

const problem = { $ref: '#/components/responses/Problem' };

import { STEPGATE_VERSION } from '../config/version';

const document = {
  openapi: '3.1.0',
  info: {
    title: 'Stepgate edge API',
    version: STEPGATE_VERSION,
    description:
      'Endpoints Stepgate serves itself under the reserved paths /.stepgate/* and /.well-known/stepgate. ' +
      'They are never forwarded to the origin. Errors are RFC 9457 problem+json with a stable `code`. ' +
      'Every path answers 400 ERR_AMBIGUOUS_IDENTITY to a request that names its session in two ways.',
  },
  paths: {
    '/.well-known/stepgate': {
      get: {
        summary: 'Discovery: version, endpoints and factors of this gateway',
        responses: {
          '200': {
            description: 'Discovery document',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Discovery' } } },
          },
        },
      },
    },
    '/.well-known/stepgate/jwks.json': {
      get: {
        summary:
          'Public keys (EdDSA) that verify the Stepgate-Assertion header forwarded ' +
          'to the origin; live key ids only (a retired key id is not published)',
        responses: { '200': { description: 'JWK Set' } },
      },
    },
    '/.stepgate/api/openapi.json': {
      get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1 document' } } },
    },
    '/.stepgate/api/policy.schema.json': {
      get: { summary: 'JSON Schema of the policy file format', responses: { '200': { description: 'JSON Schema (draft 2020-12)' } } },
    },
    '/.well-known/stepgate/prompt-jwks.json': {
      get: {
        summary: 'Public keys (Ed25519 JWKS) that verify signed approval prompts (typ stepgate-prompt+jwt)',
        responses: { '200': { description: 'JWKS' } },
      },
    },
    '/.stepgate/api/challenges': {
      get: {
        summary:
          "This browser session's pending challenges, newest first, each with `prompt`: " +
          'the edge-signed JWS of what it approves (for the extension)',
        responses: { '200': { description: '`{challenges: [Challenge & {created_at, held, prompt}]}`' }, '401': problem },
      },
    },
    '/.stepgate/api/challenges/{id}/deny': {
      post: {
        summary:
          'Deny a pending challenge (from the extension prompt): ' +
          'a held request is refused with ERR_STEP_UP_DENIED; audited; a denial of a prompt ' +
          'that another session of the same person raised counts toward back-off (not while it runs)',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': { description: '`{denied: true, id}`' }, '401': problem, '403': problem, '404': problem },
      },
    },
    '/.stepgate/api/challenges/{id}': {
      get: {
        summary: 'A pending step-up challenge of the calling user and session',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': {
            description: 'The challenge and the exact action it approves',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Challenge' } } },
          },
          '401': problem,
          '404': problem,
        },
      },
    },
    '/.stepgate/api/challenges/{id}/verify': {
      post: {
        summary: 'Answer a challenge with a TOTP code or a recovery code',
        description:
          'Same-origin JSON only. Session rules: sets the grant cookie and ' +
          'returns the grant token (send it as `Stepgate-Grant` from API clients). ' +
          'Action rules: records a one-use approval; the identical request then passes once.',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['method', 'code'],
                properties: {
                  method: { enum: ['totp', 'recovery', 'webauthn'] },
                  code: { type: 'string' },
                  response: { type: 'object', description: 'AuthenticationResponseJSON, for webauthn' },
                },
              },
            },
          },
        },
        responses: {
          '200': { description: '`{granted, grant, expires_at}` (session) or `{approved, expires_at}` (action)' },
          '400': problem,
          '401': problem,
          '403': problem,
          '404': problem,
          '409': problem,
          '415': problem,
          '429': problem,
        },
      },
    },
    '/.stepgate/api/challenges/{id}/webauthn/options': {
      post: {
        summary: 'WebAuthn request options to answer this challenge with a passkey (user verification required)',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': { description: 'PublicKeyCredentialRequestOptionsJSON' }, '400': problem, '401': problem, '404': problem },
      },
    },
    '/.stepgate/api/factors/webauthn/options': {
      post: {
        summary:
          'WebAuthn creation options to register a passkey (first factor per the enrolment policy; later ones need the factors step-up)',
        responses: { '200': { description: 'PublicKeyCredentialCreationOptionsJSON' }, '401': problem, '403': problem },
      },
    },
    '/.stepgate/api/factors/webauthn/verify': {
      post: {
        summary: 'Register the passkey created with the options above; the first factor also returns recovery codes, shown once',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['response'],
                properties: { response: { type: 'object' }, nickname: { type: 'string' } },
              },
            },
          },
        },
        responses: {
          '201': { description: '`{registered, recovery_codes?}`' },
          '400': problem,
          '401': problem,
          '403': problem,
          '409': problem,
        },
      },
    },
    '/.stepgate/api/factors': {
      get: {
        summary: "The caller's factors and recovery-code status",
        responses: { '200': { description: '`{totp: [{id}], recovery_codes_left, enrolment}`' }, '401': problem },
      },
    },
    '/.stepgate/api/factors/step-up': {
      post: {
        summary: 'Start a step-up that, once answered, allows changing your own factors for five minutes',
        responses: {
          '201': { description: '`{challenge_id, challenge_url, expires_at}`' },
          '400': problem,
          '401': problem,
          '403': problem,
        },
      },
    },
    '/.stepgate/api/factors/totp': {
      post: {
        summary:
          'Start enrolling an authenticator app (first factor per the enrolment policy, ' +
          'with `{"invite": code}` under "invite"; later ones need the factors step-up)',
        responses: { '201': { description: '`{id, secret, otpauth_uri, qr_svg}`' }, '401': problem, '403': problem },
      },
    },
    '/.stepgate/api/factors/totp/{id}/confirm': {
      post: {
        summary: 'Confirm an authenticator app with a first code; the first factor also returns recovery codes, shown once',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { type: 'object', required: ['code'], properties: { code: { type: 'string' } } } } },
        },
        responses: {
          '200': { description: '`{activated, id, recovery_codes?}`' },
          '400': problem,
          '401': problem,
          '403': problem,
          '404': problem,
          '409': problem,
        },
      },
    },
    '/.stepgate/api/factors/remove': {
      post: {
        summary: 'Remove one of your factors (needs the factors step-up; the last factor cannot be removed)',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['kind', 'id'],
                properties: { kind: { enum: ['totp', 'webauthn'] }, id: { type: 'string' } },
              },
            },
          },
        },
        responses: { '200': { description: '`{removed, kind, id}`' }, '401': problem, '403': problem, '404': problem, '409': problem },
      },
    },
    '/.stepgate/api/admin/invites': {
      post: {
        summary:
          'Administrators: issue a one-time, day-long invitation for a person ' +
          'to enrol a first factor (needs a fresh step-up; not for yourself)',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { type: 'object', required: ['user'], properties: { user: { type: 'string' } } } } },
        },
        responses: { '201': { description: '`{user, invite, expires_at}`' }, '401': problem, '403': problem },
      },
    },
    '/.stepgate/api/admin/unlock': {
      post: {
        summary: 'Administrators: clear a person’s failure count and lock (needs a fresh step-up; not yourself)',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { type: 'object', required: ['user'], properties: { user: { type: 'string' } } } } },
        },
        responses: { '200': { description: '`{unlocked, user, consecutive_failures}`' }, '401': problem, '403': problem },
      },
    },
    '/.stepgate/api/recovery-codes': {
      post: {
        summary: 'Replace your recovery codes (needs the factors step-up)',
        responses: { '201': { description: '`{recovery_codes}`' }, '401': problem, '403': problem },
      },
    },
    '/.well-known/stepgate/audit-jwks.json': {
      get: {
        summary:
          'Public keys (Ed25519 JWKS) that verify signed audit checkpoints, ' +
          'one per key id, retired key ids included (verify-only, with `retired_at`)',
        responses: { '200': { description: 'JWKS' } },
      },
    },
    '/.stepgate/api/admin/audit/events': {
      get: {
        summary: 'Administrators and auditors: list audit events, decrypted (a stepped-up session, or a personal token with audit:read)',
        parameters: [
          ...['from', 'to'].map((name) => ({
            name,
            in: 'query',
            schema: { type: 'string' },
            description: 'ISO 8601 or milliseconds; from inclusive, to exclusive',
          })),
          { name: 'user', in: 'query', schema: { type: 'string' }, description: 'The person who acted (matched by blind index)' },
          { name: 'ip', in: 'query', schema: { type: 'string' }, description: 'Client IP (matched by blind index)' },
          { name: 'app', in: 'query', schema: { type: 'string' } },
          { name: 'type', in: 'query', schema: { type: 'string' }, description: 'Event types, comma-separated (docs/audit.md)' },
          { name: 'outcome', in: 'query', schema: { enum: ['success', 'failure', 'denied', 'info'] } },
          { name: 'order', in: 'query', schema: { enum: ['desc', 'asc'] } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500 } },
          { name: 'cursor', in: 'query', schema: { type: 'string' }, description: 'next_cursor of the previous page' },
        ],
        responses: {
          '200': { description: '`{events: [{event, prev_hash, hash}], next_cursor}`' },
          '400': problem,
          '401': problem,
          '403': problem,
          '503': problem,
        },
      },
    },
    '/.stepgate/api/admin/audit/export': {
      get: {
        summary:
          'Export audit events (same filters as events), oldest first: ' +
          'ndjson (chained events and signed checkpoints), csv, or ocsf (OCSF 1.1 NDJSON)',
        parameters: [{ name: 'format', in: 'query', schema: { enum: ['ndjson', 'csv', 'ocsf'] } }],
        responses: { '200': { description: 'A streamed file' }, '400': problem, '401': problem, '403': problem },
      },
    },
    '/.stepgate/api/admin/audit/verify': {
      get: {
        summary:
          'Verify the chain from sequence `from`, at most `limit` rows; names the first sequence modified, deleted, inserted or reordered',
        parameters: [
          { name: 'from', in: 'query', schema: { type: 'integer', minimum: 1 } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 5000 } },
        ],
        responses: {
          '200': { description: '`{ok, from, to, rows, checkpoints, complete, next}` or `{ok: false, seq, problem, detail}`' },
          '401': problem,
          '403': problem,
        },
      },
    },
    '/.stepgate/api/admin/audit/checkpoints': {
      get: {
        summary: 'Signed checkpoints (compact JWS) of the chain',
        responses: { '200': { description: '`{checkpoints: [{seq, kind, jws}]}`' }, '401': problem, '403': problem },
      },
    },
    '/.stepgate/api/admin/maintenance': {
      post: {
        summary: 'Administrators: run the cron upkeep now (checkpoint, re-encrypt a batch under the primary key, retention)',
        responses: { '200': { description: '`{checkpoint, reencrypted, pruned}`' }, '401': problem, '403': problem },
      },
    },
    '/.stepgate/api/admin/keys': {
      get: {
        summary: 'Administrators: which key ids stored data still uses, and which may be retired',
        responses: { '200': { description: '`{primary, kids, usage, retirable, notes}`' }, '401': problem, '403': problem },
      },
    },
    '/.stepgate/api/tokens': {
      get: {
        summary: 'Your personal API tokens (never their secrets)',
        responses: { '200': { description: '`{tokens}`' }, '401': problem },
      },
      post: {
        summary: 'Create a personal API token (needs a fresh step-up; audit:read only for administrators and auditors); shown once',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['scopes', 'label'],
                properties: {
                  scopes: { type: 'array', items: { enum: ['audit:read'] } },
                  ttl_days: { type: 'integer', minimum: 1, maximum: 30 },
                  label: { type: 'string' },
                },
              },
            },
          },
        },
        responses: { '201': { description: '`{id, token, scopes, expires_at, label}`' }, '401': problem, '403': problem },
      },
    },
    '/.stepgate/api/tokens/{id}/revoke': {
      post: {
        summary: 'Revoke one of your tokens',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': { description: '`{revoked, id}`' }, '401': problem, '404': problem },
      },
    },
    '/.stepgate/challenge/{id}': {
      get: {
        summary: 'The step-up page for a challenge (HTML, for browsers)',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': { description: 'HTML page' }, '401': problem, '404': problem },
      },
    },
    '/.stepgate/admin/audit': {
      get: {
        summary: 'The audit console (HTML): confirm it is you, then list, filter, export and verify the audit log; create a CLI token',
        responses: { '200': { description: 'HTML page' } },
      },
    },
    '/.stepgate/enrol': {
      get: {
        summary: 'The enrolment page (HTML): set up an authenticator app, see recovery codes once',
        responses: { '200': { description: 'HTML page' } },
      },
    },
    '/.stepgate/challenge/{id}/continue': {
      post: {
        summary: 'After approval, carry out the held original request exactly once (form POST from the step-up page)',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '2XX': { description: "The origin's response to the held request" }, '401': problem, '403': problem, '404': problem },
      },
    },
    '/.stepgate/assets/{file}': {
      get: {
        summary: 'Static assets of Stepgate pages',
        parameters: [{ name: 'file', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': { description: 'Asset' }, '404': problem },
      },
    },
  },
  components: {
    responses: {
      Problem: {
        description: 'RFC 9457 problem details',
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      },
    },
    schemas: {
      Problem: {
        type: 'object',
        required: ['type', 'title', 'status', 'code', 'detail'],
        properties: {
          type: { type: 'string' },
          title: { type: 'string' },
          status: { type: 'integer' },
          code: { type: 'string', description: 'Stable machine-readable code (ERR_*)' },
          detail: { type: 'string' },
          challenge_id: { type: 'string' },
          challenge_url: { type: 'string' },
          factors: { type: 'array', items: { type: 'string' } },
          max_age: { type: 'integer' },
          action: { $ref: '#/components/schemas/Action' },
          matched_method: {
            type: 'string',
            description: 'The method the rule matched (differs from action.method when an override claimed it)',
          },
          body: { $ref: '#/components/schemas/BodySummary' },
        },
      },
      BodySummary: {
        type: ['object', 'null'],
        description: 'What the request body carries, for the approval prompt; secret-looking values masked',
        properties: {
          kind: { type: 'string' },
          bytes: { type: 'integer' },
          fields: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, value: { type: 'string' } } } },
          truncated: { type: 'boolean' },
        },
      },
      Action: {
        type: 'object',
        required: ['method', 'host', 'path', 'query'],
        properties: {
          method: { type: 'string' },
          host: { type: 'string' },
          path: { type: 'string', description: 'Canonical path, exactly as forwarded' },
          query: { type: 'string' },
          bodySha256: { type: 'string' },
        },
      },
      Challenge: {
        type: 'object',
        required: ['id', 'rule', 'bind', 'factors', 'action', 'expires_at'],
        properties: {
          id: { type: 'string' },
          rule: { type: 'string' },
          bind: { enum: ['session', 'action'] },
          factors: { type: 'array', items: { type: 'string' } },
          max_age: { type: 'integer' },
          action: { $ref: '#/components/schemas/Action' },
          matched_method: { type: 'string' },
          body: { $ref: '#/components/schemas/BodySummary' },
          expires_at: { type: 'string', format: 'date-time' },
        },
      },
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

/**
 * The document, with 400 on every operation: the gateway refuses a request that names its session
 * in two ways (ERR_AMBIGUOUS_IDENTITY) before any route, Stepgate's own included.
 */
export const openapi = {
  ...document,
  paths: Object.fromEntries(
    Object.entries(document.paths).map(([path, ops]) => [
      path,
      Object.fromEntries(Object.entries(ops).map(([method, op]) => [method, { ...op, responses: { '400': problem, ...op.responses } }])),
    ]),
  ),
} as typeof document;
