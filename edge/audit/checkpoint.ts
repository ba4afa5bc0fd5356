/**
 * @module Signed checkpoints of the audit chain: a compact JWS (EdDSA, keyring purpose
 * `audit-checkpoint`) over a tenant's head — sequence and hash — at a moment. They are what make an
 * exported chain trustworthy without secrets, and they catch a tail cut off the chain. Public keys
 * are served at /.well-known/stepgate/audit-jwks.json, those of retired key ids too (verify-only),
 * so every export ever taken verifies against the live key set.
 */
import { CompactSign, compactVerify, importJWK, type JWK } from 'jose';
import { fromBase64url } from '../crypto/base64';
import type { Keyring } from '../crypto/keyring';
import { publicJwks, signingKey } from '../crypto/signing-key';
import { canonicalJson } from './canonical-json';

export const CHECKPOINT_TYP = 'stepgate-audit-checkpoint+jws';
const KID_PREFIX = 'sg-audit-';

/** Why a checkpoint was made. `retention`: the chain before it was pruned; verification starts from it. */
export type CheckpointKind = 'periodic' | 'count' | 'retention';

export interface Checkpoint {
  tenant: string;
  seq: number;
  hash: string;
  /** UTC, ISO 8601. */
  time: string;
  kind: CheckpointKind;
}

const key = (ring: Keyring, kid: string) => signingKey(ring, 'audit-checkpoint', kid, KID_PREFIX);

/** Sign a checkpoint with the primary key. */
export async function signCheckpoint(ring: Keyring, cp: Checkpoint): Promise<string> {
  const { privateKey, jwk } = await key(ring, ring.primary);
  return new CompactSign(new TextEncoder().encode(canonicalJson(cp)))
    .setProtectedHeader({ alg: 'EdDSA', kid: jwk.kid!, typ: CHECKPOINT_TYP })
    .sign(privateKey);
}

/**
 * The public keys that verify checkpoints, one per key id in the ring; with `retired`, also those of
 * retired key ids (what the edge publishes, for exports signed before a retirement). The edge's own
 * checks of D1 use the live keys only: re-encryption re-signs every stored checkpoint before its key
 * id can be retired.
 */
export async function checkpointJwks(ring: Keyring, opts: { retired?: boolean } = {}): Promise<{ keys: JWK[] }> {
  return publicJwks(ring, 'audit-checkpoint', KID_PREFIX, opts);
}

/**
 * Verify a checkpoint JWS against a JWKS; returns its payload.
 *
 * @throws {Error} when the signature, key id, type or payload is not right
 */
export async function verifyCheckpoint(jws: string, jwks: { keys: JWK[] }): Promise<Checkpoint> {
  const header = JSON.parse(new TextDecoder().decode(fromBase64url(jws.split('.')[0] ?? ''))) as {
    kid?: string;
    alg?: string;
    typ?: string;
  };
  if (header.alg !== 'EdDSA' || header.typ !== CHECKPOINT_TYP) throw new Error('checkpoint: wrong algorithm or type');
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new Error(`checkpoint: key ${String(header.kid)} is not in the key set`);
  const { payload } = await compactVerify(jws, await importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA'), { algorithms: ['EdDSA'] });
  const cp = JSON.parse(new TextDecoder().decode(payload)) as Checkpoint;
  if (typeof cp.tenant !== 'string' || !Number.isSafeInteger(cp.seq) || typeof cp.hash !== 'string')
    throw new Error('checkpoint: malformed payload');
  return cp;
}
