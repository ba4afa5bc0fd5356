/**
 * @module createIntrospectSource: who is asking, for an app with opaque server-side sessions
 * (Rails, Django, Laravel, PHP). Stepgate asks the app's own "who am I" endpoint, sending it the
 * request's session cookie and nothing else, and keeps the answer per isolate under a hash of that
 * cookie, so in the steady state no request waits for the endpoint. When the endpoint cannot say
 * (an error, a timeout, a redirect, an answer that names nobody) the result is `unavailable`:
 * refused with 503, never taken for "nobody" or for anyone. So is a client past its limit of calls
 * for sessions Stepgate does not know (introspect-client-limit.ts): the app is not called for it.
 */
import { sha256b64u } from '../crypto/base64';
import type { IntrospectIdentityConfig } from './identity-config';
import type { IdentityEnv, IdentityResult, IdentitySource } from './identity-source';
import { type Answer, bounded, IntrospectCache } from './introspect-cache';
import { groupsPart, valueAt } from './identity-groups';
import { introspectClientOf } from './introspect-client-limit';
import { readSessionCookie } from './session-cookie';
import { sessionId } from './session-id';
import type * as z from '../http/zod';

export { type Answer, INTROSPECT_CACHE_ENTRIES, IntrospectCache } from './introspect-cache';
export { INTROSPECT_CLIENT_CALLS, IntrospectClientLimit } from './introspect-client-limit';

type IntrospectConfig = z.infer<typeof IntrospectIdentityConfig>;

/** Defaults of the optional settings (identity-config.ts names their ranges). */
export const INTROSPECT_DEFAULTS = { userField: 'id', cacheSeconds: 30, timeoutMs: 2000 } as const;
/** How long an "invalid session" answer is kept at most, seconds (a session that just signed in is not refused for long). */
export const INVALID_CACHE_SECONDS = 5;
/** Largest "who am I" answer read, bytes. */
export const MAX_ANSWER_BYTES = 64 * 1024;
/** Largest session cookie value sent to the endpoint (browsers keep cookies under 4096 bytes). */
const MAX_COOKIE_VALUE = 4096;
/** RFC 6265 cookie-octets: what a session cookie's value is made of, and all that goes into the endpoint's Cookie header. */
const COOKIE_VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]+$/;

/** What the endpoint's JSON names: the person at `path` (a non-empty string, or an integer), else null. */
export function subjectAt(doc: unknown, path: string): string | null {
  let at: unknown = doc;
  for (const key of path.split('.')) {
    // Own properties only: never `constructor`, `__proto__` or anything inherited.
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, key)) return null;
    at = (at as Record<string, unknown>)[key];
  }
  if (typeof at === 'string') return at !== '' && at.length <= 256 ? at : null;
  if (typeof at === 'number' && Number.isSafeInteger(at)) return String(at);
  return null;
}

/**
 * One cache per endpoint per isolate, whoever builds a source for it (a runtime per environment
 * object, an app registry that rebuilds its apps): the steady state makes no call per request.
 */
const caches = new Map<string, IntrospectCache>();
const MAX_CACHES = 256;

function cacheFor(cfg: IntrospectConfig): IntrospectCache {
  const id = JSON.stringify([
    cfg.url,
    cfg.cookie,
    cfg.userField ?? INTROSPECT_DEFAULTS.userField,
    cfg.groupsField ?? null,
    cfg.cacheSeconds ?? 0,
  ]);
  let cache = caches.get(id);
  if (!cache) {
    cache = new IntrospectCache();
    bounded(caches, MAX_CACHES).set(id, cache);
  }
  return cache;
}

/** Test seams: the network, the clock and the cache. */
export interface IntrospectDeps {
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
  now?: () => number;
  cache?: IntrospectCache;
}

const MISSING: IdentityResult = { ok: false, reason: 'missing' };
const INVALID: IdentityResult = { ok: false, reason: 'invalid' };
const AMBIGUOUS: IdentityResult = { ok: false, reason: 'ambiguous' };
const UNAVAILABLE: IdentityResult = { ok: false, reason: 'unavailable' };

const isLoopback = (hostname: string): boolean => hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';

/**
 * Build the introspect source.
 *
 * @throws {Error} when `url` is not https (plain http is accepted for a loopback host in development only)
 */
