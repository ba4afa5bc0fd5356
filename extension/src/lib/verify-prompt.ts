/**
 * @module Verify a challenge's `prompt`: the compact JWS (EdDSA, typ `stepgate-prompt+jwt`) in which
 * the edge signs what the person is asked to approve. A prompt is shown only from its verified
 * payload, never from the unsigned fields beside it, so a page (or anything between) cannot dress
 * one request up as another.
 */
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet } from 'jose';
import {
  PROMPT_ISSUER,
  PROMPT_JWKS_PATH,
  PROMPT_TYP,
  type BodySummary,
  type ChallengeAction,
  type VerifiedPrompt,
} from '../../../shared/wire-shapes';
import { ExtensionCode } from './extension-codes';
import { siteApi } from './site-api';

const JWKS_TTL_MS = 5 * 60 * 1000;

/** A prompt that did not verify, and why (for the log and the person; the prompt is not shown). */
export class PromptVerificationError extends Error {
  readonly code = ExtensionCode.BadPrompt;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PromptVerificationError';
  }
}

export interface PromptVerifier {
  /**
   * The verified payload of `jws` from `origin`, which must be challenge `expectedId`. Its action's
   * host must be `origin`'s, or `opts.actionHost` when given (an approver's step-up, signed by this
   * site for a request made on another host of the same app: the caller checks it is one).
   *
   * @throws {PromptVerificationError} when the signature, a claim or the payload's shape is wrong
   */
  verify(origin: string, jws: string, expectedId: string, opts?: { actionHost?: string }): Promise<VerifiedPrompt>;
}

/** jose's error, as a refusal that names the check that failed (e.g. `unexpected "aud" claim value`). */
const refused = (e: unknown) =>
  new PromptVerificationError(
    `The prompt's signature or claims did not verify (${(e as { code?: string }).code ?? 'error'}: ${(e as Error).message}).`,
    { cause: e },
  );

const isString = (v: unknown): v is string => typeof v === 'string';

/** The payload's shape, checked field by field: it is rendered, so nothing unexpected gets through. */
/** A checked action's members only (each already checked to be a string): nothing else a site sent is kept. */
export const actionOf = (a: Record<string, unknown>): ChallengeAction => ({
  method: a.method as string,
  host: a.host as string,
  path: a.path as string,
  query: a.query as string,
  bodySha256: a.bodySha256 as string,
});

function asPrompt(p: Record<string, unknown>): VerifiedPrompt | string {
  const a = p.action as Record<string, unknown> | undefined;
  if (!isString(p.id)) return '"id" is missing';
  if (!isString(p.rule)) return '"rule" is missing';
  if (p.bind !== 'session' && p.bind !== 'action') return `"bind" must be session or action, got ${String(p.bind)}`;
  if (!Array.isArray(p.factors) || !p.factors.every(isString)) return '"factors" must be a list of names';
  if (typeof p.max_age !== 'number') return '"max_age" must be a number';
  if (!a || ![a.method, a.host, a.path, a.query, a.bodySha256].every(isString)) return '"action" is incomplete';
  if (!isString(p.matched_method)) return '"matched_method" is missing';
  if (!isString(p.expires_at) || Number.isNaN(Date.parse(p.expires_at))) return '"expires_at" is not a time';
  if (!isString(p.created_at) || Number.isNaN(Date.parse(p.created_at))) return '"created_at" is not a time';
  const b = p.body as Record<string, unknown> | null | undefined;
  if (b != null) {
    const fieldsOk =
      Array.isArray(b.fields) &&
      b.fields.every((f: unknown) => isString((f as { name?: unknown })?.name) && isString((f as { value?: unknown })?.value));
    if (!isString(b.kind) || typeof b.bytes !== 'number' || !fieldsOk || typeof b.truncated !== 'boolean') return '"body" is malformed';
  }
  if (p.hold_until != null && (!isString(p.hold_until) || Number.isNaN(Date.parse(p.hold_until)))) return '"hold_until" is not a time';
  const from = p.requested_from as Record<string, unknown> | null | undefined;
  const orNull = (v: unknown) => v === null || v === undefined || isString(v);
  if (from != null && !(orNull(from.page) && orNull(from.ip) && orNull(from.user_agent))) return '"requested_from" is malformed';
  // Older edges do not say: then it is this session's own challenge.
  if (p.other_session !== undefined && typeof p.other_session !== 'boolean') return '"other_session" must be true or false';
  const otherSession = p.other_session === true;
  // Why: only one-time approvals may cross browsers; a session grant stays in the browser that asked.
  if (otherSession && p.bind !== 'action') return 'a request of another session must be a one-time approval ("bind": "action")';
  return {
    id: p.id,
    rule: p.rule,
    bind: p.bind,
    factors: p.factors as string[],
    max_age: p.max_age,
    action: actionOf(a),
    matched_method: p.matched_method,
    body: b == null ? null : (b as unknown as BodySummary),
    requested_from:
      from == null
        ? null
        : {
            page: (from.page as string | null) ?? null,
            ip: (from.ip as string | null) ?? null,
            user_agent: (from.user_agent as string | null) ?? null,
          },
    created_at: p.created_at,
    expires_at: p.expires_at,
    held: p.held === true,
    hold_until: isString(p.hold_until) ? p.hold_until : null,
    other_session: otherSession,
    // Why: nothing else is kept — an older edge's `number_choices` (or anything naming the number)
    // is dropped, so the person types the number from the other browser, never from here.
  };
}

