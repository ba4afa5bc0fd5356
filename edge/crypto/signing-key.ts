/**
 * @module Ed25519 signing keys derived from the keyring (a purpose's 32 derived bytes are the seed),
 * with their public JWKs. Used for Stepgate-Assertions and for audit checkpoints, each its own purpose.
 */
import type { JWK } from 'jose';
import type { Keyring, KeyPurpose, RetiredPublicPurpose } from './keyring';

// PKCS#8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410).
const PKCS8_PREFIX = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

export interface SigningKey {
  privateKey: CryptoKey;
  /** The public key, with `kid` = `<prefix><key id>`. */
  jwk: JWK;
}

const cache = new WeakMap<Keyring, Map<string, Promise<SigningKey>>>();

/** The Ed25519 key of `purpose` under key id `kid`; its JWK's kid is `${kidPrefix}${kid}`. */
export function signingKey(ring: Keyring, purpose: KeyPurpose, kid: string, kidPrefix: string): Promise<SigningKey> {
  let perRing = cache.get(ring);
  if (!perRing) {
    perRing = new Map();
    cache.set(ring, perRing);
  }
  const id = `${purpose}/${kid}`;
  let k = perRing.get(id);
  if (!k) {
    k = (async () => {
      const seed = await ring.bytes(purpose, kid);
      const pkcs8 = new Uint8Array(PKCS8_PREFIX.length + 32);
      pkcs8.set(PKCS8_PREFIX);
      pkcs8.set(seed, PKCS8_PREFIX.length);
      const privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, true, ['sign']);
      const full = (await crypto.subtle.exportKey('jwk', privateKey)) as JsonWebKey;
      return { privateKey, jwk: { kty: 'OKP', crv: 'Ed25519', x: full.x!, kid: `${kidPrefix}${kid}`, alg: 'EdDSA', use: 'sig' } };
    })();
    perRing.set(id, k);
  }
  return k;
}

/**
 * The JWKS of a signing purpose: the public key of every key id in the ring and, with `retired`,
 * of every retired key id that kept one (`retired_at` says since when; verify-only: its private key
 * is gone, so nothing can sign under it).
 */
export async function publicJwks(
  ring: Keyring,
  purpose: KeyPurpose,
  kidPrefix: string,
  { retired = false } = {},
): Promise<{ keys: JWK[] }> {
  const live = await Promise.all(ring.kids.map(async (kid) => (await signingKey(ring, purpose, kid, kidPrefix)).jwk));
  if (!retired) return { keys: live };
  const old = Object.entries(ring.retired).flatMap(([kid, r]) => {
    const pub = r.publicKeys[purpose as RetiredPublicPurpose];
    return pub ? [{ ...pub, kid: `${kidPrefix}${kid}`, alg: 'EdDSA', use: 'sig', retired_at: r.retiredAt } as JWK] : [];
  });
  return { keys: [...live, ...old] };
}
