/**
 * @module The components of the OpenAPI document (openapi.ts) that describe what the edge sends:
 * problem+json, the 401 step-up answer, and the challenge shapes of shared/wire-shapes.ts.
 */
import { ErrorCode } from '../../shared/errors';
import type {
  BodySummary,
  ChallengeAction,
  ChallengeDetailJson,
  ChallengeJson,
  PendingChallengeJson,
  RequestedFrom,
} from '../../shared/wire-shapes';

const str = { type: 'string' };
const int = { type: 'integer' };
const time = { type: 'string', format: 'date-time' };
const strings = { type: 'array', items: str };
const ref = (schema: string) => ({ $ref: `#/components/schemas/${schema}` });

/** An object schema; every property required unless said otherwise. */
const object = (properties: Record<string, object>, required: string[] = Object.keys(properties)) => ({
  type: 'object',
  required,
  properties,
});

// The wire shapes of shared/wire-shapes.ts, property by property: `satisfies` fails the typecheck
// when a shape gains or loses a member that is not described here (gateway.test.ts checks real answers).
const bodySummaryProperties = {
  kind: { type: 'string', description: '"form", "json", or the media type' },
  bytes: int,
  fields: { type: 'array', items: object({ name: str, value: str }), description: 'At most 12, in order' },
  truncated: { type: 'boolean', description: 'More fields than shown' },
} satisfies Record<keyof BodySummary, object>;

const actionProperties = {
  method: str,
  host: { type: 'string', description: 'host[:port]' },
  path: { type: 'string', description: 'Canonical path, exactly as forwarded' },
  query: { type: 'string', description: 'Raw query without `?` ("" when none)' },
  bodySha256: { type: 'string', description: 'base64url SHA-256 of the exact body bytes' },
} satisfies Record<keyof ChallengeAction, object>;

const requestedFromProperties = {
  page: { type: ['string', 'null'], description: "The origin of the page that sent it (Origin, else Referer's origin)" },
  ip: { type: ['string', 'null'] },
  user_agent: { type: ['string', 'null'] },
} satisfies Record<keyof RequestedFrom, object>;

const challengeProperties = {
  id: str,
  rule: str,
  bind: { enum: ['session', 'action'] },
  factors: strings,
  max_age: int,
  action: ref('Action'),
  matched_method: { type: 'string', description: 'The method the rule matched (differs from action.method when an override claimed it)' },
  body: ref('BodySummary'),
  requested_from: ref('RequestedFrom'),
  expires_at: time,
} satisfies Record<keyof ChallengeJson, object>;

const matchingNumber = { type: 'integer', minimum: 10, maximum: 99, description: 'Shown where the request was made (number matching)' };

const challengeDetailProperties = { ...challengeProperties, number: matchingNumber } satisfies Record<keyof ChallengeDetailJson, object>;

const pendingChallengeProperties = {
  ...challengeProperties,
  created_at: time,
  other_session: { type: 'boolean', description: 'Made in another browser session of the same person (number matching)' },
  number_choices: { type: 'array', items: int, description: 'With other_session only: three choices, one the number shown there' },
  held: { type: 'boolean', description: "A page's fetch is held for this answer" },
  hold_until: { type: ['string', 'null'], format: 'date-time' },
  prompt: { type: 'string', description: 'Compact JWS (typ stepgate-prompt+jwt) of everything else here: show only what it signs' },
} satisfies Record<keyof PendingChallengeJson, object>;

/** The members of every problem+json (RFC 9457, and the stable `code`). */
const problemCore = {
  type: str,
  title: str,
  status: int,
  code: { type: 'string', description: 'Stable machine-readable code (ERR_*)' },
  detail: str,
};

/** A problem+json: its members, then those some refusals add. */
const problemProperties = {
  ...problemCore,
  retry_at: {
    type: ['string', 'null'],
    format: 'date-time',
    description: 'ERR_LOCKED_OUT, ERR_TOO_MANY_*, ERR_FACTOR_*: when to try again',
  },
  limit: { type: 'string', description: 'ERR_TOO_MANY_CHALLENGES (session, person), ERR_TOO_MANY_HELD_REQUESTS (count, bytes)' },
  consecutive_failures: { type: 'integer', description: 'ERR_FACTOR_INVALID, ERR_FACTOR_REPLAYED' },
};

/** The 401 ERR_STEP_UP_REQUIRED body: what edge/request-path/step-up-required.ts sends. */
const stepUpRequiredProperties = {
  ...problemCore,
  code: { const: ErrorCode.StepUpRequired },
  challenge_id: str,
  challenge_url: { type: 'string', description: 'The step-up page of the challenge' },
  rule: str,
  bind: challengeProperties.bind,
  factors: strings,
  max_age: int,
  expires_at: time,
  action: ref('Action'),
  matched_method: challengeProperties.matched_method,
  body: ref('BodySummary'),
  number: matchingNumber,
};

/** The schemas of what the edge sends, by component name. */
export const wireSchemas = {
  Problem: object(problemProperties, Object.keys(problemCore)),
  StepUpRequired: {
    ...object(stepUpRequiredProperties),
    description:
      'The 401 ERR_STEP_UP_REQUIRED answer (problem+json) to a request of the application that needs a step-up: ' +
      'the challenge to answer, and the number to pick if it is approved from another browser',
  },
  BodySummary: {
    ...object(bodySummaryProperties),
    type: ['object', 'null'],
    description: 'What the request body carries, for the approval prompt; secret-looking values masked',
  },
  Action: object(actionProperties),
  RequestedFrom: {
    ...object(requestedFromProperties),
    type: ['object', 'null'],
    description: 'Where the request came from, as the edge saw it (null when it could not tell)',
  },
  Challenge: object(challengeProperties),
  ChallengeDetail: object(challengeDetailProperties),
  PendingChallenge: object(
    pendingChallengeProperties,
    Object.keys(pendingChallengeProperties).filter((k) => k !== 'number_choices'),
  ),
  PendingChallengeList: object({ challenges: { type: 'array', items: ref('PendingChallenge') } }),
} as const;
