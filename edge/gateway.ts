/** @module createGateway: the deployable gateway — the stepgate() middleware plus the proxy handler — and its cron upkeep. */
import { Hono } from 'hono';
import type { MaintenanceReport } from './audit/maintenance';
import policy from './config/policy.json';
import { refuseDevelopmentSettings } from './deployment/build-runtime';
import type { Env } from './env';
import { misconfigured } from './http/responses';
import { pageScriptsFromAssets } from './pages/page-scripts';
import { stepgate } from './middleware';
import { forward } from './request-path/forward';
import type { StepgateContext } from './request-path/stepgate-context';
import { stepgateScheduled } from './scheduled';

const POLICY_FILE = 'edge/config/policy.json';

export interface GatewayOptions {
  /** Clock (ms), for tests: grants, challenges and the app registry's refresh. */
  now?: () => number;
}

/**
 * Build the gateway for an environment.
 *
 * @throws {PolicyError|Error} when the bundled policy or the IDENTITY / ORIGIN_URL configuration is
 *   invalid, or when a production gateway (ENVIRONMENT other than "development") has development
 *   settings (edge/config/production-checks.ts)
 */
export function createGateway(
  env: Env,
  bundledPolicy: unknown = policy,
  options: GatewayOptions = {},
): Hono<{ Bindings: Env; Variables: { stepgate: StepgateContext } }> {
  refuseDevelopmentSettings(env);
  const app = new Hono<{ Bindings: Env; Variables: { stepgate: StepgateContext } }>();
  // The bundled app (policy.json, IDENTITY, ORIGIN_URL) and the apps in D1, by host (edge/apps).
  // The pages' scripts are the Worker's static assets (wrangler.toml's [assets]), not in its script.
  app.use(
    stepgate({
      policy: bundledPolicy,
      policyFile: POLICY_FILE,
      identity: env.IDENTITY,
      apps: true,
      now: options.now,
      pageScripts: pageScriptsFromAssets(),
    }),
  );
  app.all('*', forward({ originUrl: env.ORIGIN_URL || undefined, timeoutSeconds: Number(env.ORIGIN_TIMEOUT_SECONDS) || undefined }));
  return app;
}

/** What answers a request: the gateway, or one that answers 503 and forwards nothing when it cannot be built. */
export interface LoadedGateway {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response>;
}

/**
 * The gateway for an environment, failing closed: when `createGateway` refuses (a bad policy,
 * identity or origin, or development settings in production), every request gets 503
 * `ERR_GATEWAY_MISCONFIGURED` and the reason is logged as one line.
 */
export function loadGateway(env: Env, bundledPolicy: unknown = policy): LoadedGateway {
  try {
    return createGateway(env, bundledPolicy);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return {
      fetch() {
        console.error('stepgate: configuration error:', reason);
        return misconfigured();
      },
    };
  }
}

/** The cron trigger's work: checkpoint, re-encrypt a batch under the primary key, apply retention. */
export function scheduledMaintenance(env: Env, bundledPolicy: unknown = policy): Promise<MaintenanceReport> {
  return stepgateScheduled(env, { policy: bundledPolicy, policyFile: POLICY_FILE });
}
