/**
 * @module The options page: add a site by address, see every paired site's state, unpair it; on a
 * site you are signed in to, register a passkey (with the site's RP ID), set up an authenticator
 * app (QR and secret), see and remove factors after confirming it is you, see recovery codes once.
 */
import {
  startAuthentication,
  startRegistration,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/browser';
import browser from 'webextension-polyfill';
import type { SiteStatus } from '../../../shared/messages';
import { $, h, mount, when } from '../lib/dom';
import { send } from '../lib/messaging';
import { siteApi, type ApiResult } from '../lib/site-api';
import { siteState, throttleNotice } from '../lib/site-view';
import { permissionPattern, siteOrigin } from '../lib/sites';

interface FactorList {
  totp: { id: string }[];
  webauthn: { id: string; nickname: string | null; backed_up: boolean; created_at: string; last_used_at: string | null }[];
  recovery_codes_left: number;
  enrolment: string;
}

/** What one site's card shows besides its status: transient, never stored. */
interface SiteUi {
  status: SiteStatus;
  factors: FactorList | null;
  totpSetup: { id: string; secret: string; qrSvg: string } | null;
  /** Shown once, right after the first factor; gone when the page closes. */
  recoveryCodes: string[] | null;
  message: { text: string; kind: 'ok' | 'error' | 'muted' } | null;
  stepUp: { challengeId: string; resolve: (ok: boolean) => void; error: string | null; busy: boolean } | null;
  busy: boolean;
}

const ui = new Map<string, SiteUi>();
const sitesEl = $('sites');

const say = (origin: string, text: string, kind: 'ok' | 'error' | 'muted' = 'muted') => {
  const s = ui.get(origin);
  if (s) s.message = { text, kind };
  render();
};

/** The 403 the edge gives when changing factors needs a fresh step-up. */
const needsStepUp = (r: ApiResult<unknown>) => !r.ok && r.code === 'ERR_FRESH_STEP_UP_REQUIRED';

/**
 * Run a factor change; if the site first wants proof it is you, ask for it (passkey or code, in the
 * card) and run the change again.
 */
async function withStepUp<T>(origin: string, call: () => Promise<ApiResult<T>>): Promise<ApiResult<T> | null> {
  const first = await call();
  if (!needsStepUp(first)) return first;
  const s = ui.get(origin)!;
  const c = await siteApi<{ challenge_id: string }>(origin, '/.stepgate/api/factors/step-up', { body: {} });
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
    } catch (e) {
      st.busy = false;
      st.error = `The passkey prompt was closed or failed (${(e as Error).name}).`;
      return render();
    }
  }
  const r = await siteApi(origin, `${path}/verify`, { body });
  st.busy = false;
  if (r.ok) return st.resolve(true);
  st.error = r.message;
  render();
}

async function loadFactors(origin: string): Promise<void> {
  const s = ui.get(origin);
  if (!s) return;
  const r = await siteApi<FactorList>(origin, '/.stepgate/api/factors');
  s.factors = r.ok ? r.data : null;
  if (!r.ok && r.status !== 401) s.message = { text: r.message, kind: 'error' };
  render();
}

async function busyWhile(origin: string, fn: () => Promise<void>): Promise<void> {
  const s = ui.get(origin)!;
  if (s.busy) return;
  s.busy = true;
  s.message = null;
  render();
  try {
    await fn();
  } finally {
    s.busy = false;
    render();
  }
}

const addPasskey = (origin: string, nickname: string) =>
  busyWhile(origin, async () => {
    const s = ui.get(origin)!;
    const options = await withStepUp(origin, () =>
      siteApi<PublicKeyCredentialCreationOptionsJSON>(origin, '/.stepgate/api/factors/webauthn/options', { body: {} }),
    );
    if (!options) return;
    if (!options.ok) return say(origin, options.message, 'error');
    say(origin, 'Follow your browser’s passkey prompt…');
    let response: RegistrationResponseJSON;
    try {
      response = await startRegistration({ optionsJSON: options.data });
    } catch (e) {
      return say(origin, `The passkey prompt was closed or failed (${(e as Error).name}).`, 'error');
    }
    const r = await siteApi<{ recovery_codes?: string[] }>(origin, '/.stepgate/api/factors/webauthn/verify', {
      body: { response, ...(nickname ? { nickname } : {}) },
    });
    if (!r.ok) return say(origin, r.message, 'error');
    s.recoveryCodes = r.data.recovery_codes ?? null;
    await loadFactors(origin);
    say(origin, 'Your passkey is added.', 'ok');
  });

const startTotp = (origin: string) =>
  busyWhile(origin, async () => {
    const r = await withStepUp(origin, () =>
      siteApi<{ id: string; secret: string; qr_svg: string }>(origin, '/.stepgate/api/factors/totp', { body: {} }),
    );
    if (!r) return;
    if (!r.ok) return say(origin, r.message, 'error');
    ui.get(origin)!.totpSetup = { id: r.data.id, secret: r.data.secret, qrSvg: r.data.qr_svg };
    say(origin, 'Scan the code with your authenticator app, then enter the code it shows.');
  });

