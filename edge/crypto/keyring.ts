/**
 * @module The keyring: master keys from the `STEPGATE_KEYS` secret, each with a key id, and
 * per-purpose subkeys derived by HKDF-SHA-256, so no two uses ever share key material.
 */
import { base64url, fromBase64url } from '../../shared/canonical-action';

/** Every use of key material, each its own HKDF `info`. Adding a purpose never changes another's keys. */
export const KEY_PURPOSES = [
  'grant-mac',
  'totp-secret',
  'held-request',
  'audit-encryption',
  'blind-index',
  'audit-checkpoint',
  'prompt-signing',
  'assertion-signing',
  'factor-metadata',
] as const;
export type KeyPurpose = (typeof KEY_PURPOSES)[number];

export interface Keyring {
  /** Key id new material is produced under. */
  readonly primary: string;
  /** Every key id that can still open or verify old material. */
  readonly kids: readonly string[];
  /** HMAC-SHA-256 key for a purpose (primary key unless `kid` names another). */
  hmac(purpose: KeyPurpose, kid?: string): Promise<CryptoKey>;
  /** AES-256-GCM key for a purpose. */
  aes(purpose: KeyPurpose, kid?: string): Promise<CryptoKey>;
  /** 32 raw derived bytes for a purpose (e.g. an Ed25519 seed). */
  bytes(purpose: KeyPurpose, kid?: string): Promise<Uint8Array<ArrayBuffer>>;
}

const KID = /^[A-Za-z0-9_-]{1,32}$/;
const SALT = new TextEncoder().encode('stepgate-keyring-v1');
const info = (purpose: KeyPurpose) => new TextEncoder().encode(`stepgate/${purpose}/v1`);

/**
 * Parse the keyring secret: `{"primary":"k1","keys":{"k1":"<base64, ≥ 32 bytes>", ...}}`.
 *
 * @throws {Error} naming what is wrong — never echoing key material
 */
export function parseKeyring(secret: string | undefined): Keyring {
  if (!secret) throw new Error('STEPGATE_KEYS is not set (see README: wrangler secret put STEPGATE_KEYS)');
  let doc: unknown;
  try {
    doc = JSON.parse(secret);
  } catch {
    throw new Error('STEPGATE_KEYS is not valid JSON');
  }
  const { primary, keys } = (doc ?? {}) as { primary?: unknown; keys?: unknown };
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) throw new Error('STEPGATE_KEYS: "keys" must be an object of key id → base64 key');
  const masters = new Map<string, Uint8Array<ArrayBuffer>>();
  for (const [kid, value] of Object.entries(keys)) {
    if (!KID.test(kid)) throw new Error(`STEPGATE_KEYS: key id "${kid.slice(0, 40)}" must be 1-32 letters, digits, "_" or "-"`);
    let raw: Uint8Array<ArrayBuffer>;
    try {
      raw = fromBase64url(String(value));
    } catch {
      throw new Error(`STEPGATE_KEYS: key "${kid}" is not base64`);
    }
    // Why: HKDF output is only as strong as its input; 256 bits matches AES-256.
    if (raw.length < 32) throw new Error(`STEPGATE_KEYS: key "${kid}" has ${raw.length} bytes, expected at least 32`);
    masters.set(kid, raw);
  }
  if (typeof primary !== 'string' || !masters.has(primary)) throw new Error('STEPGATE_KEYS: "primary" must name one of "keys"');

  const base = new Map<string, Promise<CryptoKey>>();
  const derivedBits = new Map<string, Promise<Uint8Array<ArrayBuffer>>>();
  const hkdfKey = (kid: string) => {
    let k = base.get(kid);
    if (!k) {
      const raw = masters.get(kid);
      if (!raw) throw new Error(`unknown key id "${kid}"`);
      base.set(kid, (k = crypto.subtle.importKey('raw', raw, 'HKDF', false, ['deriveBits'])));
    }
    return k;
  };
  const bytes = (purpose: KeyPurpose, kid = primary) => {
    const id = `${kid}/${purpose}`;
    let b = derivedBits.get(id);
    if (!b) {
      b = hkdfKey(kid).then(async (k) =>
        new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: SALT, info: info(purpose) }, k, 256)),
      );
      derivedBits.set(id, b);
    }
    return b;
  };
  const cache = new Map<string, Promise<CryptoKey>>();
  const derived = (purpose: KeyPurpose, kid: string, alg: 'HMAC' | 'AES-GCM') => {
    const id = `${kid}/${purpose}/${alg}`;
    let k = cache.get(id);
    if (!k) {
      k = bytes(purpose, kid).then((raw) =>
        alg === 'HMAC'
          ? crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
          : crypto.subtle.importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']),
      );
      cache.set(id, k);
    }
    return k;
  };
  return {
    primary,
    kids: [...masters.keys()],
    hmac: (purpose, kid = primary) => derived(purpose, kid, 'HMAC'),
    aes: (purpose, kid = primary) => derived(purpose, kid, 'AES-GCM'),
    bytes,
  };
}

/** A new random 32-byte master key, base64, for `stepgate keys generate`. */
export const newMasterKey = (): string => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));

/** A short, non-secret fingerprint of a derived key, for logs and key-rotation reports. */
export async function fingerprint(ring: Keyring, purpose: KeyPurpose, kid?: string): Promise<string> {
  const b = await ring.bytes(purpose, kid);
  return base64url(await crypto.subtle.digest('SHA-256', b)).slice(0, 12);
}
