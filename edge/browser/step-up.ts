/**
 * @module Browser side of the step-up page: learn how the person can answer (step-up-state.ts shows
 * it), approve with a passkey, an authenticator-app code or a recovery code, then carry out the held
 * action; say what a refusal means and what to do next; cancel a recovery of the person's factors
 * from its banner. The refusal page (too many requests) uses it only for its times.
 */
import { ErrorCode } from '../../shared/errors';
import { FACTOR_STRENGTH, type HowToAnswer } from '../../shared/how-to-answer';
import type { Problem } from '../../shared/wire-shapes';
import { $, explain, get } from './api';
import { answerWithCode, answerWithPasskey } from './answer-challenge';
import { showLocalTimes } from './local-time';
import { wireRecoveryNotice } from './recovery-notice';
import { wireRevocationNotice } from './revocation-notice';
import { setAnswerable, showEnded, showNoFactor, showWait, showWays } from './step-up-state';

/** A refusal of an answer, with what the edge adds for this page: the tries left and until when to wait. */
type Refusal = Problem & { attempts_left?: number; retry_at?: string | null };

const tries = (n: number) => `${n} ${n === 1 ? 'try' : 'tries'} left.`;

function approved(bind: 'session' | 'action'): void {
  const status = $('status');
  if ($('challenge').dataset.held === '1') {
    status.textContent = 'Approved. Carrying out the action…';
    $<HTMLFormElement>('continue').submit();
    return;
  }
  status.textContent =
    bind === 'action'
      ? 'Approved. Go back and repeat the action: it will go through once.'
      : 'Confirmed. Go back and repeat the action: it will go through for the next few minutes.';
}

/**
 * Say what a refused answer means, in words, and what can still be done: tries left, a wait, or the
 * end of this confirmation. Returns whether the person may answer again now.
 */
function refused(p: Refusal, retry: () => void): boolean {
  const status = $('status');
  switch (p.code) {
    case ErrorCode.FactorInvalid:
    case ErrorCode.FactorReplayed: {
      if (p.attempts_left === 0) {
        showEnded('no-tries-left');
        return false;
      }
      const what =
        p.code === ErrorCode.FactorReplayed ? 'That code was already used: wait for the next one.' : (p.detail ?? 'That did not work.');
      status.textContent = p.attempts_left === undefined ? what : `${what} ${tries(p.attempts_left)}`;
      return !showWait(p.retry_at, retry);
    }
    case ErrorCode.LockedOut:
      if (p.attempts_left === 0) showEnded('no-tries-left');
      else if (p.retry_at === null || p.retry_at === undefined) showEnded('locked-out');
      else {
        status.textContent = '';
        return !showWait(p.retry_at, retry);
      }
      return false;
    case ErrorCode.ChallengeNotFound:
    case ErrorCode.StepUpDenied:
      showEnded('gone');
      return false;
    case ErrorCode.ChallengeUsed:
      showEnded('used');
      return false;
    default:
      status.textContent = explain(p);
      return true;
  }
}

async function approveWithCode(method: 'totp' | 'recovery', input: HTMLInputElement): Promise<void> {
  const status = $('status');
  const code = input.value.trim();
  if (!code) {
    status.textContent = 'Enter a code first.';
    input.focus();
    return;
  }
  setAnswerable(false);
  status.textContent = 'Checking…';
  const r = await answerWithCode<{ bind: 'session' | 'action' }>(challengeId, method, code);
  if (r.ok) return approved(r.data.bind);
  const again = () => {
    input.focus();
    input.select();
  };
  if (refused(r.problem as Refusal, again)) {
    setAnswerable(true);
    again();
  }
}

async function approveWithPasskey(): Promise<void> {
  const status = $('status');
  setAnswerable(false);
  status.textContent = 'Follow your browser’s prompt…';
  let again = true;
  try {
    const r = await answerWithPasskey<{ bind: 'session' | 'action' }>(challengeId);
    if (r.ok) {
      again = false;
      return approved(r.data.bind);
    }
    again = refused(r.problem as Refusal, () => {});
  } catch {
    status.textContent = 'The passkey prompt was closed before it finished. Try again, or use another way below.';
  } finally {
    if (again) setAnswerable(true);
  }
}

/** Ask the edge how this person can answer, and show only that (or why they cannot). */
async function showHowToAnswer(allowed: readonly string[]): Promise<void> {
  const r = await get<HowToAnswer>(`/.stepgate/api/challenges/${encodeURIComponent(challengeId)}/how-to-answer`);
  if (!r.ok) {
    // Gone, or the edge could not say: a refusal the page knows ends it; else offer what the rule allows.
    if (refused(r.problem as Refusal, () => {})) showWays(FACTOR_STRENGTH.filter((f) => allowed.includes(f)));
    return;
  }
  const s = r.data;
  if (s.factors.length === 0) return showNoFactor(s);
  showWays(s.factors);
  if (s.locked_out) showEnded('locked-out');
  else if (s.attempts_left === 0) showEnded('no-tries-left');
  else showWait(s.retry_at);
}

const root = document.getElementById('challenge');
const challengeId = root?.dataset.challenge ?? '';
showLocalTimes();
if (root) {
  for (const [formId, method] of [
    ['totp-form', 'totp'],
    ['recovery-form', 'recovery'],
  ] as const) {
    const form = document.getElementById(formId) as HTMLFormElement | null;
    form?.addEventListener('submit', (e) => {
      e.preventDefault();
      void approveWithCode(method, form.querySelector('input')!);
    });
  }
  document.getElementById('passkey')?.addEventListener('click', () => void approveWithPasskey());
  // Why no focus on a field at start: the person should read what they approve first; Tab reaches it.
  const allowed = ['passkey-way', 'totp-form', 'recovery-way'].flatMap((id, i) =>
    document.getElementById(id) ? [FACTOR_STRENGTH[i]!] : [],
  );
  void showHowToAnswer(allowed);
  wireRecoveryNotice();
  wireRevocationNotice();
}
