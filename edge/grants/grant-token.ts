/**
 * @module Grant tokens: proof that a person stepped up for a rule, MAC'd with the keyring's
 * grant key. A token is bound to user, app session, app (host) and rule; it never crosses them.
 */
import { base64url, fromBase64url } from '../crypto/base64';
import type { Keyring } from '../crypto/keyring';

export interface GrantClaims {
  /** User id. */
  sub: string;
  /** Session-id hash of the app session it was issued in. */
  sid: string;
  /** App: the canonical host name it is valid for. */
  aud: string;
  /** Rule id. */
  rule: string;
  /** Authentication methods used (RFC 8176 values: "hwk"/"user" for passkeys, "otp", "rec"). */
  amr: string[];
  /** When the step-up happened (seconds). */
  auth_time: number;
  /** Expiry (seconds). */
  exp: number;
  /** Token id. */
  jti: string;
}

const enc = new TextEncoder();
const PREFIX = 'sg1';

/** Mint a grant token under the primary key. */
export async function mintGrant(ring: Keyring, claims: GrantClaims): Promise<string> {
  const payload = base64url(enc.encode(JSON.stringify(claims)));
  const mac = await crypto.subtle.sign('HMAC', await ring.hmac('grant-mac'), enc.encode(`${PREFIX}.${ring.primary}.${payload}`));
  return `${PREFIX}.${ring.primary}.${payload}.${base64url(mac)}`;
}

/** What a presented grant must match to be honoured. */
export interface GrantExpectation {
  sub: string;
  sid: string;
  aud: string;
  rule: string;
  /** Now, seconds. */
  now: number;
}

/**
 * Verify a presented grant. Returns its claims, or null for anything else: wrong MAC, unknown
 * key, expired, or issued for another user, session, app or rule.
 */
export async function verifyGrant(ring: Keyring, token: string, want: GrantExpectation): Promise<GrantClaims | null> {
  if (token.length > 2048) return null;
  const parts = token.split('.');
  if (parts.length !== 4 || parts[0] !== PREFIX) return null;
  const [, kid, payload, mac] = parts as [string, string, string, string];
  if (!ring.kids.includes(kid)) return null;
  let claims: GrantClaims;
  try {
    // Why: verify (constant time) before parsing anything the client wrote.
    const ok = await crypto.subtle.verify(
      'HMAC',
      await ring.hmac('grant-mac', kid),
      fromBase64url(mac),
      enc.encode(`${PREFIX}.${kid}.${payload}`),
    );
    if (!ok) return null;
    claims = JSON.parse(new TextDecoder().decode(fromBase64url(payload))) as GrantClaims;
  } catch {
    return null;
  }
  if (typeof claims.exp !== 'number' || claims.exp <= want.now) return null;
  if (claims.sub !== want.sub || claims.sid !== want.sid || claims.aud !== want.aud || claims.rule !== want.rule) return null;
  return claims;
}
