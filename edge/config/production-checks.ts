/**
 * @module Production checks: the development-only settings a production gateway must not start
 * with. Pure (no I/O): the gateway runs them when it is built and refuses to start (503 for every
 * request) on any problem; `stepgate doctor` runs them over a wrangler configuration before a deploy.
 */
import { DEV_EXTENSION_ID } from '../../shared/extension-id';
import { parseKeyring } from '../crypto/keyring';
import { type ListSettings, listSetting } from './list-settings';

export interface ProductionProblem {
  /** The variable or secret at fault, e.g. `ORIGIN_URL`. */
  setting: string;
  /** What is wrong with it, in one sentence. */
  problem: string;
  /** What to do instead. */
  fix: string;
}

/** The settings the checks read (the Worker's `Env`, or a wrangler configuration's `[vars]`). */
export interface ProductionSettings extends ListSettings {
  ENVIRONMENT?: string | undefined;
  ORIGIN_URL?: string | undefined;
  IDENTITY?: unknown;
  IDENTITY_JWT_SECRET?: string | undefined;
  STEPGATE_KEYS?: string | undefined;
  /** The first owner of the default organisation (edge/admin/bootstrap.ts). */
  BOOTSTRAP_OWNER?: string | undefined;
}

/** The browser extension's development build (its manifest carries a public key, so anyone can load it with this id). */
export const DEV_EXTENSION_ORIGIN = `chrome-extension://${DEV_EXTENSION_ID}`;

/**
 * User ids of the demo, the docs and the tests, and the usual default accounts (ASVS 6.3.2). As
 * BOOTSTRAP_OWNER of a production gateway they name someone who does not exist — or anyone who
 * signs up under that name, and then owns the organisation.
 */
export const DEMO_USERS: readonly string[] = [
  'alice',
  'bob',
  'carol',
  'dave',
  'erin',
  'eve',
  'mallory',
  'nora',
  'tina',
  'tom',
  'admin',
  'root',
  'sa',
  'test',
  'demo',
  'user',
];

/** Shortest HS256 secret accepted in production: 32 characters (RFC 7518 §3.2 asks for a key of at least 256 bits). */
export const MIN_JWT_SECRET_LENGTH = 32;

/**
 * Whether a deployment is held to the production checks: every ENVIRONMENT but "development",
 * including none (the same rule that refuses the `dev` identity source outside development).
 */
export const isProduction = (env: { ENVIRONMENT?: unknown }): boolean => env.ENVIRONMENT !== 'development';

const identityOf = (v: unknown): Record<string, unknown> | null =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;

/** The secrets a deployment needs with its IDENTITY: always STEPGATE_KEYS; IDENTITY_JWT_SECRET for HS256 session JWTs. */
export function requiredSecrets(env: ProductionSettings): string[] {
  const id = identityOf(env.IDENTITY);
  return id?.source === 'jwt' && !id.jwksUrl ? ['STEPGATE_KEYS', 'IDENTITY_JWT_SECRET'] : ['STEPGATE_KEYS'];
}

/** Four IPv4 octets from a dotted quad, or null. */
function ipv4(host: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const o = m.slice(1).map(Number);
  return o.every((n) => n <= 255) ? o : null;
}

/**
 * Whether a URL's hostname (as the WHATWG parser leaves it: IPv4 normalized, IPv6 in brackets)
 * is loopback, private, link-local or otherwise not a public Internet name.
 */
export function isNonPublicHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  if (h.startsWith('[')) {
    const v6 = h.slice(1, -1);
    // IPv4-mapped (::ffff:7f00:1 is 127.0.0.1): judge the IPv4 address.
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
    if (mapped) {
      const hi = Number.parseInt(mapped[1]!, 16);
      const lo = Number.parseInt(mapped[2]!, 16);
      return isNonPublicHost(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
    }
    // Unspecified, loopback, unique local (fc00::/7), link-local (fe80::/10).
    return v6 === '::' || v6 === '::1' || /^f[cd][0-9a-f]{2}:/.test(v6) || /^fe[89ab][0-9a-f]:/.test(v6);
  }
  const o = ipv4(h);
  if (o) {
    const [a, b] = o as [number, number, number, number];
    return (
      a === 0 || // "this network"
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT
      (a === 169 && b === 254) || // link-local
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 198 && (b === 18 || b === 19)) || // benchmarking
      a >= 224 // multicast, reserved, broadcast
    );
  }
  // A single label ("origin") resolves only on a private network; these suffixes are never public.
  return !h.includes('.') || /(^|\.)(localhost|local|internal|lan|intranet|home\.arpa)$/.test(h);
}

/**
 * The problems of a production configuration; empty when it may start. `secrets: false` leaves
 * out the secrets' values, which `stepgate doctor` cannot see (it lists `requiredSecrets` instead).
 * Key material is never echoed.
 */
