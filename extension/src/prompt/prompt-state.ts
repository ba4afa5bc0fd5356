/**
 * @module The approval prompt's state machine, pure: pending → approving → approved, or denying →
 * denied, or expired/failed. The page renders a state and turns clicks and answers into events;
 * every rule about what may happen next lives here, where it is tested.
 *
 * A request made in another browser (`other_session`) is approved with number matching: the person
 * first picks, among the signed `number_choices`, the number the other browser shows (`picked`);
 * only then can they approve, and the picked number goes with the approval. Denying needs no number.
 */
import { ErrorCode } from '../../../shared/errors';
import type { VerifiedPrompt } from '../../../shared/wire-shapes';
import { ExtensionCode } from '../lib/extension-codes';

export type ApprovalMethod = 'webauthn' | 'totp' | 'recovery';

export type PromptState =
  | { kind: 'loading' }
  /**
   * Waiting for the person. `error` explains why the last attempt did not work (they may retry).
   * `picked`: the number chosen for number matching (other-session prompts), null until chosen.
   */
  | { kind: 'pending'; prompt: VerifiedPrompt; error: string | null; picked: number | null }
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
  | { type: 'approve'; method: ApprovalMethod }
  /** Number matching: the person picked one of the prompt's `number_choices`. */
  | { type: 'picked'; number: number }
  | { type: 'deny' }
  | { type: 'succeeded' }
  | { type: 'refused'; code: string; message: string; retryAt?: string | null }
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

/** What the person reads after picking a number the other browser does not show. */
export const NUMBER_MISMATCH =
  'That is not the number shown there. Look at the other browser again and pick the number it shows — or deny if you did not start this.';
export const PICK_FIRST = 'First pick the number the other browser shows.';

/** Whether approving needs a picked number (a request made in another browser). */
export const needsNumber = (p: VerifiedPrompt): boolean => p.other_session;

const TERMINAL = new Set<PromptState['kind']>(['approved', 'denied', 'expired', 'failed']);
export const isTerminal = (s: PromptState): boolean => TERMINAL.has(s.kind);

/** Whether the prompt accepts `method` (recovery codes stand in for codes only where the rule allows them). */
export const accepts = (p: VerifiedPrompt, method: ApprovalMethod): boolean => p.factors.includes(method);

const promptOf = (s: PromptState): VerifiedPrompt | null => ('prompt' in s ? s.prompt : null);

/** What a refusal that ends the prompt means, in words; null when the person can try again (the approval window uses it too). */
export function finalRefusal(code: string, message: string): string | null {
  if (RETRYABLE.has(code)) return null;
  switch (code) {
    case ErrorCode.ChallengeNotFound:
      return 'This request was already answered, has expired, or was withdrawn.';
    case ErrorCode.ChallengeUsed:
      return 'This request was already answered elsewhere.';
    case ErrorCode.LockedOut:
      return message || 'Too many failed attempts.';
    case ErrorCode.TooManyPrompts:
      return (
        'Too many approval requests in a short time: this site is pausing them. ' +
        'If you did not start these actions, someone may be trying to wear you down — deny them.'
      );
    case ErrorCode.IdentityRequired:
      return 'You are no longer signed in to this site.';
    default:
      return message || `Refused (${code}).`;
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
        : { kind: 'pending', prompt: e.prompt, error: null, picked: null };
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
      if (needsNumber(s.prompt) && s.picked === null) return { ...s, error: PICK_FIRST };
      return { kind: 'approving', prompt: s.prompt, method: e.method, number: needsNumber(s.prompt) ? s.picked : null };
    case 'picked':
      // Only one of the signed choices, and only while nothing is under way.
      if (s.kind !== 'pending' || !needsNumber(s.prompt) || !s.prompt.number_choices?.includes(e.number)) return s;
      return s.picked === e.number ? s : { ...s, picked: e.number, error: s.error === PICK_FIRST ? null : s.error };
    case 'deny':
      return s.kind === 'pending' ? { kind: 'denying', prompt: s.prompt } : s;
    case 'succeeded':
      if (s.kind === 'approving') return { kind: 'approved', prompt: s.prompt, method: s.method };
      if (s.kind === 'denying') return { kind: 'denied', prompt: s.prompt };
      return s;
    case 'refused': {
      if (s.kind !== 'approving' && s.kind !== 'denying') return s;
      const final = finalRefusal(e.code, e.message);
      // Why: a wrong number is picked again from scratch; other retries keep the number picked.
      if (e.code === ErrorCode.NumberMismatch) return { kind: 'pending', prompt: s.prompt, error: NUMBER_MISMATCH, picked: null };
      if (final === null) return { kind: 'pending', prompt: s.prompt, error: e.message, picked: s.kind === 'approving' ? s.number : null };
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
