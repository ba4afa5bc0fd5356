/**
 * @module The approval window: shows one pending request exactly as the edge signed it, and
 * approves it with a passkey or a code, or denies it. The page only renders states of
 * prompt-state.ts and turns clicks and answers into its events. Opened with `?approval=<id>`, it
 * is instead dual control's approval window for another person's request (approval-page.ts).
 */
import { ErrorCode } from '../../../shared/errors';
import { MATCH_NUMBER_DIGITS, type VerifiedPrompt } from '../../../shared/wire-shapes';
import { $, h, mount } from '../lib/dom';
import { ExtensionCode } from '../lib/extension-codes';
import { marked } from '../lib/marked-text';
import { send } from '../lib/messaging';
import { NUMBER_SOURCE, otherBrowserRequests, severalRequestsWarning } from '../lib/number-matching-words';
import { siteApi } from '../lib/site-api';
import { startApprovalPage } from './approval-page';
import { answerChallenge, methodForCode } from './challenge-answer';
import { accepts, isTerminal, needsNumber, nextPromptState, type PromptEvent, type PromptState } from './prompt-state';
import { facts, hiddenCharactersWarning, stillHeld, timeText } from './prompt-view';

const params = new URLSearchParams(location.search);
const site = params.get('site') ?? '';
const id = params.get('id') ?? '';
/** Dual control: the approval request this window is for, when it is one. */
const approvalId = params.get('approval');
const root = $('prompt');
const challengePath = `/.stepgate/api/challenges/${encodeURIComponent(id)}`;
/** Windows close themselves this long after a final answer. */
const CLOSE_AFTER_MS = 3000;

let state: PromptState = { kind: 'loading' };
/** The current kind, read afresh (TypeScript would keep a narrowing across dispatch()). */
const kind = (): PromptState['kind'] => state.kind;
let codeValue = '';
/** The number typed for number matching: kept outside the state, so a render does not take the field from under the person. */
let numberValue = '';
/** Requests from another browser waiting on this site, counted by the background (for the "several at once" warning). */
let othersWaiting = 0;

/** Count the requests from another browser waiting on this site; render when the count changed. */
async function countOthersWaiting(): Promise<void> {
  const { pending } = await send('status/get', {});
  const n = otherBrowserRequests(pending, site);
  if (n === othersWaiting) return;
  othersWaiting = n;
  // Why: a render while typing keeps the field's text (numberValue) but would be needless.
  if (state.kind === 'pending' && needsNumber(state.prompt)) render();
}

function dispatch(e: PromptEvent): void {
  const before = state;
  state = nextPromptState(state, e);
  if (state === before) return;
  // A wrong number is typed again from an empty field.
  if (state.kind === 'pending' && state.wrongNumber) numberValue = '';
  render();
  if (isTerminal(state) && !isTerminal(before)) void settled();
}

async function settled(): Promise<void> {
  const outcome =
    state.kind === 'approved' ? 'approved' : state.kind === 'denied' ? 'denied' : state.kind === 'expired' ? 'expired' : 'gone';
  await send('prompt/settled', { site, id, outcome });
  if (state.kind === 'approved' || state.kind === 'denied') setTimeout(() => window.close(), CLOSE_AFTER_MS);
}

/** The picked number, sent as `number` with an approval of another session's request; nothing otherwise. */
const numberPart = (): { number?: number } => (state.kind === 'approving' && state.number !== null ? { number: state.number } : {});

/** An answer's outcome as the event it is. */
const outcome = (r: Awaited<ReturnType<typeof answerChallenge>>): PromptEvent =>
  r.ok ? { type: 'succeeded' } : { type: 'refused', code: r.code, message: r.message, retryAt: r.retryAt, triesLeft: r.triesLeft };

async function approveWithPasskey(): Promise<void> {
  dispatch({ type: 'approve', method: 'webauthn', typed: numberValue });
  if (kind() !== 'approving') return;
  dispatch(outcome(await answerChallenge(site, id, { method: 'webauthn' }, numberPart())));
}

