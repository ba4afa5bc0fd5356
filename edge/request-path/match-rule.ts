/**
 * @module matchRule(): the policy rule a request matches, by its canonical methods and, for a POST
 * to a path a rule covers, by the methods its body claims (`_method`).
 */
import { addClaim, type CanonicalRequest } from '../policy/canonical-request';
import type { CompiledPolicy, RuleMatch } from '../policy/compile-policy';
import { bodyMethodClaims, checkInspectable } from './method-override';
import { readBounded } from './read-body';

/** The rule a request matches by its method, override headers and query (no body is read), or null. */
export const matchRule = (policy: CompiledPolicy, canonical: CanonicalRequest): RuleMatch | null =>
  policy.match(canonical.hostname, canonical.methods, canonical.matchSegments);

/**
 * Whether the body must be read before the match is final: a POST may be another method at the
 * origin (`_method` in the body). Only when the path is covered by some rule is the body read;
 * unprotected routes keep streaming.
 */
export const bodyMayClaimMethod = (policy: CompiledPolicy, canonical: CanonicalRequest): boolean =>
  canonical.method === 'POST' && policy.pathMayMatch(canonical.hostname, canonical.matchSegments);

export interface BodyMatch {
  /** The request with the body's claimed methods added (`overridden`), or as it was. */
  canonical: CanonicalRequest;
  match: RuleMatch | null;
  /** The body as read: forward these exact bytes. */
  body: Uint8Array<ArrayBuffer>;
}

/**
 * The match again with the methods the body claims. Reads the body (bounded) unless it was read already.
 *
 * @throws {StepgateError} 400 for a body whose meaning depends on the parser, 413 for one too large to inspect
 */
export async function matchWithBodyClaims(
  policy: CompiledPolicy,
  canonical: CanonicalRequest,
  match: RuleMatch | null,
  req: Request,
  body: Uint8Array<ArrayBuffer> | null,
): Promise<BodyMatch> {
  checkInspectable(req.headers);
  const read = body ?? (await readBounded(req, policy.maxInspectBytes));
  const found = await bodyMethodClaims(read, req.headers.get('content-type'));
  if (!found.claims.length && !found.anyMethod) return { canonical, match, body: read };
  const claimed = new Set<string>();
  for (const m of found.claims) addClaim(claimed, m);
  if (found.anyMethod) claimed.add('*');
  const overridden = { ...canonical, methods: [...new Set([...claimed, ...canonical.methods])], overridden: true };
  return { canonical: overridden, match: matchRule(policy, overridden), body: read };
}
