/**
 * @module stepgate(): the middleware that puts Stepgate together. It canonicalizes every request,
 * refuses an ambiguous identity, then hands it to one of three: Stepgate's own endpoints
 * (edge/endpoints), the continuation of a held request, or the request path (edge/request-path).
 * The gateway is this middleware plus forward(); an existing Hono Worker can `app.use(stepgate(...))`.
 */
import type { Hono, MiddlewareHandler } from 'hono';
import { ErrorCode } from '../shared/errors';
import { auditRequest, auditRequestOnStepgatePath } from './audit/audit-log';
import { type AppDefinition, bundledApp, sameCanonicalization } from './apps/app-definition';
import { loadAppRecords } from './apps/app-records';
import { AppRegistry, UNAVAILABLE } from './apps/app-registry';
import { listSetting } from './config/list-settings';
import { buildAppRuntime, buildRuntime, type DeploymentEnv } from './deployment/build-runtime';
import type { Runtime } from './deployment/runtime';
import { createEndpointsApp, isStepgatePath } from './endpoints/endpoints-app';
import type { PageScripts } from './pages/page-scripts';
import { errorResponse, misconfigured, problem } from './http/responses';
import { IdentityConfig } from './identity/identity-config';
import { identityRefusal } from './identity/identity-refusal';
import { canonicalizeRequest, canonicalUrl, type CanonicalRequest } from './policy/canonical-request';
import { compilePolicy } from './policy/compile-policy';
import { validatePolicy } from './policy/validate-policy';
import { approvalCarryOutOf, approvalPagePath, carryOutApproval, carryOutInLibraryMode } from './request-path/carry-out-approval';
import { continueHeld, heldChallengeOf } from './request-path/continue-held';
import { decideRequest } from './request-path/decide-request';
import { anonymousDeniedEvent } from './request-path/denial-events';
import { executionContextOf } from './request-path/hono-context';
import { forNavigation, returnParamOf, wayBackOf } from './request-path/navigation';
import type { StepgateContext } from './request-path/stepgate-context';

export interface StepgateOptions {
  /** The policy document (validated here; a bad policy throws at startup, never per request). */
  policy: unknown;
  /** Name of the policy file, for error messages. */
  policyFile?: string;
  /** Identity configuration (see `IdentityConfig`). */
  identity: unknown;
  /**
   * Serve the apps in D1 too (edge/apps): each host decides its app — its policy, identity source
   * and origin — and the policy and identity above are the bundled app's (org "default"). The
   * gateway sets it. Default false: one app, the one given here.
   */
  apps?: boolean;
  /** Name of the UserState Durable Object binding. Default `USER_STATE`. */
  userStateBinding?: string;
  /** Name of the D1 binding. Default `DB`. */
  dbBinding?: string;
  /** Name of the AuditSequencer Durable Object binding. Default `AUDIT_SEQUENCER`. */
  auditBinding?: string;
  /** Clock (ms), for tests. */
  now?: () => number;
  /**
   * Where the scripts of Stepgate's pages come from: the gateway's Workers static assets
   * (`pageScriptsFromAssets`); library mode's `stepgate` embeds them. None: the pages cannot run their scripts.
   */
  pageScripts?: PageScripts;
}

/** An app's Runtime and Stepgate's endpoints built on it. */
interface Deployment {
  rt: Runtime;
  endpoints: Hono;
}

/** One environment (per isolate in practice): the deployment's shared Runtime, and with `apps`, the registry and each app's Deployment. */
interface Environment {
  /** The deployment's Runtime under every app's: D1, keys, audit log, UserState. */
  shared: Runtime;
  /** The bundled app as policy.json defines it. */
  bundled: Deployment;
  registry: AppRegistry | null;
  /** An app's Deployment, or why it cannot run here (logged once); by definition, so a changed app is built anew. */
  apps: WeakMap<AppDefinition, Deployment | Error>;
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
  const bundled = bundledApp(policy, identityConfig, options.identity);
  const canonicalizeOptions = bundled.canonicalize;

