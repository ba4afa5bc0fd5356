/**
 * @module The resume cursor of the audit stream: where a reader's feed stands (a sequence), bound
 * by a MAC to the tenant and organisation it was made for. A client can keep it and hand it back,
 * but cannot edit it to skip ahead, rewind into another organisation's feed or forge one: any
 * change fails the MAC. The MAC is a blind index (keyed HMAC, domain `audit-cursor`) under a key id
 * in the ring; a cursor made under a key id later retired no longer verifies (the feed restarts).
 */
import { base64url, fromBase64url } from '../crypto/base64';
import { blindIndex } from '../crypto/blind-index';
import type { Keyring } from '../crypto/keyring';

export interface StreamPosition {
  tenant: string;
  org: string;
  /** The last sequence the feed has looked at; the next pull starts after it. */
  seq: number;
}

const PREFIX = 'sgc1';

/** The cursor of a position: `sgc1.<payload>.<kid>.<mac>`. */
export async function encodeStreamCursor(ring: Keyring, p: StreamPosition): Promise<string> {
  const payload = base64url(new TextEncoder().encode(JSON.stringify({ t: p.tenant, o: p.org, s: p.seq })));
  return `${PREFIX}.${payload}.${await blindIndex(ring, 'audit-cursor', payload)}`;
}

/** The position a cursor names, or null when it is not one this deployment made (malformed, edited, unknown key). */
export async function decodeStreamCursor(ring: Keyring, cursor: string): Promise<StreamPosition | null> {
  if (cursor.length > 512) return null;
  const parts = cursor.split('.');
  if (parts.length !== 4 || parts[0] !== PREFIX) return null;
  const [, payload, kid, mac] = parts as [string, string, string, string];
  if (!ring.kids.includes(kid)) return null;
  const expected = await blindIndex(ring, 'audit-cursor', payload, kid);
  if (!timingSafeEqual(expected, `${kid}.${mac}`)) return null;
  try {
    const v = JSON.parse(new TextDecoder().decode(fromBase64url(payload))) as { t?: unknown; o?: unknown; s?: unknown };
    if (typeof v.t !== 'string' || typeof v.o !== 'string' || !Number.isSafeInteger(v.s) || (v.s as number) < 0) return null;
    return { tenant: v.t, org: v.o, seq: v.s as number };
  } catch {
    return null;
  }
}

function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}
