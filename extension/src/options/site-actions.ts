/**
 * @module What the options page does on a paired site: load its factors, add a passkey or an
 * authenticator app, remove a factor (each behind a fresh step-up when the site asks), unpair it,
 * and list the paired sites afresh.
 */
import { startRegistration, type PublicKeyCredentialCreationOptionsJSON, type RegistrationResponseJSON } from '@simplewebauthn/browser';
import { ErrorCode } from '../../../shared/errors';
import { ExtensionCode } from '../lib/extension-codes';
import type { FactorList, PasskeyRegistered, TotpActivated, TotpEnrolment } from '../../../shared/wire-shapes';
import { send } from '../lib/messaging';
import { problemWords } from '../lib/problem-words';
import { siteApi } from '../lib/site-api';
import { factorCounts } from '../lib/site-view';
import { withStepUp } from './fresh-step-up';
import { busyWhile, render, say, ui } from './options-state';

export async function loadFactors(origin: string): Promise<void> {
  const s = ui.get(origin);
  if (!s) return;
  const r = await siteApi<FactorList>(origin, '/.stepgate/api/factors');
  s.factors = r.ok ? r.data : null;
  // Why: the card's summary line must say what the list below it says, so it follows every load
  // of the factors (after adding or removing one), not only the background's status from page load.
  if (r.ok) s.status = { ...s.status, signedIn: true, factors: factorCounts(r.data), problem: null };
  else if (r.code === ErrorCode.IdentityRequired) s.status = { ...s.status, signedIn: false, factors: null };
  // Not signed in to the site is not an error here: the card says so.
  else s.message = { text: r.message, kind: 'error' };
  render();
}

export const addPasskey = (origin: string, nickname: string) =>
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
    } catch {
      return say(origin, problemWords(ExtensionCode.CeremonyFailed), 'error');
    }
    const r = await siteApi<PasskeyRegistered>(origin, '/.stepgate/api/factors/webauthn/verify', {
      body: { response, ...(nickname ? { nickname } : {}) },
    });
    if (!r.ok) return say(origin, r.message, 'error');
    s.recoveryCodes = r.data.recovery_codes ?? null;
    await loadFactors(origin);
    say(origin, 'Your passkey is added.', 'ok');
  });

export const startTotp = (origin: string) =>
  busyWhile(origin, async () => {
    const r = await withStepUp(origin, () => siteApi<TotpEnrolment>(origin, '/.stepgate/api/factors/totp', { body: {} }));
    if (!r) return;
    if (!r.ok) return say(origin, r.message, 'error');
    ui.get(origin)!.totpSetup = { id: r.data.id, secret: r.data.secret, qrSvg: r.data.qr_svg };
    say(origin, 'Scan the code with your authenticator app, then enter the code it shows.');
  });

export const confirmTotp = (origin: string, code: string) =>
  busyWhile(origin, async () => {
    const s = ui.get(origin)!;
    if (!s.totpSetup) return;
    const id = s.totpSetup.id;
    const r = await withStepUp(origin, () =>
      siteApi<TotpActivated>(origin, `/.stepgate/api/factors/totp/${encodeURIComponent(id)}/confirm`, {
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

export const removeFactor = (origin: string, kind: 'totp' | 'webauthn', id: string) =>
  busyWhile(origin, async () => {
    const r = await withStepUp(origin, () => siteApi(origin, '/.stepgate/api/factors/remove', { body: { kind, id } }));
    if (!r) return;
    if (!r.ok) return say(origin, r.message, 'error');
    await loadFactors(origin);
    say(origin, kind === 'webauthn' ? 'The passkey is removed.' : 'The authenticator app is removed.', 'ok');
  });

export const unpair = (origin: string) =>
  busyWhile(origin, async () => {
    const r = await send('sites/unpair', { origin });
    if (!r.ok) return say(origin, r.message, 'error');
    ui.delete(origin);
  });

export async function refresh(): Promise<void> {
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
