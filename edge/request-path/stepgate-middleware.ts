/**
 * @module stepgate(): the step-up middleware. Canonicalizes every request, serves the reserved
 * paths, and holds any request a policy rule matches until its step-up is proven. The gateway is
 * this middleware plus a proxy handler; an existing Hono Worker can `app.use(stepgate(...))`.
 */
import type { MiddlewareHandler } from 'hono';
import { actionDigest, type CanonicalAction } from '../policy/canonical-action';
import { base64url, sha256b64u } from '../../shared/base64';
import { ErrorCode } from '../../shared/errors';
import { errorResponse, isNavigation, problem } from '../http/responses';
import { auditRequest, createAuditLog, hashRef, recordRefusal, withoutIds } from '../audit/audit-log';
import type { AuditSequencer } from '../audit/audit-sequencer';
import type { AuditInput } from '../audit/events';
import { canonicalJson } from '../audit/canonical-json';
import { describeProblems, isProduction, productionProblems, type ProductionSettings } from '../config/production-checks';
import { parseKeyring } from '../crypto/keyring';
import { signAssertion } from '../signing/origin-assertion';
import { presentedGrant } from '../grants/grant-cookie';
import { verifyGrant } from '../grants/grant-token';
import { IdentityConfig } from '../identity/identity-config';
import { createIdentitySource, type Identity, type IdentityEnv, type IdentityFailure } from '../identity/identity-source';
import { addClaim, canonicalizeRequest, type CanonicalRequest } from '../policy/canonical-request';
import { compilePolicy, type CompiledPolicy, type RuleMatch } from '../policy/compile-policy';
import { validatePolicy } from '../policy/validate-policy';
import { createEndpointsApp, isStepgatePath } from '../endpoints/endpoints-app';
import { challengeRefused } from '../pages/refusal-responses';
import type { UserState } from '../user-state/user-state';
import { bodyMethodClaims, checkInspectable } from './method-override';
import { readBounded } from './read-body';
import { summarizeBody } from './body-summary';
import type { Runtime } from '../deployment/runtime';
import { openHeld, sealHeld } from './held-request';
import { stepUpRequired } from './step-up-required';

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

/** What the middleware decided, for the handlers after it. */
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
}

interface StepgateEnv extends IdentityEnv {
  STEPGATE_KEYS?: string;
  [binding: string]: unknown;
}

/**
 * Create the middleware.
 *
 * @throws {PolicyError} when the policy is invalid
 * @throws {Error} when the identity configuration is invalid
 */
