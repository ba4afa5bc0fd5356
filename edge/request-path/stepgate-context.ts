/** @module StepgateContext: what the request path decided about one request (`c.var.stepgate`), for the handlers after it. */
import type { IdentityConfig } from '../identity/identity-config';
import type { Identity } from '../identity/identity-source';
import type { CanonicalRequest } from '../policy/canonical-request';
import type { RuleMatch } from '../policy/compile-policy';

export interface StepgateContext {
  canonical: CanonicalRequest;
  /** The matched rule, or null when the request passes through unprotected. */
  match: RuleMatch | null;
  /** Set only for protected requests that passed their step-up. */
  identity: Identity | null;
  /** The body, when Stepgate had to read it; forward these exact bytes. */
  body: Uint8Array<ArrayBuffer> | null;
  /** The request to forward: the incoming one, or the held original carried out after approval. */
  request: Request;
  /** The signed Stepgate-Assertion for a request that passed its step-up. */
  assertion?: string;
  /** Where identities come from: `Cf-Access-*` headers reach the origin only from Cloudflare Access. */
  identitySource: IdentityConfig['source'];
  /**
   * Where forward() sends the request, for an app of the gateway's registry: a bare http(s)
   * origin, or null for the request's own URL. Undefined: forward()'s own `originUrl`.
   */
  originUrl?: string | null | undefined;
}
