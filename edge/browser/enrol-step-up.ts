/**
 * @module Step 1 of adding another factor on the enrolment page: confirm it is you, right there. The
 * page starts a fresh step-up (the reserved rule `stepgate-factors`) only when the person answers,
 * and answers it with their passkey, an authenticator app code or a recovery code through the same
 * endpoints as the step-up page (answer-challenge.ts). Its grant cookie then lets the add go through.
 */
import { ErrorCode } from '../../shared/errors';
import type { FreshStepUpChallenge, Problem } from '../../shared/wire-shapes';
import { $, type ApiResult, post } from './api';
import { answerWithCode, answerWithPasskey } from './answer-challenge';
import { attemptsLeft, enrolWords, type Lock, lockOf } from './enrol-words';

/** What the page does once the person confirmed (or must confirm again). */
export interface StepUpHooks {
  confirmed(): void;
}

const section = $('step-up');
const status = (text: string) => {
  const el = document.getElementById('step-up-status');
  if (el) el.textContent = text;
};
/** One challenge per confirmation, reused across wrong tries (its attempts are counted); a new one only when it is gone. */
let challengeId: string | null = null;
let hooks: StepUpHooks = { confirmed: () => {} };

const controls = (): (HTMLButtonElement | HTMLInputElement)[] =>
  section ? [...section.querySelectorAll<HTMLButtonElement | HTMLInputElement>('#step-up-answer button, #step-up-answer input')] : [];
const busy = (on: boolean) => {
  for (const c of controls()) c.disabled = on || c.dataset.unusable === '1';
};

/** The challenge to answer: the current one, or a new one (null, said, when none can be started). */
async function currentChallenge(): Promise<string | null> {
  if (challengeId) return challengeId;
  const r = await post<FreshStepUpChallenge>('/.stepgate/api/factors/step-up');
  if (!r.ok) {
    status(enrolWords(r.problem));
    return null;
  }
  challengeId = r.data.challenge_id;
  return challengeId;
}

/** A lock-out: the controls stay off until it ends (or for good, when only an administrator can lift it). */
function lockedOut(p: Problem, lock: Lock): void {
  status(enrolWords(p));
  busy(true);
  if (lock.until === null) return;
  setTimeout(() => busy(false), Math.min(lock.until - Date.now(), 24 * 3600_000));
}

/** Answer with `how`; a challenge that expired or was used meanwhile is replaced once, silently. */
async function answer(how: (id: string) => Promise<ApiResult<unknown>>): Promise<void> {
  busy(true);
  status('Checking…');
  for (let round = 0; round < 2; round++) {
    const id = await currentChallenge();
    if (id === null) break;
    let r: ApiResult<unknown>;
    try {
      r = await how(id);
    } catch {
      status('The passkey prompt was closed before it finished. Try again.');
      break;
    }
    if (r.ok) {
      challengeId = null;
      showConfirmed(true);
      status('');
      hooks.confirmed();
      return;
    }
    const code = r.problem.code;
    if (code === ErrorCode.ChallengeNotFound || code === ErrorCode.ChallengeUsed) {
      challengeId = null;
      continue;
    }
    // Locked out (now, or by this wrong answer), or the challenge's tries are used up: the next try starts a new one.
    if (code === ErrorCode.LockedOut || attemptsLeft(r.problem) === 0) challengeId = null;
    const lock = lockOf(r.problem);
    if (lock) return lockedOut(r.problem, lock);
    status(enrolWords(r.problem));
    break;
  }
  busy(false);
}

/** Show step 1 as done (the answer controls hidden) or as to do. */
function showConfirmed(done: boolean): void {
  $('step-up-answer').hidden = done;
  $('step-up-done').hidden = !done;
}

/**
 * Show step 1 with the factors the person has (after a first factor was added on this page, or when
 * a confirmation ran out), saying why; with `focus`, moves focus there so keyboard and screen reader users follow.
 */
export function requireConfirmation(has: { passkeys: number; apps: number; codes: number }, why: string, focus: boolean): void {
  if (!section) return;
  section.hidden = false;
  $('step-up-passkey-row').hidden = has.passkeys === 0;
  $('step-up-app').hidden = has.apps === 0;
  $('step-up-recovery').hidden = has.codes === 0;
  $('step-up-code-label').textContent = has.passkeys > 0 ? 'Or a code from your authenticator app' : 'Code from your authenticator app';
  showConfirmed(false);
  busy(false);
  status(why);
  if (!focus) return;
  $('step-up-title').setAttribute('tabindex', '-1');
  $('step-up-title').focus();
}

/** Wire step 1's answers; `confirmed` runs after each successful confirmation. */
export function wireStepUp(h: StepUpHooks): void {
  if (!section) return;
  hooks = h;
  if (!('PublicKeyCredential' in window)) {
    const b = $<HTMLButtonElement>('step-up-passkey');
    b.disabled = true;
    b.dataset.unusable = '1';
    b.textContent = 'Confirm with your passkey (this browser cannot use passkeys)';
  }
  $('step-up-passkey').addEventListener('click', () => answer((id) => answerWithPasskey(id)));
  $<HTMLFormElement>('step-up-app').addEventListener('submit', (e) => {
    e.preventDefault();
    const code = $<HTMLInputElement>('step-up-code').value.replace(/\s/g, '');
    if (!/^\d{6}$/.test(code)) return status('Enter the 6 digits your authenticator app shows.');
    void answer((id) => answerWithCode(id, 'totp', code)).then(() => {
      $<HTMLInputElement>('step-up-code').value = '';
    });
  });
  $<HTMLFormElement>('step-up-recovery-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const code = $<HTMLInputElement>('step-up-recovery-code').value.trim();
    if (!code) return status('Enter one of your recovery codes.');
    void answer((id) => answerWithCode(id, 'recovery', code));
  });
}
