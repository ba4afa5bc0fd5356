/** The approval prompt's state machine: what may follow what, and what ends a prompt. */
import { describe, expect, it } from 'vitest';
import type { VerifiedPrompt } from '../../shared/wire-shapes';
import {
  DENIED,
  finalRefusal,
  isTerminal,
  nextPromptState,
  numberMismatch,
  type PromptEvent,
  type PromptState,
  TYPE_FIRST,
  typedNumber,
  WRONG_NUMBER_DENIED,
} from '../../extension/src/prompt/prompt-state';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const prompt = (over: Partial<VerifiedPrompt> = {}): VerifiedPrompt => ({
  id: 'c'.repeat(22),
  rule: 'delete-project',
  bind: 'action',
  factors: ['webauthn', 'totp', 'recovery'],
  max_age: 300,
  action: { method: 'DELETE', host: 'localhost:8787', path: '/api/projects/1', query: '', bodySha256: '' },
  matched_method: 'DELETE',
  body: null,
  requested_from: null,
  created_at: new Date(NOW - 1000).toISOString(),
  expires_at: new Date(NOW + 60_000).toISOString(),
  held: true,
  hold_until: new Date(NOW + 59_000).toISOString(),
  other_session: false,
  ...over,
});
/** A request made in another browser: not held here, approved with number matching. */
const other = () => prompt({ other_session: true, held: false, hold_until: null });
const run = (events: PromptEvent[], from: PromptState = { kind: 'loading' }) => events.reduce(nextPromptState, from);
const loaded = (p = prompt()): PromptEvent => ({ type: 'loaded', prompt: p, now: NOW });