const confirmTotp = (origin: string, code: string) =>
  busyWhile(origin, async () => {
    const s = ui.get(origin)!;
    if (!s.totpSetup) return;
    const id = s.totpSetup.id;
    const r = await withStepUp(origin, () =>
      siteApi<{ recovery_codes?: string[] }>(origin, `/.stepgate/api/factors/totp/${encodeURIComponent(id)}/confirm`, {
        body: { code: code.replace(/\s+/g, '') },
      }),
    );
    if (!r) return;
    if (!r.ok) return say(origin, r.message, 'error');
    s.totpSetup = null;
    s.recoveryCodes = r.data.recovery_codes ?? null;
    await loadFactors(origin);
    say(origin, 'Your authenticator app is set up.', 'ok');
  });

const removeFactor = (origin: string, kind: 'totp' | 'webauthn', id: string) =>
  busyWhile(origin, async () => {
    const r = await withStepUp(origin, () => siteApi(origin, '/.stepgate/api/factors/remove', { body: { kind, id } }));
    if (!r) return;
    if (!r.ok) return say(origin, r.message, 'error');
    await loadFactors(origin);
    say(origin, kind === 'webauthn' ? 'The passkey is removed.' : 'The authenticator app is removed.', 'ok');
  });

const unpair = (origin: string) =>
  busyWhile(origin, async () => {
    const r = await send('sites/unpair', { origin });
    if (!r.ok) return say(origin, r.message, 'error');
    ui.delete(origin);
  });

