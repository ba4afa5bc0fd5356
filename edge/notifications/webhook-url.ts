/**
 * @module Which URL an organisation's webhook may have (docs/admin.md, "Webhooks"): https only — the
 * notice names people and paths, and its signature proves nothing to a receiver an eavesdropper can
 * also read — to a host *name* on the default port 443; never a host this deployment serves; except
 * plain http (or https, any port) to a loopback host in a development deployment (a local receiver).
 * At most 2,048 characters; no user name or password in it (they would be sent in the clear to anyone
 * who reads the configuration) and no fragment (never sent, so only confusing).
 *
 * Why the host rules: the Worker sends the notice, so an organisation's admin chooses where a
 * Cloudflare subrequest goes. An IP address or an odd port reaches what no public webhook receiver
 * is (internal services, other ports of an origin); a host this deployment serves (another app or
 * organisation behind the same Worker) may be fetched straight from its origin, past Stepgate, from
 * Cloudflare's addresses. Real receivers (Slack, Teams, a chat bot, an HTTPS endpoint) have a name
 * and listen on 443.
 */

export const MAX_WEBHOOK_URL = 2048;

/** Loopback host names as `URL.hostname` spells them (the parser has already turned `0x7f.1` into `127.0.0.1`). */
const isLoopback = (host: string): boolean =>
  host === 'localhost' || host.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(host) || host === '[::1]';

/**
 * An IP address as `URL.hostname` spells it: IPv6 in brackets, IPv4 as four decimal parts — the URL
 * parser rewrites every other spelling of an IPv4 address (`2130706433`, `0x7f.1`, `0177.0.0.1`,
 * full-width digits, a trailing dot) to that form, so this one test covers them all.
 */
const isIpLiteral = (host: string): boolean => host.startsWith('[') || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);

/** The host name as D1 `app_hosts` and policy `hosts` spell it: lower case, no trailing dot. */
export const canonicalWebhookHost = (hostname: string): string => hostname.toLowerCase().replace(/\.+$/, '');

/**
 * Why `raw` cannot be a webhook URL (a sentence naming the field), or null when it can, as far as the
 * URL alone tells: whether this deployment serves its host is `servedHostProblem`'s question.
 */
export function webhookUrlProblem(raw: string, development: boolean): string | null {
  if (raw.length > MAX_WEBHOOK_URL) return `url: at most ${MAX_WEBHOOK_URL} characters`;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'url: not an absolute URL';
  }
  if (u.username !== '' || u.password !== '' || /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(raw)) return 'url: no user name or password in it';
  if (u.hash !== '' || raw.includes('#')) return 'url: no fragment (#…)';
  const web = u.protocol === 'https:' || u.protocol === 'http:';
  // A local receiver while developing: any port, http or https, and no other host rule.
  if (web && development && isLoopback(u.hostname)) return null;
  if (u.protocol !== 'https:')
    return development ? 'url: must be https (or http to a loopback host, in development)' : 'url: must be https';
  if (isIpLiteral(u.hostname)) return `url: the host must be a name, not an IP address (${u.hostname})`;
  if (isLoopback(u.hostname)) return `url: the host must not be a loopback name (${u.hostname})`;
  // `URL` drops the default port, so any port left is another one.
  if (u.port !== '') return `url: only the default https port (443), not ${u.port}`;
  return null;
}

/** What tells whether this deployment serves a host (each answers for a canonical host name). */
export interface ServedHosts {
  /** Hosts the caller knows without D1: the request's own host, CONSOLE_HOSTS, the bundled app's listed hosts. */
  known(host: string): boolean;
  db: D1Database;
}

/**
 * Why the host of `url` (already accepted by `webhookUrlProblem`) cannot receive webhooks because this
 * deployment serves it — the request's own host, a console host, the bundled app's hosts or an app's
 * host in D1 (any organisation's) — or null. A D1 failure throws (fails closed: nothing is stored).
 */
export async function servedHostProblem(url: string, development: boolean, served: ServedHosts): Promise<string | null> {
  const u = new URL(url);
  if (development && isLoopback(u.hostname)) return null;
  const host = canonicalWebhookHost(u.hostname);
  const inD1 = async () => (await served.db.prepare('SELECT 1 AS x FROM app_hosts WHERE host = ?').bind(host).first()) !== null;
  if (served.known(host) || (await inD1()))
    return (
      `url: ${host} is served by this Stepgate deployment; a webhook must go to another host ` +
      `(a notice sent there could reach an app's origin past Stepgate)`
    );
  return null;
}
