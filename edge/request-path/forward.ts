/**
 * @module forward(): send the canonical request to the origin — exactly what was matched — with
 * client-sent Stepgate and forwarding headers removed. Unprotected bodies stream through.
 */
import type { Handler } from 'hono';
import { ErrorCode } from '../../shared/errors';
import { withoutGrantCookies } from '../grants/grant-cookie';
import { misconfigured, problem } from '../http/responses';
import { canonicalOrigin, canonicalPathAndQuery } from '../policy/canonical-request';
import { forNavigation, wayBackOf } from './navigation';
import type { StepgateContext } from './stepgate-context';

/** Headers a client may not set for the origin: the origin would trust them as Stepgate's or the edge's. */
const UNTRUSTED = new Set([
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-forwarded-server',
  'x-forwarded-uri',
  'x-forwarded-path',
  'x-forwarded-scheme',
  'x-forwarded-ssl',
  'x-original-url',
  'x-original-uri',
  'x-original-host',
  'x-original-method',
  'x-rewrite-url',
  'x-real-ip',
  'x-client-ip',
  'x-cluster-client-ip',
  'x-host',
  'x-http-host-override',
  'x-proxyuser-ip',
  'true-client-ip',
  'client-ip',
  'x-envoy-original-path',
]);
/**
 * Prefixes of headers through which proxies in front of an app tell it who is asking
 * (oauth2-proxy, Azure App Service, Google IAP, AWS ALB OIDC, …): from a client they are forged.
 * Every `X-Forwarded-*` goes too (Stepgate sets its own `-For`, `-Proto` and `-Host`).
 */
const UNTRUSTED_PREFIXES = [
  'x-forwarded-',
  'x-auth-request-',
  'x-amzn-oidc-',
  'x-ms-client-principal',
  'x-goog-authenticated-',
  'x-goog-iap-',
];
/** Single identity headers of that kind (Apache/nginx REMOTE_USER conventions and others). */
const IDENTITY_HEADERS = new Set([
  'remote-user',
  'x-remote-user',
  'x-remote-group',
  'x-remote-email',
  'x-webauth-user',
  'x-authenticated-user',
  'x-authenticated-userid',
  'x-user',
  'x-email',
]);

/** Hop-by-hop headers (RFC 9110 §7.6.1); `upgrade` is kept so WebSockets pass through. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'proxy-authorization',
  'proxy-authenticate',
]);

/**
 * The headers the origin receives.
 * Exported for tests; `proto`, `host` and `clientIp` are Stepgate's own view of the request.
 */
export function originHeaders(
  incoming: Headers,
  proto: string,
  host: string,
  clientIp: string | null,
  opts: { accessHeaders?: boolean } = {},
): Headers {
  // A native copy, then deletions by name: measured ~70 µs/request cheaper in workerd than
  // rebuilding the headers entry by entry in JavaScript (docs/benchmarks.md).
  const out = new Headers(incoming);
  // Headers named in Connection are hop-by-hop too; "keep-alive"/"close" name none worth a set.
  const conn = incoming.get('connection');
  const named =
    conn && !/^\s*(keep-alive|close)\s*$/i.test(conn)
      ? new Set(
          conn
            .toLowerCase()
            .split(',')
            .map((s) => s.trim()),
        )
      : null;
  for (const name of incoming.keys()) {
    // Names with '_' are dropped, as nginx does by default: CGI-style servers (Rack on Puma,
    // IIS) read `X-HTTP-Method_Override` or `X_Forwarded_Host` as the dashed header.
    if (UNTRUSTED.has(name) || HOP_BY_HOP.has(name) || named?.has(name) || name.startsWith('stepgate-') || name.includes('_'))
      out.delete(name);
    else if (IDENTITY_HEADERS.has(name) || UNTRUSTED_PREFIXES.some((p) => name.startsWith(p))) out.delete(name);
    // Cloudflare Access sets these itself; from a client they are forged, unless Access is the
    // identity source (then Cloudflare has replaced any client-sent value before the Worker runs).
    else if (!opts.accessHeaders && name.startsWith('cf-access-')) out.delete(name);
  }
  // Grants are Stepgate's; the origin has no use for them and must not be able to replay them.
  const cookie = incoming.get('cookie');
  if (cookie?.includes('stepgate-')) {
    const kept = withoutGrantCookies(cookie);
    if (kept === null) out.delete('cookie');
    else out.set('cookie', kept);
  }
  if (clientIp) out.set('x-forwarded-for', clientIp);
  out.set('x-forwarded-proto', proto.replace(':', ''));
  out.set('x-forwarded-host', host);
  return out;
}

