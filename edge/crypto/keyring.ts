/**
 * @module The keyring: master keys from the `STEPGATE_KEYS` secret, each with a key id, and
 * per-purpose subkeys derived by HKDF-SHA-256, so no two uses ever share key material.
 */
import { base64url, fromBase64url } from './base64';

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
  'approval-signing',
] as const;
export type KeyPurpose = (typeof KEY_PURPOSES)[number];

/**
 * Signing purposes whose public keys outlive their key id: when a key id is retired, these stay
 * published, verify-only, so every export ever signed still verifies. Not the assertion keys: an
 * assertion lives 60 seconds, so none signed under a retired key is still valid, and a leaked
 * retired key must not keep verifying forged ones at origins.
 */
export const RETIRED_PUBLIC_PURPOSES = ['audit-checkpoint', 'approval-signing'] as const satisfies readonly KeyPurpose[];
export type RetiredPublicPurpose = (typeof RETIRED_PUBLIC_PURPOSES)[number];

/** An Ed25519 public key as the keyring keeps it: `kty`, `crv` and `x` only (the edge names it). */
export interface PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
}

/** A retired key id: no key material left, only the public keys of what was signed under it. */
export interface RetiredKey {
  /** When `stepgate keys retire` retired it (ISO 8601). */
  retiredAt: string;
  publicKeys: Partial<Record<RetiredPublicPurpose, PublicJwk>>;
}

/** The `STEPGATE_KEYS` secret as JSON. */
export interface KeyringDoc {
  primary: string;
  keys: Record<string, string>;
  /** Retired key ids: verify-only public keys, kept in the secret itself (never in D1, where a writer could add their own). */
  retired?: Record<string, { retired_at: string } & Partial<Record<RetiredPublicPurpose, PublicJwk>>>;
}

export interface Keyring {
  /** Key id new material is produced under. */
  readonly primary: string;
  /** Every key id that can still open or verify old material. */
  readonly kids: readonly string[];
  /** Retired key ids and their verify-only checkpoint public keys (in the audit JWKS; nothing opens or signs under them). */
  readonly retired: Readonly<Record<string, RetiredKey>>;
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
 * Parse the keyring secret: `{"primary":"k1","keys":{"k1":"<base64, ≥ 32 bytes>", ...}}`, and
 * optionally `"retired": {"k0": {"retired_at": "…", "audit-checkpoint": <public JWK>}}` (public
 * keys only: a private member is refused; the assertion key is not kept).
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
  const { primary, keys, retired: retiredDoc } = (doc ?? {}) as { primary?: unknown; keys?: unknown; retired?: unknown };
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys))
    throw new Error('STEPGATE_KEYS: "keys" must be an object of key id → base64 key');
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
  const retired = parseRetired(retiredDoc, masters);

  const base = new Map<string, Promise<CryptoKey>>();
  const derivedBits = new Map<string, Promise<Uint8Array<ArrayBuffer>>>();
  const hkdfKey = (kid: string) => {
    let k = base.get(kid);
    if (!k) {
      const raw = masters.get(kid);
      if (!raw) throw new Error(`unknown key id "${kid}"`);
      k = crypto.subtle.importKey('raw', raw, 'HKDF', false, ['deriveBits']);
      base.set(kid, k);
    }
    return k;
  };
  const bytes = (purpose: KeyPurpose, kid = primary) => {
    const id = `${kid}/${purpose}`;
    let b = derivedBits.get(id);
    if (!b) {
      b = hkdfKey(kid).then(
        async (k) =>
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
    retired,
    hmac: (purpose, kid = primary) => derived(purpose, kid, 'HMAC'),
    aes: (purpose, kid = primary) => derived(purpose, kid, 'AES-GCM'),
    bytes,
  };
}

/** JWK members that hold private key material (RFC 7518): a retired entry must carry none. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The "retired" section: key id → retired_at and public keys of RETIRED_PUBLIC_PURPOSES. */
function parseRetired(doc: unknown, masters: ReadonlyMap<string, unknown>): Record<string, RetiredKey> {
  const out: Record<string, RetiredKey> = {};
  if (doc === undefined) return out;
  if (!isObject(doc)) throw new Error('STEPGATE_KEYS: "retired" must be an object of key id → public keys');
  for (const [kid, entry] of Object.entries(doc)) {
    const where = `STEPGATE_KEYS: retired key "${kid.slice(0, 40)}"`;
    if (!KID.test(kid)) throw new Error(`${where}: key ids are 1-32 letters, digits, "_" or "-"`);
    // Why: one key id, two keys: a verifier could not tell which one signed.
    if (masters.has(kid)) throw new Error(`${where} is also in "keys"; a key id is either live or retired`);
    if (!isObject(entry)) throw new Error(`${where}: must be an object with "retired_at" and public keys`);
    const publicKeys: RetiredKey['publicKeys'] = {};
    for (const [field, value] of Object.entries(entry)) {
      if (field === 'retired_at') continue;
      if (!(RETIRED_PUBLIC_PURPOSES as readonly string[]).includes(field)) {
        throw new Error(
          `${where}: unknown field "${field.slice(0, 40)}" (expected ` +
            `"retired_at", ${RETIRED_PUBLIC_PURPOSES.map((p) => `"${p}"`).join(', ')})`,
        );
      }
      if (!isObject(value)) throw new Error(`${where}: "${field}" must be a public JWK`);
      // Why: the retired section is published; a private key here would be a secret handed out.
      const secret = PRIVATE_MEMBERS.find((m) => m in value);
      if (secret) throw new Error(`${where}: "${field}" carries a private key ("${secret}"); keep only its public key (kty, crv, x)`);
      const extra = Object.keys(value).find((m) => !['kty', 'crv', 'x'].includes(m));
      if (extra) throw new Error(`${where}: "${field}" has the member "${extra.slice(0, 40)}"; a retired key keeps only kty, crv and x`);
      let x: Uint8Array | null = null;
      try {
        x = typeof value.x === 'string' && /^[A-Za-z0-9_-]+$/.test(value.x) ? fromBase64url(value.x) : null;
      } catch {
        x = null;
      }
      if (value.kty !== 'OKP' || value.crv !== 'Ed25519' || x?.length !== 32)
        throw new Error(`${where}: "${field}" must be an Ed25519 public key ({"kty":"OKP","crv":"Ed25519","x":"<32 bytes, base64url>"})`);
      publicKeys[field as RetiredPublicPurpose] = { kty: 'OKP', crv: 'Ed25519', x: value.x as string };
    }
    const at = entry.retired_at;
    if (typeof at !== 'string' || !Number.isFinite(Date.parse(at))) throw new Error(`${where}: "retired_at" must be a date (ISO 8601)`);
    if (Object.keys(publicKeys).length === 0)
      throw new Error(`${where}: no public key; retire it with \`stepgate keys retire\`, or remove the entry`);
    out[kid] = { retiredAt: at, publicKeys };
  }
  return out;
}

/** A new random 32-byte master key, base64, for `stepgate keys generate`. */
export const newMasterKey = (): string => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));

/** A short, non-secret fingerprint of a derived key, for logs and key-rotation reports. */
export async function fingerprint(ring: Keyring, purpose: KeyPurpose, kid?: string): Promise<string> {
  const b = await ring.bytes(purpose, kid);
  return base64url(await crypto.subtle.digest('SHA-256', b)).slice(0, 12);
}
