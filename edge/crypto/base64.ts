/** @module base64url and SHA-256 helpers, for digests, ids and sealed values. */

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
