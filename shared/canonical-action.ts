/** @module The canonical action format: what exactly a person approves, and its digest. */

/** One request, in the canonical form the edge matched and forwards. */
export interface CanonicalAction {
  /** Upper-case HTTP method, after HEAD→GET is *not* applied (the real method is approved). */
  method: string;
  /** Lower-case host without a trailing dot; includes a non-default port. */
  host: string;
  /** Canonical, percent-encoded path, exactly as forwarded to the origin. */
  path: string;
  /** Raw query string without the leading `?`, exactly as forwarded ("" when none). */
  query: string;
  /** base64url SHA-256 of the exact body bytes forwarded ("" body hashes too). */
  bodySha256: string;
}

const VERSION = 'stepgate-action-v1';

/**
 * The bytes that are hashed for an action digest. Newline-separated; none of the fields can
 * contain a newline (canonicalization rejects control characters), so the encoding is injective.
 */
export const serializeAction = (a: CanonicalAction): string => [VERSION, a.method, a.host, a.path, a.query, a.bodySha256].join('\n');

/** base64url without padding, for digests and ids. */
export const base64url = (bytes: ArrayBuffer | Uint8Array): string => {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = '';
  for (let i = 0; i < u8.length; i++) s += String.fromCharCode(u8[i]!);
  return btoa(s).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
};

/**
 * Decode base64 or base64url (padding optional).
 *
 * @throws {DOMException} when the input is not base64
 */
export const fromBase64url = (s: string): Uint8Array<ArrayBuffer> => {
  const bin = atob(s.replaceAll('-', '+').replaceAll('_', '/'));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
};

/** SHA-256 of bytes or a UTF-8 string, base64url. */
export const sha256b64u = async (data: ArrayBuffer | Uint8Array<ArrayBuffer> | string): Promise<string> => {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return base64url(await crypto.subtle.digest('SHA-256', bytes));
};

/**
 * The action digest an approval with `bind: "action"` covers (`act`): the exact request, the rule
 * that matched it and the method it matched as — so an approval of `POST /x` can never pass the
 * same bytes sent with `X-HTTP-Method-Override: DELETE`, which another rule protects.
 */
export const actionDigest = (a: CanonicalAction, rule: string, matchedMethod: string): Promise<string> =>
  sha256b64u(`${serializeAction(a)}\n${rule}\n${matchedMethod}`);