describe('prompt state', () => {
  it('loads into pending, or straight into expired when the challenge is past its time', () => {
    expect(run([loaded()])).toMatchObject({ kind: 'pending', error: null });
    expect(run([loaded(prompt({ expires_at: new Date(NOW - 1).toISOString() }))])).toMatchObject({ kind: 'expired' });
  });

  it('a prompt that cannot be loaded fails with a sentence, and "not found" says it was answered or expired', () => {
    const s = run([{ type: 'load-failed', code: 'ERR_CHALLENGE_NOT_FOUND', message: 'x' }]);
    expect(s).toMatchObject({ kind: 'failed', code: 'ERR_CHALLENGE_NOT_FOUND' });
    expect(s.kind === 'failed' && s.reason).toMatch(/already answered, has expired/);
    expect(run([{ type: 'load-failed', code: 'EXT_BAD_PROMPT', message: 'This prompt is not shown: bad signature' }])).toMatchObject({
      kind: 'failed',
      reason: 'This prompt is not shown: bad signature',
    });
  });

  it('pending → approving → approved with the method used', () => {
    const s = run([loaded(), { type: 'approve', method: 'webauthn' }]);
    expect(s).toMatchObject({ kind: 'approving', method: 'webauthn' });
    expect(run([{ type: 'succeeded' }], s)).toMatchObject({ kind: 'approved', method: 'webauthn' });
  });

  it('pending → denying → denied', () => {
    expect(run([loaded(), { type: 'deny' }])).toMatchObject({ kind: 'denying' });
    expect(run([loaded(), { type: 'deny' }, { type: 'succeeded' }])).toMatchObject({ kind: 'denied' });
  });

  it('a wrong or replayed code, or a cancelled passkey ceremony, goes back to pending with the reason', () => {
    for (const code of ['ERR_FACTOR_INVALID', 'ERR_FACTOR_REPLAYED', 'EXT_CEREMONY_FAILED']) {
      const s = run([loaded(), { type: 'approve', method: 'totp' }, { type: 'refused', code, message: `said ${code}` }]);
      expect(s).toMatchObject({ kind: 'pending', error: `said ${code}` });
      // ...and can be tried again.
      expect(run([{ type: 'approve', method: 'totp' }], s)).toMatchObject({ kind: 'approving' });
    }
  });

  it('lock-out, an answered or vanished challenge, too many prompts and a lost session end the prompt', () => {
    const cases: [string, RegExp][] = [
      ['ERR_LOCKED_OUT', /Try again after/],
      ['ERR_CHALLENGE_USED', /already answered elsewhere/],
      ['ERR_CHALLENGE_NOT_FOUND', /already answered, has expired/],
      ['ERR_TOO_MANY_PROMPTS', /Too many approval requests/],
      ['ERR_IDENTITY_REQUIRED', /no longer signed in/],
    ];
    for (const [code, reason] of cases) {
      const s = run([
        loaded(),
        { type: 'approve', method: 'totp' },
        { type: 'refused', code, message: 'Too many failed attempts. Try again after 12:00.', retryAt: '2026-11-29T12:05:00Z' },
      ]);
      expect(s.kind, code).toBe('failed');
      expect(s.kind === 'failed' && s.reason, code).toMatch(reason);
      expect(isTerminal(s)).toBe(true);
    }
  });

  it('a method the rule does not accept is refused without leaving pending', () => {
    const s = run([loaded(prompt({ factors: ['webauthn'] })), { type: 'approve', method: 'totp' }]);
    expect(s).toMatchObject({ kind: 'pending' });
    expect(s.kind === 'pending' && s.error).toMatch(/cannot be approved with an authenticator code/);
  });

  it('expires on a tick past expires_at while pending, but not in the middle of a ceremony', () => {
    const later = NOW + 61_000;
    expect(run([loaded(), { type: 'tick', now: NOW + 1000 }])).toMatchObject({ kind: 'pending' });
    expect(run([loaded(), { type: 'tick', now: later }])).toMatchObject({ kind: 'expired' });
    expect(run([loaded(), { type: 'approve', method: 'webauthn' }, { type: 'tick', now: later }])).toMatchObject({ kind: 'approving' });
  });

  it('a pending prompt that the site no longer lists ends, saying so; an attempt under way is left to the edge', () => {
    const s = run([loaded(), { type: 'withdrawn' }]);
    expect(s).toMatchObject({ kind: 'failed', code: 'ERR_CHALLENGE_NOT_FOUND' });
    const approving = run([loaded(), { type: 'approve', method: 'webauthn' }]);
    expect(run([{ type: 'withdrawn' }], approving)).toBe(approving);
  });

  it('ignores double clicks and late answers: one attempt at a time, and final states stay final', () => {
    const approving = run([loaded(), { type: 'approve', method: 'webauthn' }]);
    expect(run([{ type: 'approve', method: 'totp' }], approving)).toBe(approving);
    expect(run([{ type: 'deny' }], approving)).toBe(approving);
    const approved = run([{ type: 'succeeded' }], approving);
    for (const e of [
      { type: 'deny' },
      { type: 'refused', code: 'ERR_FACTOR_INVALID', message: '' },
      { type: 'tick', now: NOW * 2 },
      loaded(),
    ] as PromptEvent[]) {
      expect(nextPromptState(approved, e)).toBe(approved);
    }
    const pending = run([loaded()]);
    expect(run([{ type: 'succeeded' }], pending)).toBe(pending);
    expect(run([loaded()], pending)).toBe(pending);
  });
});

