/**
 * @module createIdentitySource: decide who is asking, from the app's own session (JWT cookie or
 * header, or an opaque session cookie the app's "who am I" endpoint names: introspect-source.ts),
 * a Cloudflare Access assertion, or (development only) a header. Every failure is "nobody", except
 * an introspection that cannot be made: that is `unavailable`, refused with 503.
 */
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { base64url, fromBase64url, sha256b64u } from '../crypto/base64';
import { IdentityConfig } from './identity-config';
import { DEV_GROUPS_HEADER, devGroups, groupsPart } from './identity-groups';
import { createIntrospectSource } from './introspect-source';
import { readSessionCookie } from './session-cookie';
import { sessionId } from './session-id';

/** The person behind a request. */
export interface Identity {
  /**
   * Stepgate's key for the person: the app's subject in the organisation "default", `<org id>/<subject>`
   * in any other (edge/apps/app-people.ts), so two organisations' people never share state.
   */
  sub: string;
  /** The app's own user id (JWT `sub` or configured claim, Access email): what the origin's assertion names. */
  subject: string;
  /** Hash of the app session (its `sid`/`jti`, else the token), so a step-up dies with the session. */
  sid: string;
  /**
   * SHA-256 (base64url) of the session token Stepgate verified (the cookie's or header's value),
   * sent to the origin in `Stepgate-Assertion` so it can check it acted on that same session.
   */
  sessionHash: string;
  source: IdentityConfig['source'];
  /**
   * The person's groups from the identity (jwt/cloudflareAccess `groupsClaim`, introspect
   * `groupsField`, dev header `stepgate-dev-groups`), for approver groups `{ "claimGroup": … }`.
   * Undefined when the source is not configured to read groups; at most 64 values, each 1..128
   * characters (identity-groups.ts).
   */
  groups?: readonly string[];
}

/**
 * Why there is no identity: none presented, one that does not verify, one that reads two ways, or
 * (introspect) one that Stepgate could not get checked: the app's endpoint failed, timed out or
 * answered something that names nobody. `unavailable` is never "anonymous": it is refused (503).
 */
export type IdentityFailure = 'missing' | 'invalid' | 'ambiguous' | 'unavailable';

export type IdentityResult = { ok: true; identity: Identity } | { ok: false; reason: IdentityFailure };

/**
 * Resolves the identity of a request. Never throws for bad input: a bad token is `invalid`, a
 * request that names its session twice (or in two places, for two people) is `ambiguous`.
 */
export type IdentitySource = ((request: Request) => Promise<IdentityResult>) & {
  /**
   * Why this request's identity could be read two ways, or null. Cheap and synchronous (no
   * crypto): the gateway asks it of every request before anything else.
   */
  ambiguity(headers: Headers): string | null;
};

export interface IdentityEnv {
  ENVIRONMENT?: string;
  IDENTITY_JWT_SECRET?: string;
}

const MISSING: IdentityResult = { ok: false, reason: 'missing' };
const INVALID: IdentityResult = { ok: false, reason: 'invalid' };
const AMBIGUOUS: IdentityResult = { ok: false, reason: 'ambiguous' };

