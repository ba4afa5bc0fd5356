/**
 * @module The components of the OpenAPI document (openapi.ts) that describe what the edge sends:
 * problem+json, the 401 step-up answer, the challenge shapes of shared/wire-shapes.ts, how a challenge
 * can be answered (shared/how-to-answer.ts), and the answer to a challenge with what it gets back.
 */
import { ErrorCode } from '../../shared/errors';
import { FACTOR_STRENGTH, type HowToAnswer } from '../../shared/how-to-answer';
import type {
  BodySummary,
  ChallengeAction,
  ChallengeDetailJson,
  ChallengeJson,
  PendingChallengeJson,
  RequestedFrom,
} from '../../shared/wire-shapes';
import { MATCH_NUMBER_MAX, MATCH_NUMBER_MIN } from '../user-state/challenge';
import { MAX_WRONG_NUMBERS } from '../user-state/number-match';

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

const matchingNumber = {
  type: 'integer',
  minimum: MATCH_NUMBER_MIN,
  maximum: MATCH_NUMBER_MAX,
  description: 'Shown where the request was made; typed in the extension to approve from another browser (number matching)',
};

const challengeDetailProperties = { ...challengeProperties, number: matchingNumber } satisfies Record<keyof ChallengeDetailJson, object>;

const pendingChallengeProperties = {
  ...challengeProperties,
  created_at: time,
  other_session: { type: 'boolean', description: 'Made in another browser session of the same person (number matching)' },
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
  attempts_left: {
    type: 'integer',
    description:
      'ERR_FACTOR_INVALID, ERR_FACTOR_REPLAYED (an answer to a challenge): wrong answers the challenge still takes; ' +
      '0 with the ERR_LOCKED_OUT of a challenge whose tries are used up (start the action again)',
  },
  tries_left: {
    type: 'integer',
    description: 'ERR_NUMBER_MISMATCH: wrong numbers this challenge still takes; 0 with the ERR_STEP_UP_DENIED of the last one',
  },
};

/** How the caller can answer a challenge now (GET …/how-to-answer): what the step-up page offers. */
const answerFactor = { enum: [...FACTOR_STRENGTH] };
const howToAnswerProperties = {
  factors: {
    type: 'array',
    items: answerFactor,
    description: 'The ways the caller can answer now: allowed by the rule and set up by them, strongest first',
  },
  allowed: {
    type: 'array',
    items: answerFactor,
    description: 'The ways the rule allows, strongest first (what to set up when `factors` is empty)',
  },
  has_factors: { type: 'boolean', description: 'Whether the caller has set up any way at all' },
  attempts_left: { type: 'integer', minimum: 0, description: 'Wrong answers the challenge still takes; at 0 it can no longer be answered' },
  retry_at: {
    type: ['string', 'null'],
    format: 'date-time',
    description: 'While the caller must wait after failures in a row: until when',
  },
  locked_out: { type: 'boolean', description: 'Locked after too many failures in a row: only an administrator can unlock them' },
} satisfies Record<keyof HowToAnswer, object>;

/** The number typed when the challenge is approved from another browser of the person (number matching). */
const typedNumber = {
  ...matchingNumber,
  description:
    'Approving from another browser session of the person: the number shown where the request was made, typed by them. ' +
    `Wrong or missing: 400 ERR_NUMBER_MISMATCH with tries_left; the last of ${MAX_WRONG_NUMBERS} wrong ones denies the challenge ` +
    '(403 ERR_STEP_UP_DENIED). Not needed in the session that made the request.',
};
const answerCode = { type: 'string', minLength: 1, maxLength: 64 };

/**
 * The body of POST …/verify: one way to answer (as the route's VerifyBody in challenge-routes.ts). Used
 * inline, not as a component: it has no single `properties`.
 */
export const challengeAnswer = {
  oneOf: [
    object(
      {
        method: { const: 'webauthn' },
        response: { type: 'object', description: 'AuthenticationResponseJSON (after …/webauthn/options)' },
        number: typedNumber,
      },
      ['method', 'response'],
    ),
    object(
      { method: { const: 'totp' }, code: { ...answerCode, description: 'The 6-digit code of an authenticator app' }, number: typedNumber },
      ['method', 'code'],
    ),
    object(
      {
        method: { const: 'recovery' },
        code: { ...answerCode, description: 'One of the recovery codes (each works once)' },
        number: typedNumber,
      },
      ['method', 'code'],
    ),
  ],
};

/** The 200 answer of POST …/verify: a session grant, or a one-time approval (an approver's step-up also casts their vote). */
export const challengeAnswered = {
  oneOf: [
    object({
      granted: { const: true },
      bind: { const: 'session' },
      rule: str,
      grant: { type: 'string', description: 'The grant token, also set as a cookie: API clients send it as Stepgate-Grant' },
      expires_at: time,
    }),
    object(
      {
        approved: { const: true },
        bind: { const: 'action' },
        rule: str,
        expires_at: time,
        detail: { type: 'string', description: 'What to do next: send the identical request again; it passes once' },
        approval: {
          type: 'object',
          description:
            "Only when the rule is `approval:<id>` (an approver's own step-up on a dual-control request): answering it cast their vote; " +
            'the request for approval as GET /.stepgate/api/approvals/{id} shows it (then no `detail`)',
        },
      },
      ['approved', 'bind', 'rule', 'expires_at'],
    ),
  ],
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
      'the challenge to answer, and the number to type if it is approved from another browser',
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
  PendingChallenge: object(pendingChallengeProperties),
  PendingChallengeList: object({ challenges: { type: 'array', items: ref('PendingChallenge') } }),
  HowToAnswer: object(howToAnswerProperties),
} as const;
