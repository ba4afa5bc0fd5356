/**
 * @module Held requests: the exact original request of a browser navigation that needed a
 * step-up, sealed (AES-GCM, bound to its challenge) and kept by the user's Durable Object, so
 * that after approval Stepgate forwards exactly that request, once — the client cannot change it.
 */
import { base64url, fromBase64url } from '../crypto/base64';
import { openBytes, seal } from '../crypto/aead';
import type { Keyring } from '../crypto/keyring';
import { heldRequestAad } from '../crypto/encryption-context';

/** A held request taken after its approval (continueHeld): it goes through the decision in place of the request that continued it. */
/** Headers taken from the request that carries a held one out, when it has them. */
const CURRENT = [
  'cookie',
  'authorization',
  'cf-access-jwt-assertion',
  'cf-connecting-ip',
  'true-client-ip',
  'x-forwarded-for',
  'x-real-ip',
];

export interface HeldRequest {
  challenge: string;
  request: Request;
  /** Its body, exactly as it was sealed: forward these bytes. */
  body: Uint8Array<ArrayBuffer>;
  /** The dual-control request it is, when carried out from the approval page (carryOutApproval). */
  approval?: string;
}

interface HeldWire {
  method: string;
  url: string;
  headers: [string, string][];
  body: string;
}

/**
 * Headers that come from the continuing request instead: the session as it is now, and who the client
 * is now (an identity assertion such as Cloudflare Access's is a credential that expires, and the
 * client's address is the one carrying the request out).
 */
const FRESH = new Set([
  'cookie',
  'authorization',
  ...CURRENT,
  'origin',
  'referer',
  'sec-fetch-site',
  'sec-fetch-mode',
  'sec-fetch-dest',
  'sec-fetch-user',
  'content-length',
  'host',
]);

export async function sealHeld(
  ring: Keyring,
  challenge: string,
  url: string,
  method: string,
  headers: Headers,
  body: Uint8Array<ArrayBuffer> | null,
): Promise<string> {
  return sealRequest(ring, heldRequestAad(challenge), url, method, headers, body);
}

/** Seal an exact request (its session headers left out) under `aad`: a held navigation, or a request waiting for approvers. */
export async function sealRequest(
  ring: Keyring,
  aad: string,
  url: string,
  method: string,
  headers: Headers,
  body: Uint8Array<ArrayBuffer> | null,
): Promise<string> {
  const kept: [string, string][] = [];
  for (const [k, v] of headers) if (!FRESH.has(k)) kept.push([k, v]);
  const wire: HeldWire = { method, url, headers: kept, body: body ? base64url(body) : '' };
  return seal(ring, 'held-request', JSON.stringify(wire), aad);
}

/** The held request, re-assembled with the continuing request's session headers. @throws {Error} if it does not open */
export async function openHeld(ring: Keyring, challenge: string, sealed: string, current: Headers): Promise<HeldRequest> {
  return { challenge, ...(await openRequest(ring, heldRequestAad(challenge), sealed, current)) };
}

/** A request sealed by `sealRequest`, re-assembled with the current request's session headers. @throws {Error} if it does not open */
export async function openRequest(
  ring: Keyring,
  aad: string,
  sealed: string,
  current: Headers,
): Promise<{ request: Request; body: Uint8Array<ArrayBuffer> }> {
  const wire = JSON.parse(new TextDecoder().decode(await openBytes(ring, 'held-request', sealed, aad))) as HeldWire;
  const headers = new Headers(wire.headers);
  for (const name of CURRENT) {
    const v = current.get(name);
    if (v !== null) headers.set(name, v);
  }
  const body = wire.body ? fromBase64url(wire.body) : new Uint8Array(0);
  const hasBody = wire.method !== 'GET' && wire.method !== 'HEAD';
  return { request: new Request(wire.url, { method: wire.method, headers, body: hasBody ? body : null }), body };
}