/** A cookie's value, first of its name (for Stepgate's own grant cookies; the session cookie uses `readSessionCookie`). */
export function readCookie(header: string | null, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** A compact JWS spelled the one way its bytes encode: three base64url segments, each re-encoding to itself. */
function isCanonicalCompact(t: string): boolean {
  const parts = t.split('.');
  if (parts.length !== 3) return false;
  for (const p of parts) {
    if (!/^[A-Za-z0-9_-]+$/.test(p)) return false;
    try {
      if (base64url(fromBase64url(p)) !== p) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** Where a source reads its token: a session cookie and/or a header. */
interface TokenPlaces {
  cookie?: string | undefined;
  /** Reads the header's token; `undefined` when the header is absent, null when it is unusable. */
  header?: ((headers: Headers) => string | null | undefined) | undefined;
  /** Which one wins when both carry the same person: Access's header, else the app's cookie. */
  preferHeader?: boolean;
}

/** Why the request's session could be read two ways (cookie spelling or duplicates), else null. */
const cookieAmbiguity =
  (places: TokenPlaces) =>
  (headers: Headers): string | null => {
    if (!places.cookie) return null;
    const r = readSessionCookie(headers.get('cookie'), places.cookie);
    return r.kind === 'ambiguous' ? r.why : null;
  };

/** The session handle: the token's `sid` or `jti` claim when present, else the token itself. */
const sessionHandle = (payload: JWTPayload, token: string): string => {
  const sid = (payload as { sid?: unknown }).sid;
  if (typeof sid === 'string' && sid) return `sid:${sid}`;
  if (typeof payload.jti === 'string' && payload.jti) return `jti:${payload.jti}`;
  return `tok:${token}`;
};

/**
 * Build an identity source from configuration.
 *
 * @throws {Error} when the configuration is invalid, a needed secret is missing, or the `dev`
 *   source is configured outside development — at build time, never per request.
 */
export function createIdentitySource(config: unknown, env: IdentityEnv): IdentitySource {
  const parsed = IdentityConfig.safeParse(config);
  if (!parsed.success)
    throw new Error(`IDENTITY: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const cfg = parsed.data;

  if (cfg.source === 'introspect') return createIntrospectSource(cfg, env);

  if (cfg.source === 'dev') {
    if (env.ENVIRONMENT !== 'development') throw new Error('IDENTITY: the "dev" source is refused unless ENVIRONMENT is "development"');
    const header = cfg.header ?? 'stepgate-dev-user';
    const dev = async (req: Request): Promise<IdentityResult> => {
      const user = req.headers.get(header)?.trim();
      if (!user) return MISSING;
      // Why: several headers arrive joined by ", ", which this pattern refuses too.
      if (!/^[\w.@+-]{1,128}$/.test(user)) return INVALID;
      // Development only (the source is refused elsewhere): groups to try approver groups with.
      const groups = devGroups(req.headers.get(DEV_GROUPS_HEADER));
      return {
        ok: true,
        identity: {
          sub: user,
          subject: user,
          sid: await sessionId(user, 'dev'),
          sessionHash: await sha256b64u(user),
          source: 'dev',
          ...(groups ? { groups } : {}),
        },
      };
    };
    return Object.assign(dev, { ambiguity: () => null });
  }

  let key: Uint8Array | JWTVerifyGetKey;
  let algorithms: string[];
  let issuer: string | undefined;
  let audience: string | undefined;
  let places: TokenPlaces;
  let userOf: (p: JWTPayload) => unknown;
  let groupsClaim: string | undefined;

  if (cfg.source === 'cloudflareAccess') {
    const team = cfg.teamDomain.replace(/\/+$/, '');
    const teamUrl = new URL(team);
    const loopback = teamUrl.hostname === '127.0.0.1' || teamUrl.hostname === 'localhost';
    if (teamUrl.protocol !== 'https:' && !(loopback && env.ENVIRONMENT === 'development')) {
      throw new Error('IDENTITY: teamDomain must be https');
    }
    key = createRemoteJWKSet(new URL(`${team}/cdn-cgi/access/certs`));
    algorithms = ['RS256', 'ES256'];
    issuer = team;
    audience = cfg.audience;
    places = { header: (h) => h.get('cf-access-jwt-assertion') ?? undefined, cookie: 'CF_Authorization', preferHeader: true };
    userOf = (p) => (p as { email?: unknown }).email ?? p.sub;
    groupsClaim = cfg.groupsClaim;
  } else {
    if (cfg.jwksUrl) {
      key = createRemoteJWKSet(new URL(cfg.jwksUrl));
      algorithms = ['RS256', 'PS256', 'ES256', 'EdDSA'];
    } else {
      const secret = env.IDENTITY_JWT_SECRET;
      // Why: a short HS256 secret can be brute-forced offline from any session cookie.
      if (!secret || secret.length < 32)
        throw new Error('IDENTITY: the jwt source needs IDENTITY_JWT_SECRET (at least 32 characters) or a jwksUrl');
      key = new TextEncoder().encode(secret);
      algorithms = ['HS256'];
    }
    issuer = cfg.issuer;
    audience = cfg.audience;
    groupsClaim = cfg.groupsClaim;
    const claim = cfg.userClaim ?? 'sub';
    userOf = (p) => p[claim];
    places = {
      cookie: cfg.cookie,
      header: cfg.bearer
        ? (h) => {
            const v = h.get('authorization');
            if (v === null) return undefined;
            // Several Authorization headers arrive joined by ", ": no match, so unusable.
            const m = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i.exec(v);
            return m ? m[1]! : null;
          }
        : undefined,
    };
  }
  const clockTolerance = cfg.source === 'jwt' ? (cfg.clockToleranceSeconds ?? 30) : 30;
  const source = cfg.source;

  const verifyToken = async (t: string): Promise<IdentityResult> => {
    // Why: bound work on hostile input before any crypto.
    if (t.length > 8192) return INVALID;
    // Why: jose accepts other spellings of one token (whitespace, the unused low bits of a
    // segment's last character); each would be another "session" to the per-session limits.
    if (!isCanonicalCompact(t)) return INVALID;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(t, key as Uint8Array, { algorithms, issuer, audience, clockTolerance, requiredClaims: ['exp'] }));
    } catch {
      return INVALID;
    }
    const user = userOf(payload);
    if (typeof user !== 'string' || user === '' || user.length > 256) return INVALID;
    return {
      ok: true,
      identity: {
        sub: user,
        subject: user,
        sid: await sessionId(user, sessionHandle(payload, t)),
        sessionHash: await sha256b64u(t),
        source,
        // A claim name, not a path: namespaced claims (`https://example.com/groups`) hold dots.
        ...groupsPart(groupsClaim !== undefined, groupsClaim === undefined ? undefined : payload[groupsClaim]),
      },
    };
  };

  const identify = async (req: Request): Promise<IdentityResult> => {
    const fromCookie = places.cookie ? readSessionCookie(req.headers.get('cookie'), places.cookie) : { kind: 'absent' as const };
    if (fromCookie.kind === 'ambiguous') return AMBIGUOUS;
    const fromHeader = places.header?.(req.headers);
    if (fromHeader === null) return fromCookie.kind === 'one' ? AMBIGUOUS : INVALID;
    const cookieToken = fromCookie.kind === 'one' && fromCookie.value !== '' ? fromCookie.value : null;
    if (fromHeader === undefined || fromHeader === cookieToken) {
      if (cookieToken === null) return fromHeader ? verifyToken(fromHeader) : MISSING;
      const viaCookie = await verifyToken(cookieToken);
      // Why: an app may accept bearer tokens that Stepgate was not told about. A bearer token
      // that verifies as another person beside the cookie is a second identity: refused.
      if (viaCookie.ok && !places.header && (await bearerNamesSomeoneElse(req.headers, viaCookie.identity.sub))) return AMBIGUOUS;
      return viaCookie;
    }
    if (cookieToken === null) return verifyToken(fromHeader);
    // A session in both the cookie and the header: the origin may use either, so both must
    // verify and name the same person.
    const [a, b] = await Promise.all([verifyToken(cookieToken), verifyToken(fromHeader)]);
    if (!a.ok || !b.ok || a.identity.sub !== b.identity.sub) return AMBIGUOUS;
    return places.preferHeader ? b : a;
  };
  /** Whether an `Authorization: Bearer` token (read though not configured) verifies as a person other than `sub`. */
  const bearerNamesSomeoneElse = async (headers: Headers, sub: string): Promise<boolean> => {
    const m = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i.exec(headers.get('authorization') ?? '');
    if (!m) return false;
    const other = await verifyToken(m[1]!);
    return other.ok && other.identity.sub !== sub;
  };
  return Object.assign(identify, { ambiguity: cookieAmbiguity(places) });
}
