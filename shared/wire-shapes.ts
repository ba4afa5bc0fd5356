/**
 * @module The shapes on the wire between the edge and its clients (the approval page, the
 * extension): defined once here, produced by the edge and read by the clients.
 */

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

/** GET /.stepgate/api/challenges/:id: the challenge and the number shown where the request was made. */
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
   * number matching. Older edges do not say (they list only this session's).
   */
  other_session: boolean;
  /** For `other_session` prompts only: three distinct integers 10–99, one of them the number the other browser shows. */
  number_choices?: number[];
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
export type VerifiedPrompt = Omit<PromptPayload, 'number_choices'> & {
  /**
   * For `other_session` prompts: the three choices in ascending order; the person picks the one the
   * other browser shows, and it is sent as `number` with the approval. Null otherwise.
   */
  number_choices: [number, number, number] | null;
};