export const stepgate = (
  options: StepgateOptions,
): MiddlewareHandler<{ Bindings: StepgateEnv; Variables: { stepgate: StepgateContext } }> => {
  const policy = compilePolicy(validatePolicy(options.policy, options.policyFile));
  const identityConfig = IdentityConfig.parse(options.identity);
  const binding = options.userStateBinding ?? 'USER_STATE';
  const dbBinding = options.dbBinding ?? 'DB';
  const auditBinding = options.auditBinding ?? 'AUDIT_SEQUENCER';
  let policyHash: Promise<string> | null = null;
  const getPolicyHash = () => (policyHash ??= policyHashOf(policy));
  const opts = { caseSensitive: policy.caseSensitive, allowPathInfo: policy.policy.allowPathInfo ?? false };

  // One runtime per env object (per isolate in practice). Secrets are only visible per request.
  const runtimes = new WeakMap<object, { rt: Runtime; reserved: ReturnType<typeof createEndpointsApp> }>();
  const runtimeFor = (env: StepgateEnv) => {
    let r = runtimes.get(env);
    if (!r) {
      const ns = env[binding] as DurableObjectNamespace<UserState> | undefined;
      if (!ns) throw new Error(`binding ${binding} (UserState Durable Object) is missing`);
      const db = env[dbBinding] as D1Database | undefined;
      if (!db) throw new Error(`binding ${dbBinding} (D1) is missing`);
      const auditNs = env[auditBinding] as DurableObjectNamespace<AuditSequencer> | undefined;
      if (!auditNs) throw new Error(`binding ${auditBinding} (AuditSequencer Durable Object) is missing`);
      // Library mode too: a production Worker never runs with development-only settings.
      if (isProduction(env)) {
        const problems = productionProblems({ ...(env as ProductionSettings), IDENTITY: options.identity });
        if (problems.length) throw new Error(describeProblems(env, problems));
      }
      const keys = parseKeyring(env.STEPGATE_KEYS);
      const tenant = String(env.TENANT ?? 'default');
      const list = (v: unknown) =>
        String(v ?? '')
          .split(',')
          .map((a) => a.trim())
          .filter(Boolean);
      const rt: Runtime = {
        policy,
        identify: createIdentitySource(identityConfig, env),
        userState: (sub) => ns.get(ns.idFromName(`user:${sub}`)),
        db,
        keys,
        development: env.ENVIRONMENT === 'development',
        loginUrl: identityConfig.loginUrl,
        enrolment: policy.policy.enrolment ?? 'first-use',
        backupChange: env.WEBAUTHN_BACKUP_CHANGE === 'refuse' ? 'refuse' : 'flag',
        admins: list(env.ADMINS),
        auditors: list(env.AUDITORS),
        audit: createAuditLog({
          namespace: auditNs,
          tenant,
          config: async () => ({ policyHash: await getPolicyHash(), primaryKid: keys.primary }),
        }),
        auditSequencer: () => auditNs.get(auditNs.idFromName(`tenant:${tenant}`)),
        auditRetentionDays: Math.max(0, Number.parseInt(String(env.AUDIT_RETENTION_DAYS ?? '0'), 10) || 0),
        webauthnOrigins: list(env.WEBAUTHN_ORIGINS).filter((o) => /^(chrome-extension|moz-extension|https?):\/\/[\w.:-]+$/.test(o)),
        holdMs: Math.min(120, Math.max(1, Number.parseInt(String(env.HOLD_SECONDS ?? '60'), 10) || 60)) * 1000,
        now: options.now ?? Date.now,
      };
      r = { rt, reserved: createEndpointsApp(rt) };
      runtimes.set(env, r);
    }
    return r;
  };

  return async function stepgateMiddleware(c, next) {
    let canonical: CanonicalRequest;
    try {
      canonical = canonicalizeRequest(c.req.method, c.req.url, c.req.raw.headers, opts);
    } catch (err) {
      return errorResponse(err);
    }
    if (!policy.servesHost(canonical.hostname)) {
      return problem(ErrorCode.AmbiguousRequest, 421, 'This gateway does not serve that host.');
    }

    let runtime: Runtime;
    let reserved: ReturnType<typeof createEndpointsApp>;
    try {
      ({ rt: runtime, reserved } = runtimeFor(c.env ?? {}));
    } catch (err) {
      console.error('stepgate: configuration error:', err instanceof Error ? err.message : err);
      return problem(ErrorCode.Misconfigured, 503, 'Stepgate is not configured correctly; nothing is forwarded until it is.');
    }
    // Before anything else: a request whose session another parser would read as someone else's
    // is refused, so Stepgate and the origin can never disagree about who is asking.
    const ambiguity = runtime.identify.ambiguity(c.req.raw.headers);
    if (ambiguity !== null) {
      // Recorded like other anonymous denials: after the answer, folded per network in a flood.
      // On Stepgate's own paths, ids (challenges, tokens) are handles, never logged: the route is.
      const reservedPath = isStepgatePath(canonical.matchSegments);
      const request = await auditRequest(
        c.req.raw,
        reservedPath ? { ...canonical, path: withoutIds(canonical.path), query: '' } : canonical,
      );
      runtime.audit.later(executionContextOf(c), {
        type: 'request.denied',
        outcome: 'denied',
        actor: null,
        via: 'anonymous',
        app: canonical.hostname,
        request,
        reason: 'identity-ambiguous',
      });
      return ambiguousIdentity(ambiguity);
    }
    let req = c.req.raw;
    let held: { challenge: string } | null = null;
    let heldBody: Uint8Array<ArrayBuffer> | null = null;
    if (isStepgatePath(canonical.matchSegments)) {
      const cont = continueOf(canonical);
      if (!cont) {
        const url = `${canonical.protocol}//${canonical.host}${canonical.path}${canonical.query ? `?${canonical.query}` : ''}`;
        return reserved.fetch(new Request(url, req), c.env, c.executionCtx);
      }
      // After approval the page posts here; the held original request then takes the place of
      // this one and goes through the same decision, which now finds the grant or approval.
      try {
        const taken = await takeHeld(runtime, req, canonical, cont);
        if (taken instanceof Response) return taken;
        req = taken.request;
        heldBody = taken.body;
        held = { challenge: cont };
        canonical = canonicalizeRequest(req.method, req.url, req.headers, opts);
      } catch (err) {
        return errorResponse(err);
      }
    }

    try {
      let body: Uint8Array<ArrayBuffer> | null = heldBody;
      let match = policy.match(canonical.hostname, canonical.methods, canonical.matchSegments);
      // A POST may be another method at the origin (`_method` in the body). Only when the path is
      // covered by some rule is the body read; unprotected routes keep streaming.
      if (canonical.method === 'POST' && policy.pathMayMatch(canonical.hostname, canonical.matchSegments)) {
        checkInspectable(req.headers);
        body ??= await readBounded(req, policy.maxInspectBytes);
        const found = await bodyMethodClaims(body, req.headers.get('content-type'));
        if (found.claims.length || found.anyMethod) {
          const claimed = new Set<string>();
          for (const m of found.claims) addClaim(claimed, m);
          if (found.anyMethod) claimed.add('*');
          canonical = { ...canonical, methods: [...new Set([...claimed, ...canonical.methods])], overridden: true };
          match = policy.match(canonical.hostname, canonical.methods, canonical.matchSegments);
        }
      }
      const ctx: StepgateContext = { canonical, match, identity: null, body, request: req, identitySource: identityConfig.source };
      c.set('stepgate', ctx);
      if (!match) {
        handOver(c.req, ctx);
        return next();
      }

      const rule = match.rule;
      const where = { app: canonical.hostname, request: await auditRequest(req, canonical), rule: rule.id };
      const who = await runtime.identify(req);
      if (!who.ok) {
        // Forwards nothing, so it is written after the answer; the sequencer folds such denials per
        // client, so a flood of them is counted, not stored one by one (docs/audit.md).
        runtime.audit.later(executionContextOf(c), {
          type: 'request.denied',
          outcome: 'denied',
          actor: null,
          via: 'anonymous',
          ...where,
          reason: `identity-${who.reason}`,
        });
        return identityRequired(req, canonical, runtime.loginUrl, who.reason);
      }

      const me = who.identity;
      const ec = executionContextOf(c);
      /** Forward, then record what the origin answered (after the response: the action already happened). */
      const forwardAudited = async () => {
        handOver(c.req, ctx);
        await next();
        const status = c.res.status;
        runtime.audit.later(ec, {
          type: 'request.forwarded',
          outcome: status >= 500 ? 'failure' : 'success',
          actor: me.sub,
          via: 'session',
          ...where,
          details: { status },
        });
      };
      /**
       * Let the request through on a step-up: sign the assertion, record `grant.used` — fail
       * closed: nothing is forwarded unless that record is durable — then forward.
       */
      const pass = async (amr: string[], authTime: number, act: string | null, details: Record<string, string | boolean | null>) => {
        ctx.identity = me;
        ctx.assertion = await signAssertion(
          runtime.keys,
          {
            sub: me.sub,
            aud: canonical.hostname,
            rule: rule.id,
            amr,
            auth_time: authTime,
            ...(act ? { act } : {}),
            session_hash: me.sessionHash,
          },
          Math.floor(runtime.now() / 1000),
        );
        await runtime.audit.record({
          type: 'grant.used',
          outcome: 'success',
          actor: me.sub,
          via: 'session',
          ...where,
          details: {
            bind: rule.bind,
            amr,
            auth_time: new Date(authTime * 1000).toISOString(),
            ...(act ? { action_digest: act } : {}),
            ...details,
          },
        });
        return forwardAudited();
      };
      const gate = runtime.userState(me.sub);
      if (rule.bind === 'session') {
        const token = presentedGrant(req, rule.id, canonical.protocol === 'https:');
        const grant = token
          ? await verifyGrant(runtime.keys, token, {
              sub: me.sub,
              sid: me.sid,
              aud: canonical.hostname,
              rule: rule.id,
              now: Math.floor(runtime.now() / 1000),
            })
          : null;
        if (grant) return await pass(grant.amr, grant.auth_time, null, { grant: await hashRef(grant.jti) });
      }

      if (ctx.body === null && (rule.bind === 'action' || canonical.method !== 'GET')) {
        ctx.body = await readBounded(req, policy.maxInspectBytes);
      }
      const action: CanonicalAction = {
        method: canonical.method,
        host: canonical.host,
        path: canonical.path,
        query: canonical.query,
        bodySha256: base64url(await crypto.subtle.digest('SHA-256', ctx.body ?? new Uint8Array(0))),
      };
      const matchedMethod = match.method === 'GET' && canonical.method === 'HEAD' ? 'HEAD' : match.method;
      const digest = rule.bind === 'action' ? await actionDigest(action, rule.id, matchedMethod) : null;
      // An approved action passes exactly once: the Durable Object deletes the approval as it answers.
      const approval = digest ? await gate.consumeApproval(me.sid, digest, rule.id) : null;
      if (approval) return await pass(approval.amr, approval.authTime, digest, { held: held !== null });
      // A fetch/XHR from a browser with the extension (its marker header) is held while the person
      // answers the extension's prompt, then carried out once. Prompts are rationed per user.
      // Only the site's own pages may have a request held (the extension's rule sets the marker for
      // them); a marker on a request from elsewhere is ignored.
      const sameOrigin =
        req.headers.get('sec-fetch-site') === 'same-origin' || req.headers.get('origin') === `${canonical.protocol}//${canonical.host}`;
      const prompted = held === null && sameOrigin && req.headers.get('stepgate-extension') === '1' && !isNavigation(req);
      if (prompted) {
        const ok = await gate.allowPrompt();
        if (!ok.ok) {
          await recordRefusal(runtime.audit, {
            type: 'request.denied',
            outcome: 'denied',
            actor: me.sub,
            via: 'session',
            ...where,
            reason: 'prompt-rate-limit',
          });
          return problem(
            ErrorCode.TooManyPrompts,
            429,
            `Too many approval requests in the last minute. Try again after ${new Date(ok.retryAt).toISOString()}.`,
            { retry_at: new Date(ok.retryAt).toISOString() },
            {
              'retry-after': String(Math.max(1, Math.ceil((ok.retryAt - runtime.now()) / 1000))),
            },
          );
        }
      }
      if (held) {
        // The held request still needs approval (e.g. the grant cookie was not sent): say so plainly.
        await recordRefusal(runtime.audit, {
          type: 'request.denied',
          outcome: 'denied',
          actor: me.sub,
          via: 'session',
          ...where,
          reason: 'not-approved',
        });
        return problem(ErrorCode.StepUpRequired, 401, 'This action is not approved (or was already carried out). Start it again.');
      }
      // A browser navigation is kept so it can be carried out exactly as it was, after approval:
      // sealed under its challenge's id and stored with the challenge in one step, so a hold past
      // the person's caps (or a challenge past the creation limits) is refused, leaving nothing.
      const id = base64url(crypto.getRandomValues(new Uint8Array(16)));
      const url = `${canonical.protocol}//${canonical.host}${canonical.path}${canonical.query ? `?${canonical.query}` : ''}`;
      const sealed =
        isNavigation(req) && canonical.method !== 'GET' && canonical.method !== 'HEAD'
          ? await sealHeld(runtime.keys, id, url, canonical.method, req.headers, ctx.body)
          : undefined;
      // Stored unanswerable (`live: false`): nobody can list or answer it before it is on the record.
      const opened = await gate.openChallenge({
        live: false,
        prompt: prompted,
        sid: me.sid,
        rule: rule.id,
        bind: rule.bind,
        factors: rule.factors,
        maxAgeSeconds: rule.maxAgeSeconds,
        actionDigest: digest,
        action,
        matchedMethod,
        bodySummary: summarizeBody(ctx.body, req.headers.get('content-type')),
        requestedFrom: requestedFrom(req),
        ...(sealed === undefined ? {} : { id, held: sealed }),
      });
      if (!opened.ok) return await challengeRefused(runtime.audit, runtime.now(), req, opened, { actor: me.sub, via: 'session', ...where });
      const challenge = opened.challenge;
      const kept = opened.held;
      // Fail closed: a challenge becomes answerable only once it is on the record; otherwise it is taken back.
      await recordOrWithdraw(
        gate,
        challenge.id,
        {
          type: 'challenge.issued',
          outcome: 'info',
          actor: me.sub,
          via: 'session',
          ...where,
          details: {
            challenge: await hashRef(challenge.id),
            bind: rule.bind,
            factors: [...rule.factors],
            matched_method: matchedMethod,
            body_sha256: action.bodySha256,
            action_digest: digest,
            held: kept || prompted,
            prompt: prompted,
          },
        },
        runtime,
      );
      if (prompted) {
        const d = await gate.awaitDecision(challenge.id, me.sid, runtime.holdMs);
        if (d.kind === 'denied') return problem(ErrorCode.StepUpDenied, 403, 'You denied this action.');
        if (d.kind === 'approved') {
          // Spend what the approval produced, exactly as a repeated request would.
          const approval = digest
            ? await gate.consumeApproval(me.sid, digest, rule.id)
            : { amr: d.amr, authTime: Math.floor(runtime.now() / 1000) };
          if (approval) return await pass(approval.amr, approval.authTime, digest, { held: true, prompt: true });
        }
        // Timed out (or the approval was spent elsewhere): the normal answer, with the challenge.
      }
      return stepUpRequired(req, challenge, `${canonical.protocol}//${canonical.host}`, kept);
    } catch (err) {
      return errorResponse(err);
    }
  };
};