export function productionProblems(env: ProductionSettings, { secrets = true }: { secrets?: boolean } = {}): ProductionProblem[] {
  const problems: ProductionProblem[] = [];
  const add = (setting: string, problem: string, fix: string) => problems.push({ setting, problem, fix });

  const identity = identityOf(env.IDENTITY);
  if (identity?.source === 'dev') {
    add(
      'IDENTITY',
      'the "dev" identity source believes a request header naming the user, so anyone can be anyone',
      'set IDENTITY to your app\'s own sessions: { source = "jwt", ... }, { source = "introspect", ... } or ' +
        '{ source = "cloudflareAccess", ... } (docs/architecture.md#identity)',
    );
  }
  if (identity?.source === 'jwt' && typeof identity.jwksUrl === 'string') {
    const problem = urlProblem(identity.jwksUrl);
    if (problem) add('IDENTITY.jwksUrl', problem, "use your identity provider's public https JWKS URL");
  }
  // Why: Stepgate sends the app's session cookie to this URL; over plain http anyone on the path
  // reads the session (and could answer as anyone), and a private host is one the edge cannot reach.
  if (identity?.source === 'introspect' && typeof identity.url === 'string') {
    const problem = urlProblem(identity.url);
    if (problem) add('IDENTITY.url', problem, 'use your app\'s own "who am I" endpoint at its public https:// URL');
  }

  const origin = env.ORIGIN_URL ?? '';
  if (origin !== '') {
    const problem = urlProblem(origin);
    if (problem)
      add(
        'ORIGIN_URL',
        problem,
        'set ORIGIN_URL to the origin\'s public https:// URL, or leave it "" to ' +
          "forward to the route's own (Cloudflare-proxied) origin with fetch(request)",
      );
  }

  const origins = listSetting(env, 'WEBAUTHN_ORIGINS');
  if (origins.some((o) => o.toLowerCase() === DEV_EXTENSION_ORIGIN)) {
    add(
      'WEBAUTHN_ORIGINS',
      `${DEV_EXTENSION_ORIGIN} is the development build of the extension: ` +
        `its signing key is public, so any extension built with it gets this id and is trusted like yours`,
      'remove it; list the store-installed extension instead (chrome-extension://<store id>, moz-extension://<uuid>), or nothing',
    );
  }
  for (const o of origins.filter((o) => /^http:/i.test(o))) {
    add('WEBAUTHN_ORIGINS', `${o} is plain http:`, 'list https:// origins only');
  }

  // Why: a deployment upgraded from 0.1 that still names its administrators here would believe they
  // are administrators; roles live in D1 now (docs/admin.md), so the retired lists are refused.
  for (const name of ['ADMINS', 'AUDITORS'] as const) {
    if (listSetting(env, name).length > 0)
      add(
        name,
        'is retired: roles are granted in the admin API now, not named in variables',
        `remove ${name}; see docs/admin.md, "Bootstrap"`,
      );
  }

  const owner = String(env.BOOTSTRAP_OWNER ?? '').trim();
  if (owner !== '' && DEMO_USERS.includes(owner.toLowerCase())) {
    add(
      'BOOTSTRAP_OWNER',
      `"${owner}" is a name from the demo (or a default account), not a person of yours: ` +
        'whoever signs in under it first claims the organisation',
      'set BOOTSTRAP_OWNER to the user id (as your app\'s sessions name it) of your first owner, or "" once they have claimed it',
    );
  }

  if (secrets) {
    if (requiredSecrets(env).includes('IDENTITY_JWT_SECRET')) {
      const s = env.IDENTITY_JWT_SECRET ?? '';
      if (!s)
        add(
          'IDENTITY_JWT_SECRET',
          'is not set, and IDENTITY verifies HS256 session JWTs with it',
          'npx wrangler secret put IDENTITY_JWT_SECRET (the secret your app signs its sessions with)',
        );
      else if (s.length < MIN_JWT_SECRET_LENGTH)
        add(
          'IDENTITY_JWT_SECRET',
          `has ${s.length} characters; a guessable HS256 secret lets anyone sign sessions`,
          `use a random secret of at least ${MIN_JWT_SECRET_LENGTH} characters, ` +
            `in your app and with npx wrangler secret put IDENTITY_JWT_SECRET`,
        );
    }
    if (!env.STEPGATE_KEYS)
      add(
        'STEPGATE_KEYS',
        'is not set: there is no keyring to seal, sign and index with',
        'npx stepgate keys generate --out keys.json, then npx wrangler secret put STEPGATE_KEYS < keys.json',
      );
    else {
      try {
        parseKeyring(env.STEPGATE_KEYS);
      } catch (e) {
        add(
          'STEPGATE_KEYS',
          (e as Error).message.replace(/^STEPGATE_KEYS:?\s*/, ''),
          'install a keyring made by npx stepgate keys generate|rotate: npx wrangler secret put STEPGATE_KEYS < keys.json',
        );
      }
    }
  }
  return problems;
}

/** Why a URL may not be used in production (plain http, or a host that is not public), or null. */
function urlProblem(value: string): string | null {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return `"${value}" is not a URL`;
  }
  const why: string[] = [];
  if (u.protocol !== 'https:') why.push(`uses ${u.protocol} (encryption in transit is not optional)`);
  if (isNonPublicHost(u.hostname))
    why.push(`names ${u.hostname}, a loopback or private host (a development setting; Cloudflare's edge cannot reach it)`);
  return why.length ? `"${value}" ${why.join(' and ')}` : null;
}

/** One log line naming every problem (the gateway's refusal to start). */
export function describeProblems(env: ProductionSettings, problems: readonly ProductionProblem[]): string {
  const where =
    env.ENVIRONMENT === undefined ? 'ENVIRONMENT is not set, so production checks apply' : `ENVIRONMENT is "${env.ENVIRONMENT}"`;
  return (
    `refusing to start (${where}): ${problems.length} development setting(s): ` +
    `${problems.map((p) => `${p.setting}: ${p.problem} (fix: ${p.fix})`).join('; ')}`
  );
}