  // One runtime per env object (per isolate in practice). Secrets are only visible per request.
  const environments = new WeakMap<object, Environment>();
  const environmentFor = (env: DeploymentEnv): Environment => {
    let e = environments.get(env);
    if (!e) {
      const rt = buildRuntime(env, {
        policy,
        identityConfig,
        identitySetting: options.identity,
        userStateBinding: options.userStateBinding,
        dbBinding: options.dbBinding,
        auditBinding: options.auditBinding,
        now: options.now,
      });
      const registry = options.apps
        ? new AppRegistry({
            bundled,
            bundledPolicyJson: JSON.stringify(policy.policy),
            load: () => loadAppRecords(rt.db),
            now: rt.now,
            bundledHosts: listSetting(env, 'BUNDLED_APP_HOSTS'),
          })
        : null;
      // With the registry, even the bundled app's people are checked against the other organisations' keys.
      const bundledRt = registry ? buildAppRuntime(rt, env, bundled) : rt;
      e = {
        shared: rt,
        bundled: { rt: bundledRt, endpoints: createEndpointsApp(bundledRt, options.pageScripts) },
        registry,
        apps: new WeakMap(),
      };
      environments.set(env, e);
    }
    return e;
  };
  /** The Deployment of an app in D1, built on first use; null (logged once) when it cannot run here. */
  const deploymentOf = (e: Environment, app: AppDefinition, env: DeploymentEnv): Deployment | null => {
    // The bundled app as policy.json has it; with a version from D1 (or a baseline) it is built like any app.
    if (app === bundled) return e.bundled;
    let d = e.apps.get(app);
    if (d === undefined) {
      try {
        const rt = buildAppRuntime(app.bundled ? e.shared : e.bundled.rt, env, app);
        d = { rt, endpoints: createEndpointsApp(rt, options.pageScripts) };
      } catch (err) {
        d = err instanceof Error ? err : new Error('non-error');
        console.error(`stepgate: apps: app "${app.id}" is not served (503 for ${app.hosts.join(', ')}): ${d.message}`);
      }
      e.apps.set(app, d);
    }
    return d instanceof Error ? null : d;
  };

  return async function stepgateMiddleware(c, next) {
    let canonical: CanonicalRequest;
    let refused: unknown = null;
    try {
      canonical = canonicalizeRequest(c.req.method, c.req.url, c.req.raw.headers, canonicalizeOptions);
    } catch (err) {
      if (!options.apps) return errorResponse(err);
      // The host's app may accept what the bundled app's canonicalization refuses (PATH_INFO):
      // read the host the same way, then decide with the app's own options below.
      refused = err;
      try {
        canonical = canonicalizeRequest(c.req.method, c.req.url, c.req.raw.headers, { ...canonicalizeOptions, allowPathInfo: true });
      } catch {
        return errorResponse(err);
      }
    }
    if (!options.apps && !policy.servesHost(canonical.hostname)) return notServed();

    let e: Environment;
    try {
      e = environmentFor(c.env ?? {});
    } catch (err) {
      console.error('stepgate: configuration error:', err instanceof Error ? err.message : err);
      return misconfigured();
    }
    let deployment = e.bundled;
    let appCanonicalize = canonicalizeOptions;
    if (e.registry !== null) {
      const found = e.registry.lookup(canonical.hostname, executionContextOf(c));
      const app = found instanceof Promise ? await found : found;
      if (app === null) return refused === null ? notServed() : errorResponse(refused);
      if (app === UNAVAILABLE) return refused === null ? misconfigured() : errorResponse(refused);
      const d = deploymentOf(e, app, c.env ?? {});
      if (d === null) return misconfigured();
      deployment = d;
      appCanonicalize = app.canonicalize;
      if (refused !== null || !sameCanonicalization(appCanonicalize, canonicalizeOptions)) {
        try {
          canonical = canonicalizeRequest(c.req.method, c.req.url, c.req.raw.headers, appCanonicalize);
        } catch (err) {
          return errorResponse(err);
        }
      }
    }
    const { rt } = deployment;
    // Before anything else: a request whose session another parser would read as someone else's
    // is refused, so Stepgate and the origin can never disagree about who is asking.
    const ambiguity = rt.identify.ambiguity(c.req.raw.headers);
    // A browser gets it as a page; its way back is the start page (any page of this site would be refused the same way).
    if (ambiguity !== null) return forNavigation(c.req.raw, refuseAmbiguousIdentity(c, rt, canonical, ambiguity), () => null);

    if (isStepgatePath(canonical.matchSegments)) {
      const challenge = heldChallengeOf(canonical);
      // A navigation (a link, a form) ends on a page or where the app sends it, never on JSON (navigation.ts).
      if (challenge !== null)
        return forNavigation(c.req.raw, continueHeld(c, next, rt, canonical, challenge, appCanonicalize), () => returnParamOf(canonical));
      const approval = approvalCarryOutOf(canonical);
      // In library mode the app's router already chose this request's handler: the held request cannot
      // reach the app's own one, so it is carried out by sending it again (docs/library.md, "Limits").
      if (approval !== null)
        return options.apps
          ? forNavigation(c.req.raw, carryOutApproval(c, next, rt, canonical, approval, appCanonicalize), () => approvalPagePath(approval))
          : carryOutInLibraryMode(approval);
      return deployment.endpoints.fetch(new Request(canonicalUrl(canonical), c.req.raw), c.env, c.executionCtx);
    }
    return forNavigation(c.req.raw, decideRequest(c, next, rt, canonical, null), () => wayBackOf(c.req.raw, canonical));
  };
};

/** 421 for a host no app of this gateway claims. */
const notServed = (): Response => problem(ErrorCode.AmbiguousRequest, 421, 'This gateway does not serve that host.');

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