export interface ForwardOptions {
  /** Origin base (`http://127.0.0.1:8788`). Without it, the request goes to its own URL (`fetch(request)` on Cloudflare). */
  originUrl?: string | undefined;
  /**
   * How long to wait for the origin's response headers, seconds (`ORIGIN_TIMEOUT_SECONDS`, default
   * 100, as Cloudflare's own proxy). Applies to every request whose body Stepgate holds (all
   * protected ones); a streamed upload on an unprotected route is bounded by its client instead.
   */
  timeoutSeconds?: number | undefined;
}

/** Default wait for an origin's response headers (Cloudflare's proxy waits 100 s too). */
export const ORIGIN_TIMEOUT_SECONDS = 100;

/**
 * The proxy handler; runs after `stepgate()`.
 *
 * @throws {TypeError} when `originUrl` is not a bare http(s) origin
 */
export const forward = (options: ForwardOptions = {}): Handler<{ Variables: { stepgate: StepgateContext } }> => {
  let base: string | null = null;
  if (options.originUrl) {
    const u = new URL(options.originUrl);
    if (!/^https?:$/.test(u.protocol) || (u.pathname !== '/' && u.pathname !== '') || u.search || u.username) {
      throw new TypeError(`ORIGIN_URL must be a bare http(s) origin such as "https://app.internal", got "${options.originUrl}"`);
    }
    base = u.origin;
  }
  const timeoutMs = Math.min(6000, Math.max(1, options.timeoutSeconds || ORIGIN_TIMEOUT_SECONDS)) * 1000;
  return async function forwardToOrigin(c) {
    const sg = c.get('stepgate');
    // Why: without the canonical request the origin could see something other than what was matched.
    if (!sg) {
      console.error('stepgate: configuration error: forward() ran without the stepgate() middleware before it');
      return misconfigured();
    }
    const { canonical } = sg;
    const req = sg.request;
    const proto = canonical.protocol;
    // The app's origin (an app of the gateway's registry), else ORIGIN_URL's base when set, else the
    // request's own origin; always the canonical path and query.
    const appBase = sg.originUrl === undefined ? base : sg.originUrl;
    const target = `${appBase ?? canonicalOrigin(canonical)}${canonicalPathAndQuery(canonical)}`;
    const hasBody = canonical.method !== 'GET' && canonical.method !== 'HEAD';
    const headers = originHeaders(req.headers, proto, canonical.host, req.headers.get('cf-connecting-ip'), {
      accessHeaders: sg.identitySource === 'cloudflareAccess',
    });
    if (sg.assertion) headers.set('stepgate-assertion', sg.assertion);
    const body = hasBody ? (sg.body ?? req.body) : null;
    // Why: a stalled origin must not hold a request (and its "forwarded" record) open for ever.
    // A streamed upload is not timed: the clock would run while the client is still sending.
    const timed = !(body instanceof ReadableStream);
    const abort = new AbortController();
    const timer = timed ? setTimeout(() => abort.abort(), timeoutMs) : undefined;
    const init: RequestInit = { method: canonical.method, headers, redirect: 'manual', body, ...(timed ? { signal: abort.signal } : {}) };
    // A person's browser gets the refusal as a page (navigation.ts); a program, problem+json.
    const refuse = async (res: Response): Promise<Response> =>
      (await forNavigation(c.req.raw, Promise.resolve(res), () => wayBackOf(req, canonical))) ?? res;
    try {
      return await fetch(target, init);
    } catch (err) {
      if (abort.signal.aborted) {
        console.error(`stepgate: origin timed out after ${timeoutMs / 1000} s`);
        return refuse(
          problem(ErrorCode.OriginUnreachable, 504, 'The application behind Stepgate did not answer in time. Try again shortly.'),
        );
      }
      console.error('stepgate: origin unreachable:', err instanceof Error ? err.message : 'non-error');
      return refuse(problem(ErrorCode.OriginUnreachable, 502, 'The application behind Stepgate could not be reached. Try again shortly.'));
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  };
};
