/**
 * @module Answering a challenge from the prompt window: with a passkey (`…/webauthn/options`, the
 * browser's ceremony, `…/verify`) or with a code (`…/verify`). One code path for a challenge's
 * window and for the approval window, whose **Approve** answers the approver's own step-up challenge.
 */
import { startAuthentication, type AuthenticationResponseJSON, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import { ExtensionCode } from '../lib/extension-codes';
import { problemWords } from '../lib/problem-words';
import { siteApi, type ApiResult } from '../lib/site-api';

export type ChallengeAnswer = { method: 'webauthn' } | { method: 'totp' | 'recovery'; code: string };

/** Six to eight digits are an authenticator code; anything else is read as a recovery code (where the challenge takes them). */
export const methodForCode = (factors: readonly string[], code: string): 'totp' | 'recovery' =>
  /^\d{6,8}$/.test(code) && factors.includes('totp') ? 'totp' : factors.includes('recovery') ? 'recovery' : 'totp';

/**
 * Answer challenge `challengeId` of `site`; `extra` goes with the answer (number matching's
 * `number`). Never throws: a closed passkey prompt is a Failure like a refusal of the site.
 */
export async function answerChallenge<T = unknown>(
  site: string,
  challengeId: string,
  answer: ChallengeAnswer,
  extra: Record<string, unknown> = {},
): Promise<ApiResult<T>> {
  const path = `/.stepgate/api/challenges/${encodeURIComponent(challengeId)}`;
  if (answer.method !== 'webauthn')
    return siteApi<T>(site, `${path}/verify`, { body: { method: answer.method, code: answer.code, ...extra } });
  const options = await siteApi<PublicKeyCredentialRequestOptionsJSON>(site, `${path}/webauthn/options`, { body: {} });
  if (!options.ok) return options;
  let response: AuthenticationResponseJSON;
  try {
    response = await startAuthentication({ optionsJSON: options.data });
  } catch (e) {
    return {
      ok: false,
      status: 0,
      code: ExtensionCode.CeremonyFailed,
      message: problemWords(ExtensionCode.CeremonyFailed),
      retryAt: null,
      detail: (e as Error).name,
    };
  }
  return siteApi<T>(site, `${path}/verify`, { body: { method: 'webauthn', response, ...extra } });
}
