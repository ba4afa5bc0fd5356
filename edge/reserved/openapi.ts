/** @module The OpenAPI 3.1 description of the edge's own JSON API. A test keeps it in step with the routes. */

const problem = { $ref: '#/components/responses/Problem' };

export const STEPGATE_VERSION = '0.1.0';

export const openapi = {
  openapi: '3.1.0',
  info: {
    title: 'Stepgate edge API',
    version: STEPGATE_VERSION,
    description:
      'Endpoints Stepgate serves itself under the reserved paths /.stepgate/* and /.well-known/stepgate. ' +
      'They are never forwarded to the origin. Errors are RFC 9457 problem+json with a stable `code`.',
  },
  paths: {
    '/.well-known/stepgate': {
      get: {
        summary: 'Discovery: version, endpoints and factors of this gateway',
        responses: { '200': { description: 'Discovery document', content: { 'application/json': { schema: { $ref: '#/components/schemas/Discovery' } } } } },
      },
    },
    '/.stepgate/api/openapi.json': {
      get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1 document' } } },
    },
    '/.stepgate/api/policy.schema.json': {
      get: { summary: 'JSON Schema of the policy file format', responses: { '200': { description: 'JSON Schema (draft 2020-12)' } } },
    },
    '/.stepgate/api/challenges/{id}': {
      get: {
        summary: 'A pending step-up challenge of the calling user and session',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': { description: 'The challenge and the exact action it approves', content: { 'application/json': { schema: { $ref: '#/components/schemas/Challenge' } } } },
          '401': problem,
          '404': problem,
        },
      },
    },
    '/.stepgate/challenge/{id}': {
      get: {
        summary: 'The step-up page for a challenge (HTML, for browsers)',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': { description: 'HTML page' }, '401': problem, '404': problem },
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
          matched_method: { type: 'string', description: 'The method the rule matched (differs from action.method when an override claimed it)' },
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
