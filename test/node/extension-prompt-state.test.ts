/** The approval prompt's state machine: what may follow what, and what ends a prompt. */
import { describe, expect, it } from 'vitest';
import type { VerifiedPrompt } from '../../shared/wire-shapes';
import {
  isTerminal,
  nextPromptState,
  NUMBER_MISMATCH,
  PICK_FIRST,
  type PromptEvent,
  type PromptState,
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
  number_choices: null,
  ...over,
});
/** A request made in another browser: not held here, approved with number matching. */
const other = () => prompt({ other_session: true, number_choices: [17, 42, 86], held: false, hold_until: null });
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
  it(
    'cannot be approved before a number is picked; ' + 'picking one of the signed choices allows it, and the number goes with the approval',
    () => {
      const s = run([loaded(other()), { type: 'approve', method: 'webauthn' }]);
      expect(s).toMatchObject({ kind: 'pending', picked: null, error: PICK_FIRST });
      const picked = run([{ type: 'picked', number: 42 }], s);
      expect(picked).toMatchObject({ kind: 'pending', picked: 42, error: null });
      // The person may change their mind before approving.
      expect(run([{ type: 'picked', number: 86 }], picked)).toMatchObject({ picked: 86 });
      expect(run([{ type: 'approve', method: 'totp' }], picked)).toEqual({
        kind: 'approving',
        prompt: other(),
        method: 'totp',
        number: 42,
      });
    },
  );

  it('refuses a number that is not one of the signed choices, and picking in this browser’s own prompts', () => {
    const s = run([loaded(other())]);
    for (const n of [41, 0, 100]) expect(run([{ type: 'picked', number: n }], s)).toBe(s);
    const own = run([loaded()]);
    expect(run([{ type: 'picked', number: 42 }], own)).toBe(own);
    // This browser's own prompts approve without a number, and send none.
    expect(run([{ type: 'approve', method: 'webauthn' }], own)).toMatchObject({ kind: 'approving', number: null });
  });

  it('no picking while an attempt is under way', () => {
    const approving = run([loaded(other()), { type: 'picked', number: 17 }, { type: 'approve', method: 'webauthn' }]);
    expect(run([{ type: 'picked', number: 42 }], approving)).toBe(approving);
  });

  it('a wrong number (ERR_NUMBER_MISMATCH) says so and goes back to picking; the right one then approves', () => {
    const wrong = run([
      loaded(other()),
      { type: 'picked', number: 17 },
      { type: 'approve', method: 'webauthn' },
      { type: 'refused', code: 'ERR_NUMBER_MISMATCH', message: 'The number does not match.' },
    ]);
    expect(wrong).toMatchObject({ kind: 'pending', picked: null, error: NUMBER_MISMATCH });
    expect(NUMBER_MISMATCH).toMatch(/^That is not the number shown there\./);
    expect(run([{ type: 'approve', method: 'webauthn' }], wrong)).toMatchObject({ kind: 'pending', error: PICK_FIRST });
    const again = run(
      [
        { type: 'picked', number: 42 },
        { type: 'approve', method: 'webauthn' },
      ],
      wrong,
    );
    expect(again).toMatchObject({ kind: 'approving', number: 42 });
    expect(run([{ type: 'succeeded' }], again)).toMatchObject({ kind: 'approved' });
  });

  it('a wrong code keeps the number picked; lock-out still ends the prompt', () => {
    const approving = run([loaded(other()), { type: 'picked', number: 42 }, { type: 'approve', method: 'totp' }]);
    expect(run([{ type: 'refused', code: 'ERR_FACTOR_INVALID', message: 'That code is not right.' }], approving)).toMatchObject({
      kind: 'pending',
      picked: 42,
      error: 'That code is not right.',
    });
    expect(run([{ type: 'refused', code: 'ERR_LOCKED_OUT', message: 'Too many failed attempts.' }], approving)).toMatchObject({
      kind: 'failed',
      code: 'ERR_LOCKED_OUT',
    });
  });

  it('denying needs no number', () => {
    expect(run([loaded(other()), { type: 'deny' }, { type: 'succeeded' }])).toMatchObject({ kind: 'denied' });
  });
});
