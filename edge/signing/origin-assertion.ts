/**
 * @module Stepgate-Assertion: a short-lived JWT (EdDSA) forwarded with every request that passed a
 * step-up, so an origin that cares can verify who stepped up, how and when, for which organisation
 * and app — as apps verify Cloudflare Access assertions. Its public keys are served at
 * /.well-known/stepgate/jwks.json.
 */
import { SignJWT, type JWK } from 'jose';
import type { Keyring } from '../crypto/keyring';
import { publicJwks, signingKey } from '../crypto/signing-key';

const KID_PREFIX = 'sg-';
const key = (ring: Keyring, kid: string) => signingKey(ring, 'assertion-signing', kid, KID_PREFIX);

export interface AssertionClaims {
  sub: string;
  /** The app (canonical host) the request is for. */
  aud: string;
  /**
   * The organisation of the app the request is for ("default" for the bundled app). The key signs
   * for every app of every organisation of the deployment: an origin checks `org` and `app` are its own.
   */
  org: string;
  /** The id of the app the request is for ("bundled" for the bundled app, else its id in D1). */
  app: string;
  rule: string;
  amr: string[];
  auth_time: number;
  /** Action digest, for `bind: "action"` rules. */
  act?: string;
  /**
   * Dual control: the approval request this forward carries out, and every person who approved it
   * (the app's subjects, their factors, when), besides the requester (`sub`).
   */
  approval?: { id: string; approvers: { sub: string; amr: string[]; at: number }[] };
  /**
   * base64url(SHA-256(session token)): the app session Stepgate verified (the session cookie's
   * value, or the bearer token). An origin compares it with the hash of the session it is about
   * to act for, and `sub` with that session's user; on any difference it must refuse.
   */
  session_hash: string;
}

/** How long an assertion is valid: it is for this one forwarded request. */
export const ASSERTION_TTL_SECONDS = 60;

/** Sign an assertion with the primary key. */
export async function signAssertion(ring: Keyring, claims: AssertionClaims, nowSeconds: number): Promise<string> {
  const { privateKey, jwk } = await key(ring, ring.primary);
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

/**
 * The public keys of every live key id in the ring (old ones verify assertions made before a
 * rotation). Never those of retired key ids: an assertion lives 60 seconds, so none signed before
 * a retirement is still valid, and a leaked retired key must not keep verifying forged ones.
 */
export async function assertionJwks(ring: Keyring): Promise<{ keys: JWK[] }> {
  return publicJwks(ring, 'assertion-signing', KID_PREFIX, { retired: false });
}
