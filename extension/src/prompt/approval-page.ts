/**
 * @module The prompt window in its approval mode (`?site=…&approval=<id>`, dual control): shows
 * another person's request and lets this person **Approve** it (POST …/approvals/:id/step-up opens
 * their own step-up, whose signed prompt must bind this exact request; it is answered with a
 * passkey or a code exactly as a challenge's window answers one, and that answer casts the vote)
 * or **Deny** it with an optional reason. The page renders states of approval-state.ts and turns
 * clicks and answers into its events.
 */
import browser from 'webextension-polyfill';
import type { ApprovalJson, ApprovalStepUp } from '../../../shared/wire-shapes';
import { approvalPageUrl, checkApproval } from '../lib/approval-check';
import { denyResult, voteResult } from '../lib/approval-words';
import { h, mount } from '../lib/dom';
import { ExtensionCode } from '../lib/extension-codes';
import { marked } from '../lib/marked-text';
import { send } from '../lib/messaging';
import { siteApi } from '../lib/site-api';
import { approvalFacts, approvalHiddenCharactersWarning, whyNotYours } from './approval-view';
import { timeText } from './prompt-view';
import {
  isApprovalTerminal,
  nextApprovalState,
  stepUpMismatch,
  type ApprovalPromptEvent,
  type ApprovalPromptState,
} from './approval-state';
import { answerChallenge, methodForCode } from './challenge-answer';
import { accepts } from './prompt-state';

/** The window asks the site this often whether the request still waits (others may decide meanwhile). */
const REFRESH_EVERY_MS = 5000;
/** A denial's reason, at most (the edge takes 500). */
const MAX_REASON = 500;

/** Where the window's words come from: what a signature covers, and what only the site's answer says. */
const shownFrom = (host: string, signed: boolean): string =>
  (signed
    ? `The request, what it acts as, its body summary and where it came from are checked against ${host}’s signed confirmation. ` +
      `Who asked, why, the rule and who must approve are as ${host} answered (not signed). `
    : `Shown from what ${host} answered; approving checks the request against ${host}’s signed confirmation first. `) +
  'Approving needs your own passkey or code; your approval counts for this exact request only.';

