/**
 * @module Confirming it is you on the options page: a factor change the site refuses with
 * ERR_FRESH_STEP_UP_REQUIRED opens a step-up in the site's card (passkey or code), and runs again
 * once it is answered.
 */
import { startAuthentication, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import { ErrorCode } from '../../../shared/errors';
import type { FactorList, FreshStepUpChallenge } from '../../../shared/wire-shapes';
import { h } from '../lib/dom';
import { ExtensionCode } from '../lib/extension-codes';
import { problemWords } from '../lib/problem-words';
import { siteApi, type ApiResult } from '../lib/site-api';
import { render, say, ui, type SiteUi } from './options-state';

/** The 403 the edge gives when changing factors needs a fresh step-up. */
const needsStepUp = (r: ApiResult<unknown>) => !r.ok && r.code === ErrorCode.FreshStepUpRequired;

/**
 * Run a factor change; if the site first wants proof it is you, ask for it (passkey or code, in the
 * card) and run the change again.
 */
export async function withStepUp<T>(origin: string, call: () => Promise<ApiResult<T>>): Promise<ApiResult<T> | null> {
  const first = await call();
  if (!needsStepUp(first)) return first;
  const s = ui.get(origin)!;
  const c = await siteApi<FreshStepUpChallenge>(origin, '/.stepgate/api/factors/step-up', { body: {} });
  if (!c.ok) {
    say(origin, c.message, 'error');
    return null;
  }
  const ok = await new Promise<boolean>((resolve) => {
    s.stepUp = { challengeId: c.data.challenge_id, resolve, error: null, busy: false };
    say(origin, 'Confirm it is you first, with a factor you already have.');
  });
  s.stepUp = null;
  if (!ok) {
    say(origin, 'Cancelled; nothing was changed.');
    return null;
  }
  return call();
}

async function answerStepUp(origin: string, how: { method: 'webauthn' } | { method: 'totp' | 'recovery'; code: string }): Promise<void> {
  const s = ui.get(origin)!;
  const st = s.stepUp;
  if (!st || st.busy) return;
  st.busy = true;
  st.error = null;
  render();
  const path = `/.stepgate/api/challenges/${encodeURIComponent(st.challengeId)}`;
  let body: unknown = how;
  if (how.method === 'webauthn') {
    const options = await siteApi<PublicKeyCredentialRequestOptionsJSON>(origin, `${path}/webauthn/options`, { body: {} });
    if (!options.ok) {
      st.busy = false;
      st.error = options.message;
      return render();
    }
    try {
      body = { method: 'webauthn', response: await startAuthentication({ optionsJSON: options.data }) };
    } catch {
      st.busy = false;
      st.error = problemWords(ExtensionCode.CeremonyFailed);
      return render();
    }
  }
  const r = await siteApi(origin, `${path}/verify`, { body });
  st.busy = false;
  if (r.ok) return st.resolve(true);
  st.error = r.message;
  render();
}

/** The card's "confirm it is you" panel while a step-up is open; nothing otherwise. */
export function stepUpPanel(origin: string, s: SiteUi, f: FactorList | null): HTMLElement | null {
  const st = s.stepUp;
  if (!st) return null;
  const input = h('input', {
    id: 'step-up-code',
    // A visible label says what goes here; the placeholder stays short so it is never cut off.
    placeholder: '123456',
    autocomplete: 'one-time-code',
    disabled: st.busy,
  });
  return h(
    'div',
    { class: 'card', id: 'step-up' },
    h('strong', { text: `Confirm it is you on ${new URL(origin).host}` }),
    f?.webauthn.length
      ? h(
          'p',
          {},
          h('button', {
            id: 'step-up-passkey',
            class: 'primary',
            disabled: st.busy,
            text: 'Use my passkey',
            onClick: () => void answerStepUp(origin, { method: 'webauthn' }),
          }),
        )
      : null,
    h(
      'form',
      {
        class: 'row',
        id: 'step-up-form',
        onSubmit: (e) => {
          e.preventDefault();
          const code = input.value.replace(/\s+/g, '');
          void answerStepUp(origin, { method: /^\d{6,8}$/.test(code) ? 'totp' : 'recovery', code });
        },
      },
      h('label', { for: 'step-up-code', text: 'Code from your authenticator app, or a recovery code' }),
      input,
      h('button', { type: 'submit', disabled: st.busy, text: 'Confirm with code' }),
      h('button', { type: 'button', disabled: st.busy, text: 'Cancel', onClick: () => st.resolve(false) }),
    ),
    st.error ? h('p', { class: 'error', role: 'alert', text: st.error }) : null,
  );
}
