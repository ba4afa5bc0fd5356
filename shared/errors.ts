/** @module Stable error codes of every refusal Stepgate makes: written by the edge, read by its pages, the extension and the CLI. */

/**
 * Every code the edge can put in a problem+json body (`code`). Clients switch on these,
 * never on `title` or `detail`, which are for people and may change.
 */
export const ErrorCode = {
  /** The request target cannot be given one unambiguous meaning (encoded slash, `..;`, NUL ...). */
  AmbiguousRequest: 'ERR_AMBIGUOUS_REQUEST',
  /**
   * The request names the app session in a way two parsers could read differently (the session
   * cookie twice or oddly spelled, or a cookie and a header for different people).
   */
  AmbiguousIdentity: 'ERR_AMBIGUOUS_IDENTITY',
  /** The method is not an HTTP token, or method-override claims disagree. */
  BadMethod: 'ERR_BAD_METHOD',
  /** A body that had to be inspected (method override, action binding) is too large. */
  BodyTooLarge: 'ERR_BODY_TOO_LARGE',
  /** A protected route was asked for without a verifiable identity. */
  IdentityRequired: 'ERR_IDENTITY_REQUIRED',
  /**
   * The app's "who am I" endpoint (the `introspect` identity source) failed, timed out or gave an
   * answer that names nobody, so Stepgate cannot tell who is asking; nothing was forwarded.
   */
  IdentityUnavailable: 'ERR_IDENTITY_UNAVAILABLE',
  /** A protected route needs a step-up; the body says which challenge to answer. */
  StepUpRequired: 'ERR_STEP_UP_REQUIRED',
  /** The challenge does not exist, has expired, or belongs to someone else. */
  ChallengeNotFound: 'ERR_CHALLENGE_NOT_FOUND',
  /** The path is reserved for Stepgate and has no such endpoint. */
  NotFound: 'ERR_NOT_FOUND',
  /** The method is not allowed on this Stepgate endpoint. */
  MethodNotAllowed: 'ERR_METHOD_NOT_ALLOWED',
  /** A Stepgate endpoint was called cross-site, or by someone without the role or scope it needs. */
  Forbidden: 'ERR_FORBIDDEN',
  /**
   * A sensitive Stepgate endpoint (factors, audit log, administration) needs a fresh step-up first:
   * answer `POST /.stepgate/api/factors/step-up`, then retry.
   */
  FreshStepUpRequired: 'ERR_FRESH_STEP_UP_REQUIRED',
  /** Stepgate's JSON endpoints take JSON only. */
  UnsupportedMediaType: 'ERR_UNSUPPORTED_MEDIA_TYPE',
  /** The request body of a Stepgate endpoint is malformed. */
  BadRequest: 'ERR_BAD_REQUEST',
  /** The code or passkey did not verify. */
  FactorInvalid: 'ERR_FACTOR_INVALID',
  /** This code was already used (TOTP time step or recovery code). */
  FactorReplayed: 'ERR_FACTOR_REPLAYED',
  /** Too many failed attempts: wait until `retry_at`, or ask an admin. */
  LockedOut: 'ERR_LOCKED_OUT',
  /** The user has no factor that can answer this challenge. */
  NoFactor: 'ERR_NO_FACTOR',
  /** The resource is not in a state for this operation (e.g. already confirmed). */
  Conflict: 'ERR_CONFLICT',
  /** The person denied this action in the extension's prompt (or closed it unanswered), or typed a wrong number three times. */
  StepUpDenied: 'ERR_STEP_UP_DENIED',
  /** Too many approval prompts for this person in the last minute (against push bombing). */
  TooManyPrompts: 'ERR_TOO_MANY_PROMPTS',
  /** Too many step-up challenges opened in the last minute, by this session or for this person. */
  TooManyChallenges: 'ERR_TOO_MANY_CHALLENGES',
  /** The person already has as many held requests (count or bytes) waiting as Stepgate keeps. */
  TooManyHeldRequests: 'ERR_TOO_MANY_HELD_REQUESTS',
  /** An approval from another browser named the wrong number (number matching). */
  NumberMismatch: 'ERR_NUMBER_MISMATCH',
  /** The challenge was already answered. */
  ChallengeUsed: 'ERR_CHALLENGE_USED',
  /** The origin could not be reached or broke the connection. */
  OriginUnreachable: 'ERR_ORIGIN_UNREACHABLE',
  /** Stepgate is misconfigured; the details are in the operator's logs, never in the response. */
  Misconfigured: 'ERR_GATEWAY_MISCONFIGURED',
  /** An internal dependency (Durable Object, D1) failed; the request was not forwarded. */
  Unavailable: 'ERR_UNAVAILABLE',
  /** The decision could not be written to the audit log, so nothing was forwarded or granted. */
  AuditUnavailable: 'ERR_AUDIT_UNAVAILABLE',
  /** A stored audit event does not open: the log was tampered with (`seq` names it; run verify). */
  AuditIntegrity: 'ERR_AUDIT_INTEGRITY',
  /** Dual control: the request waits for other people's approval (a 202 body names it and where to follow it). */
  ApprovalPending: 'ERR_APPROVAL_PENDING',
  /** No such approval request that this person may see. */
  ApprovalNotFound: 'ERR_APPROVAL_NOT_FOUND',
  /** The approval request is closed (approved and carried out, denied, expired or cancelled), or no longer takes this. */
  ApprovalClosed: 'ERR_APPROVAL_CLOSED',
  /** The person who asked can never approve their own request, from any session, token or role. */
  ApprovalSelf: 'ERR_APPROVAL_SELF',
  /** The person is not one of the approvers the rule names (role, named people, group), or of another organisation. */
  ApprovalNotEligible: 'ERR_APPROVAL_NOT_ELIGIBLE',
  /** Too many approval requests are open for this person or organisation. */
  TooManyApprovals: 'ERR_TOO_MANY_APPROVALS',
  /** Too many test notices for this organisation's webhook in the last minute (Retry-After says when). */
  TooManyWebhookTests: 'ERR_TOO_MANY_WEBHOOK_TESTS',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The problem type URI for a code (RFC 9457 `type`). */
export const problemType = (code: ErrorCode): string => `urn:stepgate:problem:${code.slice(4).toLowerCase().replaceAll('_', '-')}`;
