/**
 * @module IntrospectClientLimit: how many calls to an app's "who am I" endpoint one client may start
 * (the `introspect` identity source). A session cookie Stepgate does not know yet costs the app one
 * call; without a limit, one client sending ever new cookie values would make Stepgate call the app
 * for each. A client (its network: IPv4 /24, IPv6 /64, from `CF-Connecting-IP`) may have at most
 * INTROSPECT_CLIENT_CALLS calls per minute that did not name a person; a call that names one is
 * given back, so many people behind one address signing in are not held up by each other. Past the
 * limit the request is refused (503, nothing forwarded) without calling the app. The table is
 * bounded: when it is full of clients inside their minute, every further client shares one
 * allowance — under a flood from many networks, new sessions wait, but the app is never flooded.
 */
/** Calls per client per window that did not (yet) name a person. */
export const INTROSPECT_CLIENT_CALLS = 60;
/** The window, ms. */
export const INTROSPECT_CLIENT_WINDOW_MS = 60_000;
/** Most clients tracked per endpoint per isolate; the rest share one allowance. */
export const INTROSPECT_CLIENTS = 10_000;

/** One client's (or the shared) allowance in its current window. */
export interface ClientCharge {
  start: number;
  count: number;
}

export class IntrospectClientLimit {
  readonly #clients = new Map<string, ClientCharge>();
  #shared: ClientCharge = { start: 0, count: 0 };

  constructor(
    readonly calls: number = INTROSPECT_CLIENT_CALLS,
    readonly windowMs: number = INTROSPECT_CLIENT_WINDOW_MS,
    readonly maxClients: number = INTROSPECT_CLIENTS,
  ) {}

  /**
   * Charge one call to `client` at `now`: its allowance, to give back with `refund` when the call
   * names a person; or null when the client has used it up (nothing is charged, no call is made).
   */
  take(client: string, now: number): ClientCharge | null {
    this.#dropExpired(now);
    let charge = this.#clients.get(client);
    if (charge !== undefined && charge.start + this.windowMs <= now) {
      this.#clients.delete(client);
      charge = undefined;
    }
    if (charge === undefined) {
      if (this.#clients.size < this.maxClients) {
        charge = { start: now, count: 0 };
        this.#clients.set(client, charge);
      } else {
        // Why: forgetting a client to make room would reset its count; sharing one allowance fails closed.
        if (this.#shared.start + this.windowMs <= now) this.#shared = { start: now, count: 0 };
        charge = this.#shared;
      }
    }
    if (charge.count >= this.calls) return null;
    charge.count++;
    return charge;
  }

  /** Give back a call that named a person: a known session is not a guess. */
  refund(charge: ClientCharge): void {
    if (charge.count > 0) charge.count--;
  }

  /** Clients tracked now. */
  get size(): number {
    return this.#clients.size;
  }

  /** Forget clients whose window has passed: the oldest window first, as the map keeps them. */
  #dropExpired(now: number): void {
    for (const [client, charge] of this.#clients) {
      if (charge.start + this.windowMs > now) break;
      this.#clients.delete(client);
    }
  }
}

/** The client a request comes from, as the limit counts it: its network, or one shared "unknown" client. */
export function introspectClientOf(req: Request): string {
  // On Cloudflare's network CF-Connecting-IP is always Cloudflare's (docs/security.md, "The client IP").
  return clientNetwork(req.headers.get('cf-connecting-ip')) ?? 'unknown';
}

/**
 * The network of a client address, as audit folding counts them (edge/audit/client-network.ts, not
 * imported: the identity layer does not reach the audit log): IPv4 /24, IPv6 /64 (an IPv4-mapped
 * address as IPv4), anything else its first 64 characters; null for none.
 */
export function clientNetwork(ip: string | null): string | null {
  if (ip === null || ip === '') return null;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (v4?.slice(1).every((o) => Number(o) <= 255)) return `${Number(v4[1])}.${Number(v4[2])}.${Number(v4[3])}.0/24`;
  let host: string;
  try {
    // The URL parser validates and compresses an IPv6 address (an IPv4 tail becomes two hex groups).
    host = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip.slice(0, 64);
  }
  const [head = '', tail] = host.split('::');
  const before = head === '' ? [] : head.split(':');
  const after = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...before, ...Array<string>(8 - before.length - after.length).fill('0'), ...after].map((g) => parseInt(g, 16));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.0/24`;
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}
