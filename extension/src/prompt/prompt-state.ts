/**
 * @module The approval prompt's state machine, pure: pending → approving → approved, or denying →
 * denied, or expired/failed. The page renders a state and turns clicks and answers into events;
 * every rule about what may happen next lives here, where it is tested.
 *
 * A request made in another browser (`other_session`) is approved with number matching: the person
 * types the number the other browser shows (the prompt never carries it, nor choices), which goes
 * with the approve event and then with the answer; the site checks it. A wrong number is typed again; the
 * site denies the request at its last wrong number. Denying needs no number.
 */
import { ErrorCode } from '../../../shared/errors';
import { MATCH_NUMBER_DIGITS, type VerifiedPrompt } from '../../../shared/wire-shapes';
import { ExtensionCode } from '../lib/extension-codes';
import { problemWords } from '../lib/problem-words';

export type ApprovalMethod = 'webauthn' | 'totp' | 'recovery';

export type PromptState =
  | { kind: 'loading' }
  /**
   * Waiting for the person. `error` explains why the last attempt did not work (they may retry);
   * `wrongNumber`: it was a wrong number (the page empties the number field).
   */
  | { kind: 'pending'; prompt: VerifiedPrompt; error: string | null; wrongNumber?: boolean }
  /** `number`: what is sent as `number` with the approval (null for this session's own prompts). */
  | { kind: 'approving'; prompt: VerifiedPrompt; method: ApprovalMethod; number: number | null }
  | { kind: 'denying'; prompt: VerifiedPrompt }
  | { kind: 'approved'; prompt: VerifiedPrompt; method: ApprovalMethod }
  | { kind: 'denied'; prompt: VerifiedPrompt }
  | { kind: 'expired'; prompt: VerifiedPrompt | null }
  /** Nothing more can be done here; `reason` says why, in words. */
  | { kind: 'failed'; prompt: VerifiedPrompt | null; code: string; reason: string; retryAt: string | null };

export type PromptEvent =
  | { type: 'loaded'; prompt: VerifiedPrompt; now: number }
  | { type: 'load-failed'; code: string; message: string }
  /** `typed`: the number field's text, for another browser's request (number matching). */
  | { type: 'approve'; method: ApprovalMethod; typed?: string }
  | { type: 'deny' }
  | { type: 'succeeded' }
  /** `triesLeft`: with a wrong number, how many more the site takes. */
  | { type: 'refused'; code: string; message: string; retryAt?: string | null; triesLeft?: number }
  | { type: 'tick'; now: number }
  /** The challenge is no longer pending at the site (answered elsewhere, expired, withdrawn). */
  | { type: 'withdrawn' };

/** Refusals after which the same prompt can be tried again (another code, the passkey again). */
const RETRYABLE = new Set<string>([
  ErrorCode.FactorInvalid,
  ErrorCode.FactorReplayed,
  ErrorCode.BadRequest,
  ErrorCode.NoFactor,
  ExtensionCode.CeremonyFailed,
  ExtensionCode.Unreachable,
  ErrorCode.NumberMismatch,
]);

/** What the person reads after typing a number the other browser does not show (never the right one). */
export const numberMismatch = (triesLeft: number | undefined): string =>
  'That is not the number shown there. Look at the other browser again and type the number it shows — or deny if you did not start this.' +
  (triesLeft === undefined ? '' : triesLeft === 1 ? ' One more wrong number denies the request.' : ` ${triesLeft} tries left.`);
export const TYPE_FIRST = `First type the ${MATCH_NUMBER_DIGITS}-digit number the other browser shows.`;
/** The site denied the request at the last wrong number (ERR_STEP_UP_DENIED with tries_left 0, in answer to an approval). */
export const WRONG_NUMBER_DENIED =
  'The number was wrong too many times, so this request was denied and will not be carried out. ' +
  'If you did start it, start the action again in the other browser.';

/** The request was denied some other way (on the site's page, in another window): not the person's typing. */
export const DENIED = 'This request was denied, so it will not be carried out. If you did start it, start the action again.';

/** Whether approving needs a typed number (a request made in another browser). */
export const needsNumber = (p: VerifiedPrompt): boolean => p.other_session;

/** The typed number as sent, or null while it is not exactly MATCH_NUMBER_DIGITS digits (spaces ignored). */
export function typedNumber(text: string): number | null {
  const digits = text.replace(/\s+/g, '');
  return new RegExp(`^\\d{${MATCH_NUMBER_DIGITS}}$`).test(digits) ? Number(digits) : null;
}

const TERMINAL = new Set<PromptState['kind']>(['approved', 'denied', 'expired', 'failed']);
export const isTerminal = (s: PromptState): boolean => TERMINAL.has(s.kind);