export function createIntrospectSource(cfg: IntrospectConfig, env: IdentityEnv, deps: IntrospectDeps = {}): IdentitySource {
  const url = new URL(cfg.url);
  if (url.protocol !== 'https:' && !(isLoopback(url.hostname) && env.ENVIRONMENT === 'development')) {
    throw new Error('IDENTITY: url must be https (http only for a loopback host when ENVIRONMENT is "development")');
  }
  const endpoint = url.href;
  const userField = cfg.userField ?? INTROSPECT_DEFAULTS.userField;
  const ttlMs = (cfg.cacheSeconds ?? INTROSPECT_DEFAULTS.cacheSeconds) * 1000;
  const invalidTtlMs = Math.min(INVALID_CACHE_SECONDS * 1000, ttlMs);
  const timeoutMs = cfg.timeoutMs ?? INTROSPECT_DEFAULTS.timeoutMs;
  const send = deps.fetch ?? ((u: string, init: RequestInit) => fetch(u, init));
  const now = deps.now ?? Date.now;
  const cache = deps.cache ?? cacheFor(cfg);

  /** Ask the endpoint about the session `value` (hash `key`); never throws. */
  const ask = async (value: string, key: string): Promise<Answer> => {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      const res = await send(endpoint, {
        method: 'GET',
        // Only the session cookie: no other cookie, no Authorization, nothing else of the request.
        headers: { cookie: `${cfg.cookie}=${value}`, accept: 'application/json' },
        // A redirect (to a login page, or anywhere) is not an answer, and is never followed.
        redirect: 'manual',
        signal: abort.signal,
      });
      if (res.status === 401 || res.status === 403) {
        await res.body?.cancel();
        return { kind: 'invalid' };
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        return { kind: 'unavailable', why: `it answered ${res.status}` };
      }
      const text = await readText(res, MAX_ANSWER_BYTES);
      if (text === null) return { kind: 'unavailable', why: `its answer is larger than ${MAX_ANSWER_BYTES} bytes` };
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch {
        return { kind: 'unavailable', why: 'its answer is not JSON' };
      }
      const sub = subjectAt(doc, userField);
      if (sub === null) return { kind: 'unavailable', why: `its answer has no usable "${userField}" (a non-empty string or an integer)` };
      return {
        kind: 'person',
        identity: {
          sub,
          subject: sub,
          sid: await sessionId(sub, `tok:${value}`),
          sessionHash: key,
          source: 'introspect',
          ...groupsPart(cfg.groupsField !== undefined, cfg.groupsField === undefined ? undefined : valueAt(doc, cfg.groupsField)),
        },
      };
    } catch {
      return { kind: 'unavailable', why: abort.signal.aborted ? `it did not answer within ${timeoutMs} ms` : 'it could not be reached' };
    } finally {
      clearTimeout(timer);
    }
  };

  /** The answer for session `value` from `client`: kept, in flight, or asked now (and kept); null past the client's limit. */
  const answerFor = async (value: string, client: string): Promise<Answer | null> => {
    const key = await sha256b64u(value);
    const kept = cache.get(key, now());
    if (kept) return kept;
    let call = cache.inflight(key);
    if (!call) {
      // Why: each unknown cookie costs the app a call; a client inventing cookies is stopped here, before the call.
      const charge = cache.clients.take(client, now());
      if (charge === null) return null;
      call = cache.share(
        key,
        ask(value, key).then((answer) => {
          if (answer.kind === 'unavailable') console.error(`stepgate: identity: ${endpoint} cannot say who is asking: ${answer.why}`);
          if (answer.kind === 'person') cache.clients.refund(charge);
          cache.set(key, answer, now() + (answer.kind === 'person' ? ttlMs : invalidTtlMs));
          return answer;
        }),
      );
    }
    // Why: a call started by another request settles in that request's context; if that request
    // is cancelled, its call may never settle. Each waiter keeps its own clock.
    const unsettled: Answer = { kind: 'unavailable', why: 'a shared call did not settle' };
    let giveUp: (a: Answer) => void = () => {};
    const ownClock = new Promise<Answer>((resolve) => {
      giveUp = resolve;
    });
    const timer = setTimeout(() => giveUp(unsettled), timeoutMs + 1000);
    try {
      const answer = await Promise.race([call, ownClock]);
      if (answer === unsettled) cache.abandon(key, call);
      return answer;
    } finally {
      clearTimeout(timer);
    }
  };

  const identify = async (req: Request): Promise<IdentityResult> => {
    const cookie = readSessionCookie(req.headers.get('cookie'), cfg.cookie);
    if (cookie.kind === 'ambiguous') return AMBIGUOUS;
    if (cookie.kind === 'absent' || cookie.value === '') return MISSING;
    // Why: the endpoint is asked about the cookie alone, but the origin receives the whole request.
    // An app may sign a request in from `Authorization` (API tokens, Basic) before its session;
    // Stepgate cannot read such a credential, so beside the session cookie it is a second identity.
    if (req.headers.has('authorization')) return AMBIGUOUS;
    const value = cookie.value;
    if (value.length > MAX_COOKIE_VALUE || !COOKIE_VALUE.test(value)) return INVALID;
    const answer = await answerFor(value, introspectClientOf(req));
    // Past the client's limit: refused as "cannot say" (503, retry shortly), never as anyone.
    if (answer === null) return UNAVAILABLE;
    if (answer.kind === 'person') return { ok: true, identity: { ...answer.identity } };
    return answer.kind === 'invalid' ? INVALID : UNAVAILABLE;
  };

  const ambiguity = (headers: Headers): string | null => {
    const r = readSessionCookie(headers.get('cookie'), cfg.cookie);
    return r.kind === 'ambiguous' ? r.why : null;
  };
  return Object.assign(identify, { ambiguity });
}

/** The body as text, or null when it is longer than `max` bytes (read no further). */
async function readText(res: Response, max: number): Promise<string | null> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > max) {
    await res.body?.cancel();
    return null;
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}
