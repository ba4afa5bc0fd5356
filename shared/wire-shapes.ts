/**
 * @module The shapes on the wire between the edge and its clients (the scripts of its pages, the
 * extension, the `stepgate` CLI): defined once here, produced by the edge and read by the clients.
 */
import type { ErrorCode } from './errors';

/** A readable summary of a request body, as the approval page and the extension show it. */
export interface BodySummary {
  /** "form", "json", or the media type. */
  kind: string;
  bytes: number;
  /** Fields in order, at most 12, values shown as the page will show them. */
  fields: { name: string; value: string }[];
  /** More fields than shown. */
  truncated: boolean;
}

/** The request a challenge is about, in the canonical form the edge matched and forwards. */
export interface ChallengeAction {
  method: string;
  host: string;
  /** Canonical, percent-encoded path, exactly as forwarded. */
  path: string;
  /** Raw query string without the leading `?` ("" when none). */
  query: string;
  /** base64url SHA-256 of the exact body bytes. */
  bodySha256: string;
}

/** Where the request came from, as the edge saw it. */
export interface RequestedFrom {
  /** The origin of the page that sent it (Origin, else Referer's origin), or null when it could not tell. */
  page: string | null;
  ip: string | null;
  user_agent: string | null;
}

/**
 * A challenge as Stepgate's API shows it (`challengeJson` in edge/endpoints/challenge-view.ts).
 * Type aliases, not interfaces, so a payload can be signed as a JWT claims set as it is.
 */
export type ChallengeJson = {
  id: string;
  rule: string;
  bind: 'session' | 'action';
  factors: readonly string[];
  max_age: number;
  action: ChallengeAction;
  /** The method the rule matched: differs from `action.method` when an override (`_method`) claimed it. */
  matched_method: string;
  body: BodySummary | null;
  /** Where the request came from (null when the edge could not tell). */
  requested_from: RequestedFrom | null;
  expires_at: string;
};

/**
 * GET /.stepgate/api/challenges/:id (this session's own challenges only): the challenge and the
 * number shown where the request was made (number matching: 100–999).
 */
export type ChallengeDetailJson = ChallengeJson & { number: number };

/**
 * The payload of a challenge's signed `prompt` (typ `stepgate-prompt+jwt`): the challenge and what
 * only a pending one carries. The extension shows a prompt from this payload once verified.
 */
export type PromptPayload = ChallengeJson & {
  created_at: string;
  /**
   * The request was made in another browser session of the same person (typically another browser
   * without the extension). Only one-time (`bind: "action"`) approvals cross sessions, and only with
   * number matching: the person types the number the other browser shows, sent as `number` with the
   * approval. Nothing here carries the number or a hint of it: a prompt that did would let the
   * approver (or the extension) answer without looking at the browser that made the request.
   * Older edges do not say (they list only this session's).
   */
  other_session: boolean;
  /** A page's fetch is being held for this answer. */
  held: boolean;
  /** Until when the page's fetch is held (ISO time), or null when nothing is held. */
  hold_until: string | null;
};

/**
 * One entry of GET /.stepgate/api/challenges: the payload, unsigned, and `prompt`, the compact JWS
 * that signs it. Clients show a prompt only from its verified signature, never from the fields beside it.
 */
export type PendingChallengeJson = PromptPayload & { prompt: string };

/** GET /.stepgate/api/challenges: the approvals this browser session may answer. */
export type PendingChallengeList = { challenges: PendingChallengeJson[] };

/** The prompt's JWS `typ`: nothing else the edge signs (assertions) can pass as a prompt. */
export const PROMPT_TYP = 'stepgate-prompt+jwt';
/** The prompt's JWS `iss`. */
export const PROMPT_ISSUER = 'stepgate';
/** Where the edge publishes the public keys that verify prompts. */
export const PROMPT_JWKS_PATH = '/.well-known/stepgate/prompt-jwks.json';

/**
 * What an approval prompt shows: a `PromptPayload` after verification (signature, `typ`, `iss`,
 * `aud` = the site's host, `exp`), every field checked. Never built from unsigned fields.
 */
export type VerifiedPrompt = PromptPayload;

/** Number matching: the numbers are three digits (`number` in an approval, and in what the requesting page is shown). */
export const MATCH_NUMBER_DIGITS = 3;

/**
 * An RFC 9457 problem+json refusal, the members clients read: switch on `code`, show `detail` (or
 * `title`) to people, never parse them. `problem()` in edge/http/responses.ts writes it.
 */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  code?: ErrorCode;
  detail?: string;
  /** With ERR_LOCKED_OUT: when the person may try again (ISO time). */
  retry_at?: string | null;
  /**
   * Number matching: with ERR_NUMBER_MISMATCH, how many more wrong numbers the challenge takes; 0
   * with the ERR_STEP_UP_DENIED of the last one, which denied it.
   */
  tries_left?: number;
}

/** GET /.stepgate/api/factors: the person's factors, without their secrets. */
export interface FactorList {
  totp: { id: string }[];
  webauthn: { id: string; nickname: string | null; backed_up: boolean; created_at: string; last_used_at: string | null }[];
  recovery_codes_left: number;
  /** How a first factor may be added: by anyone signed in (`first-use`), or with an administrator's invitation code (`invite`). */
  enrolment: 'first-use' | 'invite';
}