async function approveWithCode(code: string): Promise<void> {
  if (state.kind !== 'pending') return;
  const trimmed = code.replace(/\s+/g, '');
  if (!trimmed) {
    state = { ...state, error: 'Enter a code first.' };
    return render();
  }
  const method = methodForCode(state.prompt.factors, trimmed);
  dispatch({ type: 'approve', method, typed: numberValue });
  if (kind() !== 'approving') return;
  const r = await answerChallenge(site, id, { method, code: trimmed }, numberPart());
  codeValue = '';
  dispatch(outcome(r));
}

async function deny(): Promise<void> {
  dispatch({ type: 'deny' });
  if (kind() !== 'denying') return;
  const r = await siteApi(site, `${challengePath}/deny`, { body: {} });
  dispatch(r.ok ? { type: 'succeeded' } : { type: 'refused', code: r.code, message: r.message, retryAt: r.retryAt });
}

/**
 * Number matching: the person types the number the other browser shows. The prompt has no number
 * and no choices to offer (docs/extension.md, "Number matching"): the site checks what is typed.
 */
function numberField(busy: boolean): HTMLElement {
  const several = severalRequestsWarning(othersWaiting);
  const input = h('input', {
    id: 'match-number',
    class: 'match-number',
    inputmode: 'numeric',
    autocomplete: 'off',
    maxlength: MATCH_NUMBER_DIGITS + 2,
    size: MATCH_NUMBER_DIGITS + 1,
    'aria-describedby': several ? 'match-number-help number-source several-requests' : 'match-number-help number-source',
    disabled: busy,
    onInput: (e) => (numberValue = (e.target as HTMLInputElement).value),
  });
  input.value = numberValue;
  return h(
    'div',
    { id: 'number-match', class: 'number-match' },
    h('label', { for: 'match-number', text: 'Number shown in the other browser' }),
    input,
    h('p', {
      id: 'match-number-help',
      class: 'muted',
      text:
        `Type the ${MATCH_NUMBER_DIGITS}-digit number the other browser shows, then approve. ` +
        'If it shows no number, or you did not start this, deny it.',
    }),
    h('p', { id: 'number-source', class: 'notice number-warning', text: NUMBER_SOURCE }),
    several ? h('p', { id: 'several-requests', class: 'error number-warning', role: 'alert', text: several }) : null,
  );
}

function actions(p: VerifiedPrompt, busy: boolean): HTMLElement {
  const codeAllowed = accepts(p, 'totp') || accepts(p, 'recovery');
  const totp = accepts(p, 'totp');
  const recovery = accepts(p, 'recovery');
  // Why: a label says what the field takes; a placeholder holds only a short example, so nothing is cut off.
  const codeLabel = totp
    ? recovery
      ? 'Code from your authenticator app, or a recovery code'
      : 'Code from your authenticator app'
    : 'Recovery code';
  const input = h('input', {
    id: 'code',
    inputmode: 'text',
    autocomplete: 'one-time-code',
    placeholder: totp ? '123456' : undefined,
    disabled: busy,
    onInput: (e) => (codeValue = (e.target as HTMLInputElement).value),
  });
  input.value = codeValue;
  return h(
    'div',
    {},
    needsNumber(p) ? numberField(busy) : null,
    accepts(p, 'webauthn')
      ? h(
          'p',
          {},
          h('button', {
            id: 'approve-passkey',
            class: 'primary',
            disabled: busy,
            text: 'Approve with passkey',
            onClick: () => void approveWithPasskey(),
          }),
        )
      : null,
    codeAllowed
      ? h(
          'form',
          {
            id: 'code-form',
            class: 'code-form',
            onSubmit: (e) => {
              e.preventDefault();
              void approveWithCode(codeValue);
            },
          },
          h('label', { for: 'code', text: codeLabel }),
          h('div', { class: 'row' }, input, h('button', { id: 'approve-code', type: 'submit', disabled: busy, text: 'Approve with code' })),
        )
      : null,
    h('p', {}, h('button', { id: 'deny', class: 'danger', disabled: busy, text: 'Deny', onClick: () => void deny() })),
  );
}

