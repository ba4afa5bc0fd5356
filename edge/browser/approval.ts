/**
 * @module Browser side of the approval page (edge/pages/approval-page.ts): keeps the request live
 * (GET its status URL every 2 seconds until it closes), and sends the viewer's actions to the
 * approval API. An approver's Approve opens a step-up of their own (POST …/step-up) and answers it on
 * the page with a passkey or a code, through the same endpoints as the step-up page
 * (answer-challenge.ts): that answer is the vote. Deny sends an optional reason. The person who
 * asked adds a reason or cancels; carrying it out is the page's plain form POST. Every decision is
 * taken again by the API; this script only offers and reports.
 */
import { isClosed } from '../../shared/approval-words';
import type { ApprovalJson, ApprovalStepUp } from '../../shared/wire-shapes';
import { $, type ApiResult, explain } from './api';
import { answerWithCode, answerWithPasskey } from './answer-challenge';
import { paint } from './approval-paint';
import { poll, startClock } from './approval-live';
import { say, send } from './console-common';

/** The longest reason the API takes (a denial's, a justification). */
const REASON_MAX = 500;

const root = document.getElementById('approval-page');
const id = root?.dataset.id ?? '';
const statusUrl = root?.dataset.statusUrl ?? '';
/** The approval API of this request: …/step-up, …/deny, …/justification, …/cancel. */
const api = `/.stepgate/api/approvals/${encodeURIComponent(id)}`;

/** The approver's step-up for this request, once asked for. */
let stepUp: ApprovalStepUp | null = null;

const show = (a: ApprovalJson): void => paint(root!, a);

/** An action on the request: its answer shown, or the refusal said. */
async function act(path: string, body: unknown, done: string): Promise<boolean> {
  say('Working…');
  const r = await send<ApprovalJson>('POST', `${api}/${path}`, body);
  if (!r.ok) {
    say(explain(r.problem));
    return false;
  }
  show(r.data);
  say(done);
  return true;
}

/** Approve: ask for the approver's own step-up, then offer what it may be answered with. */
async function startApproval(button: HTMLButtonElement): Promise<void> {
  button.disabled = true;
  say('Preparing your confirmation…');
  const r = await send<ApprovalStepUp>('POST', `${api}/step-up`, {});
  button.disabled = false;
  if (!r.ok) {
    say(explain(r.problem));
    return;
  }
  stepUp = r.data;
  const passkey = stepUp.factors.includes('webauthn');
  const code = stepUp.factors.includes('totp');
  $('answer-passkey-box').hidden = !passkey;
  $('answer-code-form').hidden = !code;
  // "Or a code…" only beside a passkey button.
  $('answer-code-label').textContent = passkey ? 'Or a code from your authenticator app' : 'Code from your authenticator app';
  $('answer-why').textContent = passkey
    ? `Confirm it is you with your passkey${code ? ' (or a code)' : ''} to approve this exact request.`
    : 'Confirm it is you with a code from your authenticator app to approve this exact request.';
  $('answer').hidden = false;
  button.hidden = true;
  say('');
  (passkey ? $('answer-passkey') : $<HTMLInputElement>('answer-code')).focus();
}

/** The step-up's answer: the vote, counted; or the refusal, and a way to start again when the step-up is gone. */
function answered(r: ApiResult<{ approval?: ApprovalJson }>): void {
  if (!r.ok) {
    say(explain(r.problem));
    if (r.status === 404 || r.status === 409 || r.status === 410) {
      // The step-up expired or was used: Approve asks for a new one.
      stepUp = null;
      $('answer').hidden = true;
      $('approve').hidden = false;
    }
    return;
  }
  if (r.data.approval) show(r.data.approval);
  say('Your approval is recorded.');
  void refresh();
}

async function approveWithPasskey(button: HTMLButtonElement): Promise<void> {
  if (!stepUp) return;
  button.disabled = true;
  say('Follow your browser’s prompt…');
  try {
    answered(await answerWithPasskey<{ approval?: ApprovalJson }>(stepUp.challenge_id));
  } catch (e) {
    const orCode = $('answer-code-form').hidden ? '' : ', or use a code';
    say(`The passkey prompt was closed or failed (${(e as Error).name}). Try again${orCode}.`);
  } finally {
    button.disabled = false;
  }
}

async function approveWithCode(input: HTMLInputElement): Promise<void> {
  const code = input.value.trim();
  if (!stepUp) return;
  if (!/^\d{6}$/.test(code)) {
    say('Enter the 6-digit code from your authenticator app.');
    input.focus();
    return;
  }
  say('Checking…');
  answered(await answerWithCode<{ approval?: ApprovalJson }>(stepUp.challenge_id, 'totp', code));
  input.value = '';
}

/** Ask for the request as it stands; false once it closed or can no longer be followed (stops the polling). */
async function refresh(): Promise<boolean> {
  // Closed by the viewer's own action since the last answer: nothing more will change.
  if (isClosed(root!.dataset.state as ApprovalJson['state'])) return false;
  const r = await send<ApprovalJson>('GET', statusUrl);
  if (!r.ok) {
    say(r.status === 404 ? 'This request is no longer available to you.' : `Could not update: ${explain(r.problem)}`);
    return r.status === 0 || r.status >= 500;
  }
  show(r.data);
  return !isClosed(r.data.state);
}

function wireApprover(): void {
  const approve = document.getElementById('approve') as HTMLButtonElement | null;
  if (!approve) return;
  approve.addEventListener('click', () => void startApproval(approve));
  const passkey = $<HTMLButtonElement>('answer-passkey');
  passkey.addEventListener('click', () => void approveWithPasskey(passkey));
  const codeForm = $<HTMLFormElement>('answer-code-form');
  codeForm.addEventListener('submit', (e) => {
    e.preventDefault();
    void approveWithCode($<HTMLInputElement>('answer-code'));
  });
  const denyForm = $<HTMLFormElement>('deny-form');
  $('deny-open').addEventListener('click', () => {
    denyForm.hidden = false;
    $('deny-reason').focus();
  });
  $('deny-close').addEventListener('click', () => {
    denyForm.hidden = true;
  });
  denyForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const reason = $<HTMLTextAreaElement>('deny-reason').value.trim();
    if (reason.length > REASON_MAX) {
      say(`A reason is at most ${REASON_MAX} characters.`);
      return;
    }
    void act('deny', reason ? { reason } : {}, 'You denied it. Nothing will be sent.');
  });
}

function wireRequester(): void {
  const reasonForm = document.getElementById('reason-form') as HTMLFormElement | null;
  reasonForm?.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $<HTMLTextAreaElement>('reason-text').value.trim();
    if (text.length < 1 || text.length > REASON_MAX) {
      say(`Write a reason of 1 to ${REASON_MAX} characters.`);
      return;
    }
    void act('justification', { text }, 'Your reason is shown to the approvers.');
  });
  document.getElementById('cancel')?.addEventListener('click', () => {
    if (!confirm('Cancel this request? Nothing will be sent, and it cannot be approved any more.')) return;
    void act('cancel', {}, 'You cancelled it. Nothing was sent.');
  });
  // The form posts by itself; a second press would only be refused.
  const carry = document.getElementById('carry-out') as HTMLFormElement | null;
  carry?.addEventListener('submit', () => {
    say('Carrying it out…');
    setTimeout(() => {
      for (const b of carry.querySelectorAll('button')) b.disabled = true;
    });
  });
}

if (root) {
  startClock();
  wireApprover();
  wireRequester();
  if (!isClosed((root.dataset.state ?? 'pending') as ApprovalJson['state'])) poll(refresh);
}
