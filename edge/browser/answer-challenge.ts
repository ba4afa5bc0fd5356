/**
 * @module Browser side, shared by the step-up page (step-up.ts) and the approval page (approval.ts):
 * answering one challenge — with a passkey (options from the challenge, then the browser's prompt)
 * or with a code — through the same endpoints, so both pages prove the same thing the same way.
 */
import { type PublicKeyCredentialRequestOptionsJSON, startAuthentication } from '@simplewebauthn/browser';
import { type ApiResult, post } from './api';

/** POST /.stepgate/api/challenges/:id/verify: the answer to a challenge. */
export const verifyPath = (challengeId: string): string => `/.stepgate/api/challenges/${encodeURIComponent(challengeId)}/verify`;

/** Answer a challenge with a code: a TOTP code, or a recovery code. */
export const answerWithCode = <T>(challengeId: string, method: 'totp' | 'recovery', code: string): Promise<ApiResult<T>> =>
  post<T>(verifyPath(challengeId), { method, code });

/**
 * Answer a challenge with a passkey: the options, the browser's prompt, the answer. Refusals come
 * back as results; a prompt the person closed (or that failed) throws, as `startAuthentication` does.
 */
export async function answerWithPasskey<T>(challengeId: string): Promise<ApiResult<T>> {
  const options = await post<PublicKeyCredentialRequestOptionsJSON>(
    `/.stepgate/api/challenges/${encodeURIComponent(challengeId)}/webauthn/options`,
  );
  if (!options.ok) return options;
  const response = await startAuthentication({ optionsJSON: options.data });
  return post<T>(verifyPath(challengeId), { method: 'webauthn', response });
}