export function startApprovalPage(root: HTMLElement, site: string, id: string): void {
  const path = `/.stepgate/api/approvals/${encodeURIComponent(id)}`;
  let state: ApprovalPromptState = { kind: 'loading' };
  /** The current state, read afresh (TypeScript would keep a narrowing across dispatch() and awaits). */
  const current = (): ApprovalPromptState => state;
  let codeValue = '';
  let reasonValue = '';

  function dispatch(e: ApprovalPromptEvent): void {
    const before = state;
    state = nextApprovalState(state, e);
    if (state === before) return;
    render();
    // Focus the first button when the request becomes decidable, never while the person types.
    if (state.kind === 'open' && before.kind !== 'open') document.getElementById('approve-passkey')?.focus();
    // The person's decision changed the site's lists: the background asks again and recounts the badge.
    if ((state.kind === 'approved' || state.kind === 'denied') && !isApprovalTerminal(before)) void send('approval/settled', { site, id });
  }
  const refused = (r: { code: string; message: string }) => dispatch({ type: 'refused', code: r.code, message: r.message });

  /** Approve: open the approver's step-up once (checked against the request shown), then answer it. */
  async function approve(how: { method: 'webauthn' } | { method: 'code'; code: string }): Promise<void> {
    if (state.kind !== 'open') return;
    const code = how.method === 'code' ? how.code.replace(/\s+/g, '') : '';
    if (how.method === 'code' && !code) {
      state = { ...state, error: 'Enter a code first.' };
      return render();
    }
    const guess = state.stepUp?.factors ?? ['totp', 'recovery'];
    dispatch({ type: 'approve', method: how.method === 'webauthn' ? 'webauthn' : methodForCode(guess, code) });
    const started = current();
    if (started.kind !== 'approving') return;
    if (!started.stepUp) {
      const opened = await siteApi<ApprovalStepUp>(site, `${path}/step-up`, { body: {} });
      if (!opened.ok) return refused(opened);
      // The step-up binds the request's action, which may be another app's of the organisation.
      const got = await send('prompt/get', { site, id: String(opened.data.challenge_id), actionHost: started.approval.action.host });
      if (!got.ok) return refused(got);
      const now = current();
      if (now.kind !== 'approving') return;
      const why = stepUpMismatch(got.prompt, now.approval);
      if (why) return refused({ code: ExtensionCode.BadPrompt, message: why });
      dispatch({ type: 'stepped-up', stepUp: got.prompt });
    }
    const ready = current();
    if (ready.kind !== 'approving' || !ready.stepUp) return;
    const stepUp = ready.stepUp;
    const answer = how.method === 'webauthn' ? { method: 'webauthn' as const } : { method: methodForCode(stepUp.factors, code), code };
    const r = await answerChallenge<{ approval?: unknown }>(site, stepUp.id, answer);
    codeValue = '';
    if (!r.ok) return refused(r);
    // The verify answer carries the request as the vote left it; an edge that leaves it out is asked.
    const answered = checkApproval(r.data.approval, site);
    const voted = answered?.id === id ? answered : await load('fresh');
    if (voted) dispatch({ type: 'voted', approval: voted });
    else
      refused({ code: ExtensionCode.NotStepgate, message: 'Your approval was sent, but the site did not say where the request stands.' });
  }

  async function deny(): Promise<void> {
    dispatch({ type: 'deny' });
    if (current().kind !== 'denying') return;
    const reason = reasonValue.trim().slice(0, MAX_REASON);
    const r = await siteApi<unknown>(site, `${path}/deny`, { body: reason ? { reason } : {} });
    if (!r.ok) return refused(r);
    const answered = checkApproval(r.data, site);
    const denied = answered?.id === id ? answered : await load('fresh');
    if (denied) dispatch({ type: 'denied', approval: denied });
    else refused({ code: ExtensionCode.NotStepgate, message: 'Your denial was sent, but the site did not say where the request stands.' });
  }

  /** The request, from the site through the background (which checks it); null when it cannot be had. */
  async function load(mode: 'first' | 'fresh'): Promise<ApprovalJson | null> {
    const r = await send('approval/get', { site, id });
    if (mode === 'first')
      dispatch(
        r.ok ? { type: 'loaded', approval: r.approval, now: Date.now() } : { type: 'load-failed', code: r.code, message: r.message },
      );
    return r.ok ? r.approval : null;
  }

  function actions(s: Extract<ApprovalPromptState, { kind: 'open' | 'approving' | 'denying' }>): HTMLElement {
    const busy = s.kind !== 'open';
    const step = s.stepUp;
    const codeAllowed = !step || accepts(step, 'totp') || accepts(step, 'recovery');
    const code = h('input', {
      id: 'code',
      inputmode: 'text',
      autocomplete: 'one-time-code',
      placeholder: '123456 or a recovery code',
      'aria-label': 'Code',
      disabled: busy,
      onInput: (e) => (codeValue = (e.target as HTMLInputElement).value),
    });
    code.value = codeValue;
    const reason = h('input', {
      id: 'deny-reason',
      maxlength: MAX_REASON,
      placeholder: 'Reason (optional)',
      'aria-label': 'Reason for denying',
      disabled: busy,
      onInput: (e) => (reasonValue = (e.target as HTMLInputElement).value),
    });
    reason.value = reasonValue;
    const submit = (fn: () => void) => (e: Event) => {
      e.preventDefault();
      fn();
    };
    return h(
      'div',
      { id: 'approval-actions' },
      !step || accepts(step, 'webauthn')
        ? h(
            'p',
            {},
            h('button', {
              id: 'approve-passkey',
              class: 'primary',
              disabled: busy,
              text: 'Approve with passkey',
              onClick: () => void approve({ method: 'webauthn' }),
            }),
          )
        : null,
      codeAllowed
        ? h(
            'form',
            { id: 'code-form', class: 'row', onSubmit: submit(() => void approve({ method: 'code', code: codeValue })) },
            code,
            h('button', { id: 'approve-code', type: 'submit', disabled: busy, text: 'Approve with code' }),
          )
        : null,
      h(
        'form',
        { id: 'deny-form', class: 'row', onSubmit: submit(() => void deny()) },
        reason,
        h('button', { id: 'deny', type: 'submit', class: 'danger', disabled: busy, text: 'Deny' }),
      ),
    );
  }

  function statusText(s: ApprovalPromptState): string {
    switch (s.kind) {
      case 'loading':
        return 'Loading the request…';
      case 'open':
        return s.error ?? '';
      case 'approving':
        return s.method === 'webauthn' ? 'Follow your browser’s passkey prompt…' : 'Checking the code…';
      case 'denying':
        return 'Denying…';
      case 'approved':
        return voteResult(s.approval);
      case 'denied':
        return denyResult(s.approval);
      case 'view':
        return whyNotYours(s.approval) ?? '';
      case 'failed':
        return s.reason;
    }
  }

  function render(): void {
    const s = state;
    const a = s.kind === 'loading' ? null : s.approval;
    // Once the approver's step-up is open, its verified prompt draws the rows it signs (checked equal by stepUpMismatch).
    const signed = s.kind === 'open' || s.kind === 'approving' || s.kind === 'denying' ? s.stepUp : null;
    const host = a ? a.action.host : new URL(site).host;
    const statusClass =
      s.kind === 'approved' || s.kind === 'denied' ? 'ok' : s.kind === 'failed' || (s.kind === 'open' && s.error) ? 'error' : 'muted';
    const carryOut = a && s.kind === 'view' && a.you.requester && a.state === 'approved' ? approvalPageUrl(site, a.page_url) : null;
    mount(
      root,
      a
        ? h('h1', {}, 'Approve ', ...marked(a.requester), '’s request on ', ...marked(host), '?')
        : h('h1', { text: 'Stepgate approval request' }),
      a ? approvalHiddenCharactersWarning(a, signed) : null,
      a ? approvalFacts(a, site, Date.now(), signed) : null,
      a ? h('p', { id: 'shown-from', class: 'muted', text: shownFrom(new URL(site).host, signed !== null) }) : null,
      s.kind === 'open' || s.kind === 'approving' || s.kind === 'denying' ? actions(s) : null,
      h('p', { id: 'status', 'data-state': s.kind, class: statusClass, role: 'status', text: statusText(s) }),
      carryOut
        ? h(
            'p',
            {},
            h('button', {
              id: 'carry-out',
              class: 'primary',
              text: 'Carry it out',
              onClick: () => void browser.tabs.create({ url: carryOut }),
            }),
          )
        : null,
      s.kind !== 'loading' && s.kind !== 'open' && s.kind !== 'approving' && s.kind !== 'denying'
        ? h('p', {}, h('button', { id: 'close', text: 'Close', onClick: () => window.close() }))
        : null,
    );
  }

  render();
  if (!site || !id) {
    dispatch({ type: 'load-failed', code: ExtensionCode.BadInput, message: 'This window does not name a request.' });
    return;
  }
  void load('first');
  setInterval(() => {
    if (state.kind !== 'open' && state.kind !== 'view') return;
    const shown = JSON.stringify(state.approval);
    // Redrawn only when something changed: the person may be typing a code or a reason.
    void load('fresh').then((a) => a && JSON.stringify(a) !== shown && dispatch({ type: 'refreshed', approval: a, now: Date.now() }));
  }, REFRESH_EVERY_MS);
  setInterval(() => {
    const before = state;
    dispatch({ type: 'tick', now: Date.now() });
    if (state === before && state.kind === 'open') {
      const exp = document.getElementById('expires');
      if (exp) exp.replaceChildren(...timeText(state.approval.expires_at, Date.now()));
    }
  }, 1000);
}
