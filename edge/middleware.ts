/**
 * @module stepgate(): the middleware that puts Stepgate together. It canonicalizes every request,
 * refuses an ambiguous identity, then hands it to one of three: Stepgate's own endpoints
 * (edge/endpoints), the continuation of a held request, or the request path (edge/request-path).
 * The gateway is this middleware plus forward(); an existing Hono Worker can `app.use(stepgate(...))`.
 */
import type { Hono, MiddlewareHandler } from 'hono';
import { ErrorCode } from '../shared/errors';
import { auditRequest, auditRequestOnStepgatePath } from './audit/audit-log';
import { buildRuntime, type DeploymentEnv } from './deployment/build-runtime';
import type { Runtime } from './deployment/runtime';
import { createEndpointsApp, isStepgatePath } from './endpoints/endpoints-app';
import { errorResponse, misconfigured, problem } from './http/responses';
import { IdentityConfig } from './identity/identity-config';
import { identityRefusal } from './identity/identity-refusal';
import { canonicalizeRequest, canonicalUrl, type CanonicalRequest } from './policy/canonical-request';
import { compilePolicy } from './policy/compile-policy';
import { validatePolicy } from './policy/validate-policy';
import { continueHeld, heldChallengeOf } from './request-path/continue-held';
import { decideRequest } from './request-path/decide-request';
import { anonymousDeniedEvent } from './request-path/denial-events';
import { executionContextOf } from './request-path/hono-context';
import type { StepgateContext } from './request-path/stepgate-context';

export interface StepgateOptions {
  /** The policy document (validated here; a bad policy throws at startup, never per request). */
  policy: unknown;
  /** Name of the policy file, for error messages. */
  policyFile?: string;
  /** Identity configuration (see `IdentityConfig`). */
  identity: unknown;
  /** Name of the UserState Durable Object binding. Default `USER_STATE`. */
  userStateBinding?: string;
  /** Name of the D1 binding. Default `DB`. */
  dbBinding?: string;
  /** Name of the AuditSequencer Durable Object binding. Default `AUDIT_SEQUENCER`. */
  auditBinding?: string;
  /** Clock (ms), for tests. */
  now?: () => number;
}

/** An environment's Runtime and Stepgate's endpoints built on it. */
interface Deployment {
  rt: Runtime;
  endpoints: Hono;
}

/**
 * Create the middleware.
 *
 * @throws {PolicyError} when the policy is invalid
 * @throws {Error} when the identity configuration is invalid
 */
export const stepgate = (
  options: StepgateOptions,
): MiddlewareHandler<{ Bindings: DeploymentEnv; Variables: { stepgate: StepgateContext } }> => {
  const policy = compilePolicy(validatePolicy(options.policy, options.policyFile));
  const identityConfig = IdentityConfig.parse(options.identity);
  const canonicalizeOptions = { caseSensitive: policy.caseSensitive, allowPathInfo: policy.policy.allowPathInfo ?? false };

  // One runtime per env object (per isolate in practice). Secrets are only visible per request.
  const deployments = new WeakMap<object, Deployment>();
  const deploymentFor = (env: DeploymentEnv): Deployment => {
    let d = deployments.get(env);
    if (!d) {
      const rt = buildRuntime(env, {
        policy,
        identityConfig,
        identitySetting: options.identity,
        userStateBinding: options.userStateBinding,
        dbBinding: options.dbBinding,
        auditBinding: options.auditBinding,
        now: options.now,
      });
      d = { rt, endpoints: createEndpointsApp(rt) };
      deployments.set(env, d);
    }
    return d;
  };

  return async function stepgateMiddleware(c, next) {
    let canonical: CanonicalRequest;
    try {
      canonical = canonicalizeRequest(c.req.method, c.req.url, c.req.raw.headers, canonicalizeOptions);
    } catch (err) {
      return errorResponse(err);
    }
    if (!policy.servesHost(canonical.hostname)) {
      return problem(ErrorCode.AmbiguousRequest, 421, 'This gateway does not serve that host.');
    }

    let deployment: Deployment;
    try {
      deployment = deploymentFor(c.env ?? {});
    } catch (err) {
      console.error('stepgate: configuration error:', err instanceof Error ? err.message : err);
      return misconfigured();
    }
    const { rt } = deployment;
    // Before anything else: a request whose session another parser would read as someone else's
    // is refused, so Stepgate and the origin can never disagree about who is asking.
    const ambiguity = rt.identify.ambiguity(c.req.raw.headers);
    if (ambiguity !== null) return refuseAmbiguousIdentity(c, rt, canonical, ambiguity);

    if (isStepgatePath(canonical.matchSegments)) {
      const challenge = heldChallengeOf(canonical);
      if (challenge === null) return deployment.endpoints.fetch(new Request(canonicalUrl(canonical), c.req.raw), c.env, c.executionCtx);
      return continueHeld(c, next, rt, canonical, challenge, canonicalizeOptions);
    }
    return decideRequest(c, next, rt, canonical, null);
  };
};

/** 400 for a request whose identity can be read two ways, recorded like other anonymous denials. */
async function refuseAmbiguousIdentity(
  c: { req: { raw: Request }; executionCtx: unknown },
  rt: Runtime,
  canonical: CanonicalRequest,
  ambiguity: string,
): Promise<Response> {
  // Recorded like other anonymous denials: after the answer, folded per network in a flood.
  // On Stepgate's own paths, ids (challenges, tokens) are handles, never logged: the route is.
  const onStepgatePath = isStepgatePath(canonical.matchSegments);
  const request = await (onStepgatePath ? auditRequestOnStepgatePath(c.req.raw, canonical) : auditRequest(c.req.raw, canonical));
  rt.audit.later(executionContextOf(c), anonymousDeniedEvent({ app: canonical.hostname, request }, 'identity-ambiguous'));
  return errorResponse(identityRefusal('ambiguous', ambiguity));
}