/** POST /.stepgate/api/factors/step-up: the challenge that proves it is you before factors or the audit log. */
export interface FreshStepUpChallenge {
  challenge_id: string;
  challenge_url: string;
  expires_at: string;
}

/**
 * On 403 ERR_FRESH_STEP_UP_REQUIRED from an administrative call: the factors the step-up must be
 * made with, comma-separated, when not any (`webauthn`: the person has a passkey, so a code is not enough).
 */
export const STEP_UP_FACTORS_HEADER = 'Stepgate-Step-Up-Factors';

/** POST /.stepgate/api/factors/totp: an authenticator app to set up, pending until a code from it confirms it. */
export interface TotpEnrolment {
  id: string;
  /** The shared secret (base32), for typing in by hand. */
  secret: string;
  otpauth_uri: string;
  /** The QR code of `otpauth_uri`, as SVG. */
  qr_svg: string;
}

/** The end of an enrolment: recovery codes only with the person's first factor, shown this once. */
export interface EnrolmentResult {
  recovery_codes?: string[];
}
/** POST /.stepgate/api/factors/webauthn/verify: the passkey is registered. */
export interface PasskeyRegistered extends EnrolmentResult {
  registered: true;
}
/** POST /.stepgate/api/factors/totp/:id/confirm: the authenticator app is confirmed. */
export interface TotpActivated extends EnrolmentResult {
  activated: true;
  id: string;
}

/**
 * A notice to the person (GET /.stepgate/api/me/notices): someone started recovering their sign-in
 * factors. While it is open they may cancel it (POST /.stepgate/api/me/recoveries/{id}/cancel); once
 * `can_complete`, they complete it on the enrolment page (…/complete). Times are ISO 8601.
 */
export interface RecoveryNotice {
  kind: 'recovery';
  /** The recovery's id. */
  id: string;
  /** `started`: waiting for a second person's approval; `approved`: takes effect at `effective_at`. */
  state: 'started' | 'approved';
  started_at: string;
  effective_at: string | null;
  /** When it lapses unless approved (started) or completed (approved). */
  expires_at: string;
  /** Approved and effective: the person may complete it now. */
  can_complete: boolean;
}

/**
 * A notice to the person: an administrator removed their sign-in factors (at `revoked_at`). There is
 * one at a time (its id is fixed); they dismiss it (POST /.stepgate/api/me/notices/{id}/dismiss), or
 * it lapses at `expires_at`. It cannot be cancelled: the revocation already happened.
 */
export interface RevocationNotice {
  kind: 'factors-revoked';
  id: 'factors-revoked';
  revoked_at: string;
  expires_at: string;
}

/** A notice to the person, by `kind`. */
export type Notice = RecoveryNotice | RevocationNotice;

/** GET /.stepgate/api/me/notices. */
export interface NoticeList {
  notices: Notice[];
}

/** POST /.stepgate/api/me/recoveries/{id}/complete: old factors removed; enrol a new first factor with `invite`. */
export interface RecoveryCompleted {
  completed: true;
  id: string;
  /** An invitation code for a first factor, shown once (the enrolment page fills it in). */
  invite: string;
  invite_expires_at: string;
}

/** Dual control (docs/approvals.md): where an approval request stands. */
export type ApprovalState = 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled' | 'carried-out';

/** One approver group of a rule's `require.approval`, as people read it, with how many have approved from it. */
export interface ApprovalRequirementJson {
  /** Who, in words: "admins", "bob or carol", "group finance". */
  from: string;
  kind: 'role' | 'people' | 'claimGroup';
  count: number;
  /** Approvals counted toward this group so far (one person counts once, in one group). */
  have: number;
}

/** One person's decision on an approval request. */
export interface ApprovalVoteJson {
  /** The app's own subject of the person. */
  person: string;
  vote: 'approve' | 'deny';
  at: string;
  /** The factors of the approver's step-up (RFC 8176 amr values); empty for a denial. */
  factor: string[];
  /** The reason a denial gave, or null. */
  reason: string | null;
}

/** An approval request (GET /.stepgate/api/approvals/:id): the exact request, who asked, who must approve, where it stands. */
export interface ApprovalJson {
  id: string;
  state: ApprovalState;
  app: { id: string; name: string };
  rule: string;
  rule_description: string | null;
  action: ChallengeAction;
  matched_method: string;
  body: BodySummary | null;
  /** The app's own subject of the person who asked. */
  requester: string;
  requested_from: RequestedFrom | null;
  justification: string | null;
  created_at: string;
  expires_at: string;
  closed_at: string | null;
  required: ApprovalRequirementJson[];
  votes: ApprovalVoteJson[];
  /** What the caller may do with it. */
  you: { requester: boolean; can_approve: boolean; voted: 'approve' | 'deny' | null; why_not: string | null };
  /** This request's API URL (path). */
  status_url: string;
  /** This request's page (path, on the app's host). */
  page_url: string;
}

/** GET /.stepgate/api/approvals: what waits for the caller's decision, and the caller's own requests. */
export interface ApprovalList {
  awaiting_you: ApprovalJson[];
  yours: ApprovalJson[];
}

/** POST /.stepgate/api/approvals/:id/step-up: the approver's own challenge; answering it approves. */
export interface ApprovalStepUp {
  challenge_id: string;
  challenge_url: string;
  factors: string[];
}