/**
 * Library mode: the app's own handlers run after `next()`. When Stepgate has read the body, the
 * request's stream is spent, so they get a request carrying exactly the bytes that were read
 * (`c.req.json()` and the like keep working). The gateway's forward() reads `ctx` and is unaffected.
 */
function handOver(req: { raw: Request }, ctx: StepgateContext): void {
  if (ctx.body !== null && ctx.request === req.raw && req.raw.bodyUsed) req.raw = new Request(req.raw, { body: ctx.body });
}

/**
 * Record a challenge's issue, then make the challenge (opened unanswerable) answerable; or, if
 * either fails, withdraw it and rethrow (503). No challenge is ever answerable before its record,
 * so no approval or grant can exist for one that is withdrawn.
 */
async function recordOrWithdraw(gate: DurableObjectStub<UserState>, id: string, event: AuditInput, rt: Runtime): Promise<void> {
  try {
    await rt.audit.record(event);
    await gate.confirmChallenge(id);
  } catch (err) {
    await gate
      .withdrawChallenge(id)
      .catch((e: unknown) =>
        console.error('stepgate: could not withdraw an unrecorded challenge:', e instanceof Error ? e.message : 'non-error'),
      );
    throw err;
  }
}

/** The hash the audit log names a policy by (policy.changed): SHA-256 of its canonical, validated form. */
export const policyHashOf = (policy: CompiledPolicy): Promise<string> => sha256b64u(canonicalJson(policy.policy));

