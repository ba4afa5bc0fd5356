/** @module The canonical action format: what exactly a person approves, and its digest. */
import { sha256b64u } from '../crypto/base64';

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

/**
 * The action digest an approval with `bind: "action"` covers (`act`): the exact request, the rule
 * that matched it and the method it matched as — so an approval of `POST /x` can never pass the
 * same bytes sent with `X-HTTP-Method-Override: DELETE`, which another rule protects.
 */
export const actionDigest = (a: CanonicalAction, rule: string, matchedMethod: string): Promise<string> =>
  sha256b64u(`${serializeAction(a)}\n${rule}\n${matchedMethod}`);