/** The TOTP QR code as an image: the SVG never becomes part of this page's DOM, so it cannot run or restyle anything. */
const qrImage = (svg: string) =>
  h('img', {
    class: 'qr',
    id: 'totp-qr',
    alt: 'QR code for your authenticator app',
    src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`,
  });

function stepUpPanel(origin: string, s: SiteUi, f: FactorList | null): HTMLElement | null {
  const st = s.stepUp;
  if (!st) return null;
  const input = h('input', {
    id: 'step-up-code',
    placeholder: '123456 or a recovery code',
    'aria-label': 'Code',
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
      input,
      h('button', { type: 'submit', disabled: st.busy, text: 'Confirm with code' }),
      h('button', { type: 'button', disabled: st.busy, text: 'Cancel', onClick: () => st.resolve(false) }),
    ),
    st.error ? h('p', { class: 'error', role: 'alert', text: st.error }) : null,
  );
}

function factorsPanel(origin: string, s: SiteUi): HTMLElement | null {
  const f = s.factors;
  if (s.status.signedIn !== true || !f) return null;
  const count = f.webauthn.length + f.totp.length;
  const nickname = h('input', { id: 'passkey-nickname', placeholder: 'Name (optional)', 'aria-label': 'Passkey name', maxlength: 64 });
  const confirmCode = h('input', {
    id: 'totp-confirm-code',
    placeholder: '123456',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    'aria-label': 'Code from the app',
  });
  return h(
    'div',
    { class: 'factors' },
    h('h2', { text: 'Factors' }),
    count === 0 ? h('p', { class: 'muted', text: 'No factor yet. Your first one also gives you recovery codes.' }) : null,
    h(
      'ul',
      { class: 'plain', id: 'factor-list' },
      ...f.webauthn.map((c) =>
        h(
          'li',
          { class: 'spread' },
          h('span', {
            text:
              `Passkey ${c.nickname ? `“${c.nickname}”` : ''} · ` +
              `added ${when(c.created_at)}${c.last_used_at ? ` · last used ${when(c.last_used_at)}` : ''}${c.backed_up ? ' · synced' : ''}`,
          }),
          h('button', { class: 'danger', disabled: s.busy, text: 'Remove', onClick: () => void removeFactor(origin, 'webauthn', c.id) }),
        ),
      ),
      ...f.totp.map((t) =>
        h(
          'li',
          { class: 'spread' },
          h('span', { text: 'Authenticator app' }),
          h('button', { class: 'danger', disabled: s.busy, text: 'Remove', onClick: () => void removeFactor(origin, 'totp', t.id) }),
        ),
      ),
    ),
    h('p', {
      id: 'recovery-left',
      class: 'muted',
      text: `${f.recovery_codes_left} recovery code${f.recovery_codes_left === 1 ? '' : 's'} left.`,
    }),
    h(
      'form',
      {
        class: 'row',
        onSubmit: (e) => {
          e.preventDefault();
          void addPasskey(origin, nickname.value.trim());
        },
      },
      nickname,
      h('button', { id: 'add-passkey', type: 'submit', disabled: s.busy, text: 'Add a passkey' }),
    ),
    s.totpSetup
      ? h(
          'div',
          { class: 'card', id: 'totp-setup' },
          qrImage(s.totpSetup.qrSvg),
          h('p', {}, 'Or enter this secret: ', h('code', { id: 'totp-secret', text: s.totpSetup.secret.replace(/(.{4})/g, '$1 ').trim() })),
          h(
            'form',
            {
              class: 'row',
              id: 'totp-confirm',
              onSubmit: (e) => {
                e.preventDefault();
                void confirmTotp(origin, confirmCode.value);
              },
            },
            confirmCode,
            h('button', { type: 'submit', class: 'primary', disabled: s.busy, text: 'Confirm' }),
          ),
        )
      : h(
          'p',
          {},
          h('button', { id: 'add-totp', disabled: s.busy, text: 'Add an authenticator app', onClick: () => void startTotp(origin) }),
        ),
    s.recoveryCodes
      ? h(
          'div',
          { class: 'card', id: 'recovery' },
          h('strong', { text: 'Your recovery codes — shown only now' }),
          h('p', {
            class: 'muted',
            text: 'Each works once, if you lose your passkey and app. Keep them somewhere safe; the extension does not keep them.',
          }),
          h('ol', { class: 'codes', id: 'recovery-codes' }, ...s.recoveryCodes.map((c) => h('li', { text: c }))),
          h('button', {
            text: 'I have saved them',
            onClick: () => {
              s.recoveryCodes = null;
              render();
            },
          }),
        )
      : null,
  );
}

function siteCard(origin: string, s: SiteUi): HTMLElement {
  const st = s.status;
  return h(
    'article',
    { class: 'card site', 'data-origin': origin },
    h('div', { class: 'spread' }, h('h2', { text: st.name }), h('span', { class: 'muted mono', text: origin })),
    h('p', { class: 'muted', text: `Paired ${when(st.pairedAt)}` }),
    h('p', { class: 'state', text: siteState(st) }),
    st.throttledUntil ? h('p', { class: 'notice', text: throttleNotice(st) }) : null,
    st.problem ? h('p', { class: 'error', text: st.problem }) : null,
    st.signedIn === false
      ? h(
          'p',
          {},
          'Sign in to ',
          h('a', { href: origin, target: '_blank', rel: 'noopener', text: new URL(origin).host }),
          ' in this browser to manage your factors there.',
        )
      : null,
    stepUpPanel(origin, s, s.factors),
    factorsPanel(origin, s),
    s.message ? h('p', { class: s.message.kind, role: 'status', id: 'site-status', text: s.message.text }) : null,
    h(
      'div',
      { class: 'row' },
      h('button', { disabled: s.busy, text: 'Refresh', onClick: () => void refresh() }),
      h('button', { class: 'danger', disabled: s.busy, text: 'Unpair', onClick: () => void unpair(origin) }),
    ),
  );
}

function render(): void {
  if (!ui.size) {
    mount(sitesEl, h('p', { class: 'muted', id: 'no-sites', text: 'No paired sites yet.' }));
    return;
  }
  mount(sitesEl, ...[...ui.entries()].map(([origin, s]) => siteCard(origin, s)));
}

async function refresh(): Promise<void> {
  const { sites } = await send('sites/list', {});
  for (const origin of ui.keys()) if (!sites.some((s) => s.origin === origin)) ui.delete(origin);
  for (const st of sites) {
    const s = ui.get(st.origin);
    if (s) s.status = st;
    else ui.set(st.origin, { status: st, factors: null, totpSetup: null, recoveryCodes: null, message: null, stepUp: null, busy: false });
  }
  render();
  await Promise.all(sites.filter((s) => s.signedIn).map((s) => loadFactors(s.origin)));
}

$<HTMLFormElement>('add-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const out = $('add-status');
  let origin: string;
  try {
    origin = siteOrigin($<HTMLInputElement>('add-url').value);
  } catch (err) {
    out.textContent = (err as Error).message;
    out.className = 'error';
    return;
  }
  // Why: permissions.request must run in the submit handler itself (a user gesture), before any await.
  const granted = browser.permissions.request({ origins: [permissionPattern(origin)] });
  // If this page is gone when the permission arrives, the background finishes the pairing.
  void browser.storage.session.set({ pairIntent: { origin, at: Date.now() } });
  out.className = 'muted';
  out.textContent = `Asking for permission to talk to ${new URL(origin).host}…`;
  void (async () => {
    if (!(await granted)) {
      out.textContent = 'Not paired: the permission was not granted.';
      out.className = 'error';
      return;
    }
    out.textContent = 'Pairing…';
    const r = await send('sites/pair', { origin });
    out.textContent = r.ok ? `Paired with ${r.site.name}.` : r.message;
    out.className = r.ok ? 'ok' : 'error';
    if (r.ok) $<HTMLInputElement>('add-url').value = '';
    await refresh();
  })();
});

refresh().catch((e: unknown) =>
  mount(sitesEl, h('p', { class: 'error', text: `Could not load the paired sites: ${(e as Error).message}` })),
);