/** Where a request came from, as the approval prompt shows it. */
function requestedFrom(req: Request): { page: string | null; ip: string | null; user_agent: string | null } {
  let page = req.headers.get('origin');
  if (page === null || page === 'null') {
    try {
      page = new URL(req.headers.get('referer') ?? '').origin;
    } catch {
      page = null;
    }
  }
  const ua = req.headers.get('user-agent');
  return {
    page: page === 'null' ? null : page,
    ip: req.headers.get('cf-connecting-ip'),
    user_agent: ua === null ? null : ua.slice(0, 256),
  };
}

/** The execution context, when the platform gave one (not in every test harness). */
function executionContextOf(c: { executionCtx: unknown }): { waitUntil(p: Promise<unknown>): void } | undefined {
  try {
    return c.executionCtx as { waitUntil(p: Promise<unknown>): void };
  } catch {
    return undefined;
  }
}

/** The challenge id of `POST /.stepgate/challenge/:id/continue`, else null. */
function continueOf(c: CanonicalRequest): string | null {
  const s = c.matchSegments;
  if (c.method !== 'POST' || s.length !== 4 || s[0] !== '.stepgate' || s[1] !== 'challenge' || s[3] !== 'continue') return null;
  const id = c.path.split('/')[3]!;
  return /^[A-Za-z0-9_-]{22}$/.test(id) ? id : null;
}

