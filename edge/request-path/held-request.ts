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
export interface HeldRequest {
  challenge: string;
  request: Request;
  /** Its body, exactly as it was sealed: forward these bytes. */
  body: Uint8Array<ArrayBuffer>;
}

interface HeldWire {
  method: string;
  url: string;
  headers: [string, string][];
  body: string;
}

/** Headers that come from the continuing request instead (the session as it is now). */
const FRESH = new Set([
  'cookie',
  'authorization',
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
  const kept: [string, string][] = [];
  for (const [k, v] of headers) if (!FRESH.has(k)) kept.push([k, v]);
  const wire: HeldWire = { method, url, headers: kept, body: body ? base64url(body) : '' };
  return seal(ring, 'held-request', JSON.stringify(wire), heldRequestAad(challenge));
}

/** The held request, re-assembled with the continuing request's session headers. @throws {Error} if it does not open */
export async function openHeld(ring: Keyring, challenge: string, sealed: string, current: Headers): Promise<HeldRequest> {
  const wire = JSON.parse(new TextDecoder().decode(await openBytes(ring, 'held-request', sealed, heldRequestAad(challenge)))) as HeldWire;
  const headers = new Headers(wire.headers);
  for (const name of ['cookie', 'authorization']) {
    const v = current.get(name);
    if (v !== null) headers.set(name, v);
  }
  const body = wire.body ? fromBase64url(wire.body) : new Uint8Array(0);
  const hasBody = wire.method !== 'GET' && wire.method !== 'HEAD';
  return { challenge, request: new Request(wire.url, { method: wire.method, headers, body: hasBody ? body : null }), body };
}
