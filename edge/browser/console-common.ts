/**
 * @module Browser side, shared by the console's page scripts: the "confirm it is you" section
 * (passkey, or a code — only the passkey when administration asks a person who has one for it; the
 * page reloads to show its data, or the person repeats their action),
 * calls to the admin API with any method (same-origin JSON), and the outcome of an action said in
 * words — kept across the reload that shows the changed data. Everything is set with textContent.
 */
import { startAuthentication, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import { ErrorCode } from '../../shared/errors';
import { type FreshStepUpChallenge, type Problem, STEP_UP_FACTORS_HEADER } from '../../shared/wire-shapes';
import { $, explain, post } from './api';
import { showLocalTimes } from './local-time';

const root = $('console');
// Every console page's times, in the person's locale and zone (the edge renders them in UTC).
showLocalTimes();
/** The organisation of the page (data-org). */
export const org = root?.dataset.org ?? '';
/** The admin API of this organisation. */
export const orgApi = `/.stepgate/api/admin/orgs/${encodeURIComponent(org)}`;
const status = $('status');
const NOTICE = 'stepgate-console-notice';

/** Say something in the page's status line. */
export const say = (text: string): void => {
  status.textContent = text;
};

/** A refusal; for a missing step-up, `factors` names what it must be made with when not any (the Stepgate-Step-Up-Factors header). */
export type ConsoleProblem = Problem & { factors?: string[] };
export type Result<T> = { ok: true; data: T } | { ok: false; problem: ConsoleProblem; status: number };

/** Call the admin API (any method, JSON body for a write), same-origin. */
export async function send<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<Result<T>> {
  const write = method !== 'GET';
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: write ? { 'content-type': 'application/json', accept: 'application/json' } : { accept: 'application/json' },
    ...(write ? { body: JSON.stringify(body ?? {}) } : {}),
  }).catch(() => null);
  if (res === null)
    return { ok: false, status: 0, problem: { detail: 'Stepgate could not be reached. Check your connection and try again.' } as Problem };
  const data = (await res.json().catch(() => ({}))) as T & Problem;
  if (res.ok) return { ok: true, data };
  const factors = res.headers.get(STEP_UP_FACTORS_HEADER);
  const problem: ConsoleProblem = factors ? { ...data, factors: factors.split(',').map((f) => f.trim()) } : data;
  return { ok: false, problem, status: res.status };
}

const PASSKEY_ONLY =
  'You have a passkey, so administration needs you to confirm it is you with it: a code can be phished, a passkey cannot. ' +
  'Lost your passkey? Remove it on the Stepgate extension’s options page (a code still works there), then come back and use a code.';

/**
 * Show the "confirm it is you" section, saying why. `factors`: what the step-up must be made with
 * (`["webauthn"]`: the passkey only, and the code form is hidden; null: any factor); absent, the
 * section offers what the page was rendered with.
 */
export function askToConfirm(why: string, factors?: readonly string[] | null): void {
  const section = $('confirm');
  const form = $('confirm-form');
  if (factors !== undefined) form.hidden = factors !== null && !factors.some((f) => f === 'totp' || f === 'recovery');
  $('confirm-why').textContent = form.hidden ? `${why} ${PASSKEY_ONLY}` : why;
  section.hidden = false;
  section.scrollIntoView({ block: 'center' });
}

/** A refusal, in words: a missing step-up opens the "confirm it is you" section, with the factors it must be made with. */
export function refused(p: ConsoleProblem, what: string): void {
  if (p.code === ErrorCode.FreshStepUpRequired) {
    askToConfirm(`Confirm it is you (it lasts 5 minutes), then ${what} again.`, p.factors ?? null);
    say('');
    return;
  }
  const problems = (p as Problem & { problems?: unknown }).problems;
  say(Array.isArray(problems) && problems.length ? `${explain(p)} (${problems.map(String).join('; ')})` : explain(p));
}

/** After a change: remember what happened, and reload to show the page as it is now. */
export function doneAndReload(message: string): void {
  sessionStorage.setItem(NOTICE, message);
  location.reload();
}

/**
 * Send an action and say its outcome: on success, `done(data)` says what happened (and the page
 * reloads), on refusal the reason (or the "confirm it is you" section).
 */
export async function act<T>(
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body: unknown,
  what: string,
  done: (data: T) => string | null,
): Promise<boolean> {
  say('Working…');
  const r = await send<T>(method, path, body);
  if (!r.ok) {
    refused(r.problem, what);
    return false;
  }
  const message = done(r.data);
  if (message !== null) doneAndReload(message);
  return true;
}

/** Start a "confirm it is you" challenge; its id. */
async function challenge(): Promise<string | null> {
  const r = await post<FreshStepUpChallenge>('/.stepgate/api/factors/step-up');
  if (!r.ok) {
    say(explain(r.problem));
    return null;
  }
  return r.data.challenge_id;
}

/** Confirmed: a page waiting for it reloads with its data; otherwise the person repeats their action. */
function confirmed(): void {
  if (root?.dataset.state === 'confirm') {
    location.reload();
    return;
  }
  $('confirm').hidden = true;
  say('Confirmed. Repeat what you were doing.');
}

function wireConfirm(): void {
  $<HTMLFormElement>('confirm-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const code = $<HTMLInputElement>('confirm-code').value.trim();
    if (!code) {
      say('Enter a code first.');
      return;
    }
    const id = await challenge();
    if (!id) return;
    const method = /^\d{6,8}$/.test(code) ? 'totp' : 'recovery';
    const r = await post(`/.stepgate/api/challenges/${id}/verify`, { method, code });
    if (!r.ok) say(explain(r.problem));
    else confirmed();
  });
  document.getElementById('confirm-passkey')?.addEventListener('click', async () => {
    const id = await challenge();
    if (!id) return;
    const options = await post<PublicKeyCredentialRequestOptionsJSON>(`/.stepgate/api/challenges/${id}/webauthn/options`);
    if (!options.ok) {
      say(explain(options.problem));
      return;
    }
    try {
      const response = await startAuthentication({ optionsJSON: options.data });
      const r = await post(`/.stepgate/api/challenges/${id}/verify`, { method: 'webauthn', response });
      if (!r.ok) say(explain(r.problem));
      else confirmed();
    } catch (err) {
      const orCode = $('confirm-form').hidden ? '' : ', or use a code';
      say(`The passkey prompt was closed or failed (${(err as Error).name}). Try again${orCode}.`);
    }
  });
}

if (document.getElementById('confirm')) wireConfirm();
const notice = sessionStorage.getItem(NOTICE);
if (notice) {
  sessionStorage.removeItem(NOTICE);
  say(notice);
}
