/**
 * @module seal/open: AES-256-GCM with a random 96-bit IV and AAD that binds a ciphertext to where
 * it belongs (e.g. "totp|alice"), so a ciphertext moved to another row or purpose fails to open.
 */
import { base64url, fromBase64url } from './base64';
import type { Keyring, KeyPurpose } from './keyring';

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const VERSION = 'v1';

/** Encrypt `plaintext` under the primary key of `purpose`. Output: `v1.<kid>.<iv>.<ciphertext+tag>`. */
export async function seal(ring: Keyring, purpose: KeyPurpose, plaintext: string | Uint8Array<ArrayBuffer>, aad: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = typeof plaintext === 'string' ? enc.encode(plaintext) : plaintext;
  const key = await ring.aes(purpose);
  const ct = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: enc.encode(`${purpose}|${ring.primary}|${aad}`) },
    key,
    data,
  );
  return `${VERSION}.${ring.primary}.${base64url(iv)}.${base64url(ct)}`;
}

/** The key id a sealed value was made under (for rotation), or null if it is not a sealed value. */
export const sealedKid = (sealed: string): string | null => {
  const parts = sealed.split('.');
  return parts.length === 4 && parts[0] === VERSION ? parts[1]! : null;
};

/**
 * Decrypt a sealed value.
 *
 * @throws {Error} if the value is malformed, its key id is not in the keyring, or the tag, IV,
 *   key, purpose or AAD do not match — callers treat all of these as "not there"
 */
export async function openBytes(ring: Keyring, purpose: KeyPurpose, sealed: string, aad: string): Promise<Uint8Array<ArrayBuffer>> {
  const parts = sealed.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION) throw new Error('sealed value: malformed');
  const [, kid, iv, ct] = parts as [string, string, string, string];
  if (!ring.kids.includes(kid)) throw new Error('sealed value: unknown key id');
  const key = await ring.aes(purpose, kid);
  const pt = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: fromBase64url(iv), additionalData: enc.encode(`${purpose}|${kid}|${aad}`) },
    key,
    fromBase64url(ct),
  );
  return new Uint8Array(pt);
}

/** `openBytes`, as UTF-8 text. */
export const open = async (ring: Keyring, purpose: KeyPurpose, sealed: string, aad: string): Promise<string> =>
  dec.decode(await openBytes(ring, purpose, sealed, aad));
