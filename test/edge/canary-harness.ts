/**
 * @module A gateway with a policy canary, for the canary tests: the real request path
 * (decideRequest) over a real Runtime (D1, Durable Objects, the demo identity), with
 * `rt.app.canary` set directly instead of through the app registry. What follows Stepgate is a
 * handler that answers which rule (if any) let the request through, and whether its body was read.
 * It counts identity look-ups and keeps the audit events written, so a test can see the work done.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { Hono } from 'hono';
import { canonicalizeOptionsOf } from '../../edge/apps/app-definition';
import type { AuditInput } from '../../edge/audit/events';
import { buildRuntime, type DeploymentEnv } from '../../edge/deployment/build-runtime';
import type { Runtime } from '../../edge/deployment/runtime';
import { IdentityConfig } from '../../edge/identity/identity-config';
import { canonicalizeRequest } from '../../edge/policy/canonical-request';
import { compilePolicy } from '../../edge/policy/compile-policy';
import { validatePolicy } from '../../edge/policy/validate-policy';
import { decideRequest } from '../../edge/request-path/decide-request';
import type { StepgateContext } from '../../edge/request-path/stepgate-context';

export interface CanaryGateway {
  send(path: string, init?: RequestInit): Promise<Response>;
  /** How many times the request path asked who is calling. */
  identifyCalls: number;
  /** Audit events written (now or after the answer). */
  events: AuditInput[];
}

/** What the handler after Stepgate answers for a request that went on. */
export interface PassedThrough {
  passed: true;
  rule: string | null;
  /** Whether Stepgate read the body (to find `_method` claims) before letting the request go on. */
  bodyRead: boolean;
  body: string;
}

/** A gateway for app `appId` whose active policy is `active`, with `base` (the version before) for the people outside `percent`. */
export function canaryGateway(o: { appId: string; active: unknown; base: unknown; percent: number }): CanaryGateway {
  const active = compilePolicy(validatePolicy(o.active, 'active.json'));
  const base = compilePolicy(validatePolicy(o.base, 'base.json'));
  const identitySetting = JSON.parse(JSON.stringify(env.IDENTITY)) as unknown;
  const shared = buildRuntime(env as unknown as DeploymentEnv, {
    policy: active,
    identityConfig: IdentityConfig.parse(identitySetting),
    identitySetting,
  });
  const g: CanaryGateway = { send: async () => new Response(null), identifyCalls: 0, events: [] };
  const identify = Object.assign(
    (r: Request) => {
      g.identifyCalls++;
      return shared.identify(r);
    },
    { ambiguity: shared.identify.ambiguity },
  );
  const audit = {
    tenant: shared.audit.tenant,
    record: (...e: AuditInput[]) => {
      g.events.push(...e);
      return shared.audit.record(...e);
    },
    later: (ctx: Parameters<Runtime['audit']['later']>[0], ...e: AuditInput[]) => {
      g.events.push(...e);
      shared.audit.later(ctx, ...e);
    },
  };
  const rt: Runtime = { ...shared, app: { ...shared.app, id: o.appId, canary: { base, percent: o.percent } }, identify, audit };
  const app = new Hono<{ Variables: { stepgate: StepgateContext } }>();
  app.use((c, next) =>
    decideRequest(c, next, rt, canonicalizeRequest(c.req.method, c.req.url, c.req.raw.headers, canonicalizeOptionsOf(active)), null),
  );
  app.all('*', async (c) => {
    const s = c.var.stepgate;
    const passed: PassedThrough = {
      passed: true,
      rule: s.match?.rule.id ?? null,
      bodyRead: s.body !== null,
      body: new TextDecoder().decode(await c.req.raw.arrayBuffer()),
    };
    return c.json(passed);
  });
  g.send = async (path, init = {}) => {
    const ctx = createExecutionContext();
    const res = await app.fetch(new Request(`http://app.test${path}`, init), env, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  };
  return g;
}
