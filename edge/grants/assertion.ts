/**
 * @module Stepgate-Assertion: a short-lived JWT (EdDSA) forwarded with every request that passed a
 * step-up, so an origin that cares can verify who stepped up, how and when — as apps verify
 * Cloudflare Access assertions. Its public keys are served at /.well-known/stepgate/jwks.json.
 */
import { SignJWT, type JWK } from 'jose';
import type { Keyring } from '../crypto/keyring';

// PKCS#8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410).
const PKCS8_PREFIX = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

const keys = new WeakMap<Keyring, Map<string, Promise<{ privateKey: CryptoKey; jwk: JWK }>>>();

/** The signing key of a key id, derived from the keyring (HKDF purpose `assertion-signing`). */
function signingKey(ring: Keyring, kid: string): Promise<{ privateKey: CryptoKey; jwk: JWK }> {
  let perRing = keys.get(ring);
  if (!perRing) keys.set(ring, (perRing = new Map()));
  let k = perRing.get(kid);
  if (!k) {
    k = (async () => {
      const seed = await ring.bytes('assertion-signing', kid);
      const pkcs8 = new Uint8Array(PKCS8_PREFIX.length + 32);
      pkcs8.set(PKCS8_PREFIX);
      pkcs8.set(seed, PKCS8_PREFIX.length);
      const privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, true, ['sign']);
      const full = (await crypto.subtle.exportKey('jwk', privateKey)) as JsonWebKey;
      return { privateKey, jwk: { kty: 'OKP', crv: 'Ed25519', x: full.x!, kid: `sg-${kid}`, alg: 'EdDSA', use: 'sig' } };
    })();
    perRing.set(kid, k);
  }
  return k;
}

export interface AssertionClaims {
  sub: string;
  /** The app (canonical host) the request is for. */
  aud: string;
  rule: string;
  amr: string[];
  auth_time: number;
  /** Action digest, for `bind: "action"` rules. */
  act?: string;
}

/** How long an assertion is valid: it is for this one forwarded request. */
export const ASSERTION_TTL_SECONDS = 60;

/** Sign an assertion with the primary key. */
export async function signAssertion(ring: Keyring, claims: AssertionClaims, nowSeconds: number): Promise<string> {
  const { privateKey, jwk } = await signingKey(ring, ring.primary);
  const { sub, aud, ...rest } = claims;
  return new SignJWT(rest as unknown as Record<string, unknown>)
    .setProtectedHeader({ alg: 'EdDSA', kid: jwk.kid!, typ: 'stepgate-assertion+jwt' })
    .setIssuer('stepgate')
    .setSubject(sub)
    .setAudience(aud)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + ASSERTION_TTL_SECONDS)
    .setJti(crypto.randomUUID())
    .sign(privateKey);
}

/** The public keys of every key id in the ring (old ones verify assertions made before a rotation). */
export async function assertionJwks(ring: Keyring): Promise<{ keys: JWK[] }> {
  return { keys: await Promise.all(ring.kids.map(async (kid) => (await signingKey(ring, kid)).jwk)) };
}
