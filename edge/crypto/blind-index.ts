/**
 * @module Blind indexes: a keyed, truncated HMAC of a sensitive value, so D1 can be queried by
 * user without holding the user's name. Each index names its key id, so lookups keep working
 * through key rotation (every kid in the ring is tried).
 */
import { base64url } from './base64';
import type { Keyring } from './keyring';

const enc = new TextEncoder();

/** The blind index of `value` in `domain` (e.g. "user") under one key: `<kid>.<128-bit HMAC>`. */
export async function blindIndex(ring: Keyring, domain: string, value: string, kid = ring.primary): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', await ring.hmac('blind-index', kid), enc.encode(`${domain}\0${value}`));
  return `${kid}.${base64url(mac.slice(0, 16))}`;
}

/** The blind index of `value` under every key in the ring, for lookups. */
export const blindIndexes = (ring: Keyring, domain: string, value: string): Promise<string[]> =>
  Promise.all(ring.kids.map((kid) => blindIndex(ring, domain, value, kid)));