async function takeHeld(
  rt: Runtime,
  req: Request,
  canonical: CanonicalRequest,
  challenge: string,
): Promise<{ request: Request; body: Uint8Array<ArrayBuffer> } | Response> {
  // Why: a cross-site form could otherwise make a signed-in person carry out their held action.
  const origin = `${canonical.protocol}//${canonical.host}`;
  const o = req.headers.get('origin');
  if (o !== null && o !== 'null' ? o !== origin : req.headers.get('sec-fetch-site') !== 'same-origin') {
    return problem(ErrorCode.Forbidden, 403, 'This request must come from the Stepgate page on this site.');
  }
  const who = await rt.identify(req);
  if (!who.ok)
    return who.reason === 'ambiguous'
      ? ambiguousIdentity('a session cookie and an Authorization header that do not agree')
      : problem(ErrorCode.IdentityRequired, 401, 'Sign in to the application first.');
  const sealed = await rt.userState(who.identity.sub).takeHeldRequest(challenge, who.identity.sid);
  if (!sealed)
    return problem(
      ErrorCode.ChallengeNotFound,
      404,
      'Nothing is waiting for this approval: it was carried out already, expired, or was never approved.',
    );
  return openHeld(rt.keys, challenge, sealed, req.headers);
}

/** 400: the request's identity can be read two ways; nothing is decided or forwarded. */
function ambiguousIdentity(why: string): Response {
  return problem(
    ErrorCode.AmbiguousIdentity,
    400,
    `This request names its session in two ways (${why}); it was not forwarded. Clear this site's cookies and sign in again.`,
  );
}

function identityRequired(req: Request, canonical: CanonicalRequest, loginUrl: string | undefined, reason: IdentityFailure): Response {
  if (reason === 'ambiguous') return ambiguousIdentity('a session cookie and an Authorization header that do not agree');
  if (loginUrl && isNavigation(req) && (canonical.method === 'GET' || canonical.method === 'HEAD')) {
    const returnTo = canonical.path + (canonical.query ? `?${canonical.query}` : '');
    const sep = loginUrl.includes('?') ? '&' : '?';
    return new Response(null, {
      status: 302,
      headers: { location: `${loginUrl}${sep}return_to=${encodeURIComponent(returnTo)}`, 'cache-control': 'no-store' },
    });
  }
  return problem(
    ErrorCode.IdentityRequired,
    401,
    reason === 'missing'
      ? 'Sign in to the application first: this action needs to know who you are.'
      : 'Your session is not valid; sign in again.',
    {},
    { 'www-authenticate': `StepUp realm="stepgate", error="identity_required"` },
  );
}