const STATUS: Record<PromptState['kind'], string> = {
  loading: 'Loading the request…',
  pending: '',
  approving: 'Checking…',
  denying: 'Denying…',
  approved: 'Approved.',
  denied: 'Denied. The request will not be carried out.',
  expired: 'This request has expired. Nothing was approved; start the action again if you meant it.',
  failed: '',
};

function render(): void {
  const s = state;
  const p = 'prompt' in s ? s.prompt : null;
  const statusText =
    s.kind === 'pending'
      ? (s.error ?? '')
      : s.kind === 'failed'
        ? s.reason
        : s.kind === 'approving'
          ? s.method === 'webauthn'
            ? 'Follow your browser’s passkey prompt…'
            : 'Checking the code…'
          : s.kind === 'approved'
            ? p?.bind === 'action'
              ? p.other_session
                ? 'Approved. Repeat the action in the other browser: it will go through once.'
                : p.held && stillHeld(p, Date.now())
                  ? 'Approved. The page’s request is being carried out, once.'
                  : 'Approved. Repeat the action: it will go through once.'
              : 'Approved. Requests under this rule pass for the next few minutes.'
            : STATUS[s.kind];
  const statusClass =
    s.kind === 'approved' ? 'ok' : s.kind === 'failed' || s.kind === 'expired' || (s.kind === 'pending' && s.error) ? 'error' : 'muted';
  mount(
    root,
    p ? h('h1', {}, 'Approve this request on ', ...marked(p.action.host), '?') : h('h1', { text: 'Stepgate approval' }),
    p?.other_session
      ? h('p', { id: 'other-session', class: 'notice other-session', text: 'This request was made in another browser or device' })
      : null,
    p ? hiddenCharactersWarning(p) : null,
    p ? facts(p, site, Date.now()) : null,
    p
      ? h('p', {
          class: 'muted',
          text: `Shown from what ${new URL(site).host} signed, not from the page. If you did not just do this, deny it.`,
        })
      : null,
    p && (s.kind === 'pending' || s.kind === 'approving' || s.kind === 'denying') ? actions(p, s.kind !== 'pending') : null,
    h('p', { id: 'status', 'data-state': s.kind, class: statusClass, role: 'status', text: statusText }),
    isTerminal(s) ? h('p', {}, h('button', { id: 'close', text: 'Close', onClick: () => window.close() })) : null,
  );
  if (s.kind === 'pending' && needsNumber(s.prompt)) document.getElementById('match-number')?.focus();
  else if (s.kind === 'pending')
    (
      document.getElementById(accepts(s.prompt, 'totp') && !accepts(s.prompt, 'webauthn') ? 'code' : 'approve-passkey') ??
      document.getElementById('code')
    )?.focus();
}

async function load(): Promise<void> {
  render();
  if (!site || !id) return dispatch({ type: 'load-failed', code: ExtensionCode.BadInput, message: 'This window does not name a request.' });
  const r = await send('prompt/get', { site, id });
  if (r.ok && r.prompt.other_session) await countOthersWaiting().catch(() => undefined);
  dispatch(r.ok ? { type: 'loaded', prompt: r.prompt, now: Date.now() } : { type: 'load-failed', code: r.code, message: r.message });
}

/** While the prompt waits, check now and then that it is still pending (it may be answered on the site's own page). */
const STILL_PENDING_EVERY_MS = 5000;

function startChallengePage(): void {
  setInterval(() => {
    if (state.kind !== 'pending') return;
    void send('prompt/get', { site, id }).then((r) => {
      if (!r.ok && r.code === ErrorCode.ChallengeNotFound) dispatch({ type: 'withdrawn' });
    });
    void countOthersWaiting();
  }, STILL_PENDING_EVERY_MS);

  setInterval(() => {
    const before = state;
    dispatch({ type: 'tick', now: Date.now() });
    // The countdown moves even when the state does not.
    if (state === before && state.kind === 'pending') {
      const exp = document.getElementById('expires');
      if (exp) exp.replaceChildren(...timeText(state.prompt.expires_at, Date.now()));
    }
  }, 1000);

  void load();
}

if (approvalId !== null) startApprovalPage(root, site, approvalId);
else startChallengePage();
