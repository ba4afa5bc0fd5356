/**
 * @module One paired site's card on the options page: its state, the step-up panel, its factors
 * (add, remove, the TOTP setup with its QR code, recovery codes shown once) and its buttons.
 * Built with `h`: whatever the site says stays text.
 */
import { h } from '../lib/dom';
import { siteState, throttleNotice } from '../lib/site-view';
import { timeElement } from '../lib/time-text';
import { stepUpPanel } from './fresh-step-up';
import { render, type SiteUi } from './options-state';
import { addPasskey, confirmTotp, refresh, removeFactor, startTotp, unpair } from './site-actions';

/** The TOTP QR code as an image: the SVG never becomes part of this page's DOM, so it cannot run or restyle anything. */
const qrImage = (svg: string) =>
  h('img', {
    class: 'qr',
    id: 'totp-qr',
    alt: 'QR code for your authenticator app',
    src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`,
  });

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
          h(
            'span',
            {},
            `Passkey${c.nickname ? ` “${c.nickname}”` : ''} · added `,
            timeElement(c.created_at),
            c.last_used_at ? ' · last used ' : null,
            c.last_used_at ? timeElement(c.last_used_at) : null,
            c.backed_up ? ' · synced' : null,
          ),
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

/** The card of the site at `origin`. */
export function siteCard(origin: string, s: SiteUi): HTMLElement {
  const st = s.status;
  return h(
    'article',
    { class: 'card site', 'data-origin': origin },
    h('div', { class: 'spread' }, h('h2', { text: st.name }), h('span', { class: 'muted mono origin', text: origin })),
    h('p', { class: 'muted' }, 'Paired ', timeElement(st.pairedAt)),
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