/**
 * A verifier that fetches each site's prompt keys from the site itself (cached five minutes,
 * fetched again once when a `kid` is unknown, for key rotation).
 */
export function promptVerifier(deps: { fetch?: typeof fetch; now?: () => number } = {}): PromptVerifier {
  const now = deps.now ?? Date.now;
  const cache = new Map<string, { at: number; jwks: JSONWebKeySet }>();

  const keysOf = async (origin: string, fresh: boolean): Promise<JSONWebKeySet> => {
    const hit = cache.get(origin);
    if (hit && !fresh && now() - hit.at < JWKS_TTL_MS) return hit.jwks;
    const r = await siteApi<JSONWebKeySet>(origin, PROMPT_JWKS_PATH, {}, deps.fetch);
    if (!r.ok || !Array.isArray(r.data.keys))
      throw new PromptVerificationError(`The site's prompt keys could not be read (${r.ok ? 'no "keys"' : r.message}).`);
    cache.set(origin, { at: now(), jwks: r.data });
    return r.data;
  };

  const check = async (origin: string, jws: string, fresh: boolean) =>
    jwtVerify(jws, createLocalJWKSet(await keysOf(origin, fresh)), {
      algorithms: ['EdDSA', 'Ed25519'],
      typ: PROMPT_TYP,
      issuer: PROMPT_ISSUER,
      // Why: a prompt signed for another site must not be shown as this one's.
      audience: new URL(origin).hostname,
      requiredClaims: ['exp', 'iat'],
      currentDate: new Date(now()),
      clockTolerance: 30,
    });

  return {
    async verify(origin, jws, expectedId, opts = {}) {
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await check(origin, jws, false));
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (e instanceof PromptVerificationError) throw e;
        // jose's code, not Stepgate's: no key has the prompt's `kid` (rotated keys), so fetch the keys again once.
        if (code !== errors.JWKSNoMatchingKey.code) throw refused(e);
        try {
          ({ payload } = await check(origin, jws, true));
        } catch (again) {
          if (again instanceof PromptVerificationError) throw again;
          throw refused(again);
        }
      }
      const prompt = asPrompt(payload);
      if (typeof prompt === 'string') throw new PromptVerificationError(`The signed prompt is malformed: ${prompt}.`);
      if (prompt.id !== expectedId)
        throw new PromptVerificationError(`The signed prompt is for challenge ${prompt.id}, expected ${expectedId}.`);
      // Why: the action's host is what the person reads as "the app"; it must be the site that signed.
      const host = opts.actionHost ?? new URL(origin).host;
      if (prompt.action.host !== host)
        throw new PromptVerificationError(`The signed prompt names ${prompt.action.host}, expected ${host}.`);
      return prompt;
    },
  };
}
