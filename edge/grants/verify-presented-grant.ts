/**
 * @module verifyPresentedGrant: the one check of a session grant a request carries (cookie or
 * `Stepgate-Grant` header), for the request path and for Stepgate's own sensitive endpoints alike.
 */
import type { Keyring } from '../crypto/keyring';
import { presentedGrant } from './grant-cookie';
import { type GrantClaims, verifyGrant } from './grant-token';

export interface PresentedGrantExpectation {
  rule: string;
  sub: string;
  /** The session-id hash the grant must be bound to. */
  sid: string;
  /** The host name the grant was minted for (its `aud`). */
  hostname: string;
  /** Whether the request came over https (which cookie name the grant is under). */
  secure: boolean;
  /** Now, in seconds. */
  now: number;
}

/** The grant `req` presents for `want.rule`, verified for this person, session, host and rule; null when absent or invalid. */
export async function verifyPresentedGrant(ring: Keyring, req: Request, want: PresentedGrantExpectation): Promise<GrantClaims | null> {
  const token = presentedGrant(req, want.rule, want.secure);
  if (token === null) return null;
  return verifyGrant(ring, token, { sub: want.sub, sid: want.sid, aud: want.hostname, rule: want.rule, now: want.now });
}