/** Whether the prompt accepts `method` (recovery codes stand in for codes only where the rule allows them). */
export const accepts = (p: VerifiedPrompt, method: ApprovalMethod): boolean => p.factors.includes(method);

const promptOf = (s: PromptState): VerifiedPrompt | null => ('prompt' in s ? s.prompt : null);

/**
 * What a refusal that ends the prompt means, in words; null when the person can try again (the
 * approval window uses it too). `triesLeft`: the refusal's `tries_left` — 0 only with the denial
 * that the last wrong number caused; any other denial (on the site's page, another window) is not
 * the person's typing.
 */
export function finalRefusal(code: string, message: string, triesLeft?: number): string | null {
  if (RETRYABLE.has(code)) return null;
  switch (code) {
    case ErrorCode.ChallengeNotFound:
      return 'This request was already answered, has expired, or was withdrawn.';
    case ErrorCode.ChallengeUsed:
      return 'This request was already answered elsewhere.';
    case ErrorCode.LockedOut:
      return message || 'Too many failed attempts.';
    case ErrorCode.StepUpDenied:
      return triesLeft === 0 ? WRONG_NUMBER_DENIED : DENIED;
    case ErrorCode.TooManyPrompts:
      return (
        'Too many approval requests in a short time: this site is pausing them. ' +
        'If you did not start these actions, someone may be trying to wear you down — deny them.'
      );
    case ErrorCode.IdentityRequired:
      return 'You are no longer signed in to this site.';
    default:
      // Why: `message` is already words (site-api.ts); a code alone is never shown.
      return message || problemWords(code);
  }
}

/** The next state. Events that make no sense in a state leave it unchanged (a double click, a late answer). */
export function nextPromptState(s: PromptState, e: PromptEvent): PromptState {
  if (isTerminal(s)) return s;
  switch (e.type) {
    case 'loaded':
      if (s.kind !== 'loading') return s;
      return Date.parse(e.prompt.expires_at) <= e.now
        ? { kind: 'expired', prompt: e.prompt }
        : { kind: 'pending', prompt: e.prompt, error: null };
    case 'load-failed':
      if (s.kind !== 'loading') return s;
      return { kind: 'failed', prompt: null, code: e.code, reason: finalRefusal(e.code, e.message) ?? e.message, retryAt: null };
    case 'approve':
      if (s.kind !== 'pending') return s;
      if (!accepts(s.prompt, e.method))
        return {
          ...s,
          error:
            `This action cannot be approved ` +
            `with ${e.method === 'webauthn' ? 'a passkey' : e.method === 'totp' ? 'an authenticator code' : 'a recovery code'}.`,
        };
      if (!needsNumber(s.prompt)) return { kind: 'approving', prompt: s.prompt, method: e.method, number: null };
      // Why: the site would refuse it anyway; saying so here costs no try.
      if (typedNumber(e.typed ?? '') === null) return { kind: 'pending', prompt: s.prompt, error: TYPE_FIRST };
      return { kind: 'approving', prompt: s.prompt, method: e.method, number: typedNumber(e.typed ?? '') };
    case 'deny':
      return s.kind === 'pending' ? { kind: 'denying', prompt: s.prompt } : s;
    case 'succeeded':
      if (s.kind === 'approving') return { kind: 'approved', prompt: s.prompt, method: s.method };
      if (s.kind === 'denying') return { kind: 'denied', prompt: s.prompt };
      return s;
    case 'refused': {
      if (s.kind !== 'approving' && s.kind !== 'denying') return s;
      const final = finalRefusal(e.code, e.message, e.triesLeft);
      // Why: a wrong number is typed again from scratch; other retries keep the number typed.
      if (e.code === ErrorCode.NumberMismatch)
        return { kind: 'pending', prompt: s.prompt, error: numberMismatch(e.triesLeft), wrongNumber: true };
      if (final === null) return { kind: 'pending', prompt: s.prompt, error: e.message };
      return { kind: 'failed', prompt: promptOf(s), code: e.code, reason: final, retryAt: e.retryAt ?? null };
    }
    case 'withdrawn':
      return s.kind === 'pending'
        ? {
            kind: 'failed',
            prompt: s.prompt,
            code: ErrorCode.ChallengeNotFound,
            reason: finalRefusal(ErrorCode.ChallengeNotFound, '')!,
            retryAt: null,
          }
        : s;
    case 'tick':
      // Why: mid-ceremony the edge decides; a pending prompt past its time can only be refused.
      return s.kind === 'pending' && Date.parse(s.prompt.expires_at) <= e.now ? { kind: 'expired', prompt: s.prompt } : s;
  }
}