describe('number matching (a request made in another browser)', () => {
  it('cannot be approved before a three-digit number is typed; the typed number goes with the approval', () => {
    for (const typed of [undefined, '', '42', '4200', 'abc', '12a']) {
      expect(run([loaded(other()), { type: 'approve', method: 'webauthn', typed }])).toMatchObject({ kind: 'pending', error: TYPE_FIRST });
    }
    expect(TYPE_FIRST).toBe('First type the 3-digit number the other browser shows.');
    expect(run([loaded(other()), { type: 'approve', method: 'totp', typed: ' 4 27 ' }])).toEqual({
      kind: 'approving',
      prompt: other(),
      method: 'totp',
      number: 427,
    });
    expect(typedNumber('042')).toBe(42);
    expect(typedNumber('1000')).toBeNull();
  });

  it('this browser’s own prompts approve without a number, and send none, whatever was typed', () => {
    const own = run([loaded()]);
    expect(run([{ type: 'approve', method: 'webauthn', typed: '123' }], own)).toMatchObject({ kind: 'approving', number: null });
  });

  it('a wrong number (ERR_NUMBER_MISMATCH) says so, with the tries left, and is typed again; the right one then approves', () => {
    const wrong = run([
      loaded(other()),
      { type: 'approve', method: 'webauthn', typed: '170' },
      { type: 'refused', code: 'ERR_NUMBER_MISMATCH', message: 'The number does not match.', triesLeft: 2 },
    ]);
    expect(wrong).toMatchObject({ kind: 'pending', wrongNumber: true, error: numberMismatch(2) });
    expect(numberMismatch(2)).toMatch(/^That is not the number shown there\..* 2 tries left\.$/);
    expect(numberMismatch(1)).toMatch(/One more wrong number denies the request\.$/);
    // Nothing the prompt says names the right number: it does not know it.
    expect(numberMismatch(2)).not.toMatch(/\d{3}/);
    const again = run([{ type: 'approve', method: 'webauthn', typed: '427' }], wrong);
    expect(again).toMatchObject({ kind: 'approving', number: 427 });
    expect(run([{ type: 'succeeded' }], again)).toMatchObject({ kind: 'approved' });
  });

  it('the last wrong number denies the request at the site (ERR_STEP_UP_DENIED): the prompt ends and says why', () => {
    const s = run([
      loaded(other()),
      { type: 'approve', method: 'totp', typed: '100' },
      { type: 'refused', code: 'ERR_STEP_UP_DENIED', message: 'x', triesLeft: 0 },
    ]);
    expect(s).toMatchObject({ kind: 'failed', code: 'ERR_STEP_UP_DENIED', reason: WRONG_NUMBER_DENIED });
    expect(isTerminal(s)).toBe(true);
  });

  it('a denial that is not the last wrong number (denied on the site, in another window) does not blame the typing', () => {
    for (const triesLeft of [undefined, 2]) {
      const s = run([
        loaded(other()),
        { type: 'approve', method: 'totp', typed: '427' },
        { type: 'refused', code: 'ERR_STEP_UP_DENIED', message: 'x', triesLeft },
      ]);
      expect(s).toMatchObject({ kind: 'failed', code: 'ERR_STEP_UP_DENIED', reason: DENIED });
      expect(DENIED).not.toMatch(/number/);
    }
    expect(run([{ type: 'load-failed', code: 'ERR_STEP_UP_DENIED', message: '' }])).toMatchObject({ reason: DENIED });
  });

  it('an unknown refusal is said in words, never as its code', () => {
    expect(finalRefusal('ERR_SOMETHING_NEW', '')).not.toMatch(/ERR_|Refused/);
    expect(finalRefusal('ERR_SOMETHING_NEW', '')).toMatch(/Try again/);
  });

  it('a wrong code is not a wrong number; lock-out still ends the prompt', () => {
    const approving = run([loaded(other()), { type: 'approve', method: 'totp', typed: '427' }]);
    const refused = run([{ type: 'refused', code: 'ERR_FACTOR_INVALID', message: 'That code is not right.' }], approving);
    expect(refused).toMatchObject({ kind: 'pending', error: 'That code is not right.' });
    expect(refused).not.toHaveProperty('wrongNumber');
    expect(run([{ type: 'refused', code: 'ERR_LOCKED_OUT', message: 'Too many failed attempts.' }], approving)).toMatchObject({
      kind: 'failed',
      code: 'ERR_LOCKED_OUT',
    });
  });

  it('denying needs no number', () => {
    expect(run([loaded(other()), { type: 'deny' }, { type: 'succeeded' }])).toMatchObject({ kind: 'denied' });
  });
});
