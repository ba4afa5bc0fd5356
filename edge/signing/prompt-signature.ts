/**
 * @module Signed approval prompts: what the extension shows a person comes from the edge, signed
 * (EdDSA, keyring purpose `prompt-signing`, typ `stepgate-prompt+jwt`), never from the page. Public
 * keys at /.well-known/stepgate/prompt-jwks.json — apart from the assertion keys, so no prompt can
 * ever pass as a Stepgate-Assertion.
 */
import { SignJWT, type JWK } from 'jose';
import { PROMPT_ISSUER, PROMPT_TYP, type PromptPayload } from '../../shared/wire-shapes';
import type { Keyring } from '../crypto/keyring';
import { signingKey } from '../crypto/signing-key';

const key = (ring: Keyring, kid: string) => signingKey(ring, 'prompt-signing', kid, 'sg-prompt-');

/** Sign a challenge's display data for `aud` (the site's hostname), valid until the challenge expires. */
export async function signPrompt(
  ring: Keyring,
  payload: PromptPayload,
  aud: string,
  nowSeconds: number,
  expSeconds: number,
): Promise<string> {
  const { privateKey, jwk } = await key(ring, ring.primary);
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'EdDSA', kid: jwk.kid!, typ: PROMPT_TYP })
    .setIssuer(PROMPT_ISSUER)
    .setAudience(aud)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(expSeconds)
    .sign(privateKey);
}

/** The public keys that verify prompts, one per key id in the ring. */
export async function promptJwks(ring: Keyring): Promise<{ keys: JWK[] }> {
  return { keys: await Promise.all(ring.kids.map(async (kid) => (await key(ring, kid)).jwk)) };
}
