/**
 * @module enrolPageView: what the enrolment page must know before it is drawn — who is signed in
 * (or why nobody is, and where to sign in), which factors they already have (a second factor needs
 * a fresh step-up with one of them), whether that step-up is already fresh, and where "Back" goes.
 */
import { returnPath } from '../../shared/return-path';
import type { Runtime } from '../deployment/runtime';
import { recoveryCodesLeft } from '../factors/recovery/recovery-code-store';
import { totpFactors } from '../factors/totp/totp-store';
import { webauthnCredentials } from '../factors/webauthn/passkey-store';
import { StepgateError } from '../http/stepgate-error';
import type { EnrolPageView } from '../pages/enrol-page';
import { requireFreshStepUp } from './fresh-step-up';
import { noticesOf } from './recovery-notices';

const ENROL_PATH = '/.stepgate/enrol';

/**
 * The `return` query parameter when it is a same-origin path (returnPath: one leading '/', nothing a
 * browser or an app decoding it once could read as another host, at most 2048 characters); else null.
 */
export const sameOriginReturn = (value: string | null): string | null => returnPath(value);

/** The app's sign-in page with a way back here (as the request path sends a navigation: `return_to`), or null. */
function signInUrl(loginUrl: string | undefined, url: URL): string | null {
  if (!loginUrl) return null;
  const sep = loginUrl.includes('?') ? '&' : '?';
  return `${loginUrl}${sep}return_to=${encodeURIComponent(ENROL_PATH + url.search)}`;
}

/** Whether the person holds a fresh step-up now (then adding a factor needs no confirmation first). */
async function freshNow(rt: Runtime, req: Request, me: Parameters<typeof requireFreshStepUp>[2]): Promise<boolean> {
  try {
    await requireFreshStepUp(rt, req, me);
    return true;
  } catch (err) {
    if (err instanceof StepgateError) return false;
    throw err;
  }
}

/** Everything the enrolment page shows, for this request. Never throws for a missing or bad session: that is the signed-out page. */
export async function enrolPageView(rt: Runtime, req: Request): Promise<EnrolPageView> {
  const url = new URL(req.url);
  const back = sameOriginReturn(url.searchParams.get('return'));
  const who = await rt.identify(req).catch(() => ({ ok: false as const, reason: 'unavailable' as const }));
  if (!who.ok) {
    return { notices: [], enrolment: rt.enrolment, back, person: null, signedOut: who.reason, signInUrl: signInUrl(rt.loginUrl, url) };
  }
  const me = who.identity;
  const [notices, apps, passkeys, codes] = await Promise.all([
    // As pageNotices: notices that cannot be read must not cost the person the page.
    noticesOf(rt, me).then(
      (n) => n.notices,
      (err: unknown) => {
        console.error('stepgate: notices could not be read for a page:', err instanceof Error ? err.message : 'non-error');
        return [];
      },
    ),
    totpFactors(rt.db, rt.keys, me.sub, 'active'),
    webauthnCredentials(rt.db, rt.keys, me.sub),
    recoveryCodesLeft(rt.db, rt.keys, me.sub),
  ]);
  const hasFactor = apps.length + passkeys.length > 0;
  return {
    notices,
    enrolment: rt.enrolment,
    back,
    person: {
      name: me.subject,
      apps: apps.length,
      passkeys: passkeys.length,
      recoveryCodesLeft: codes,
      confirmed: hasFactor && (await freshNow(rt, req, me)),
    },
    signedOut: null,
    signInUrl: null,
  };
}
