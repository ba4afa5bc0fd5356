/**
 * @module createIdentitySource: decide who is asking, from the app's own session (JWT cookie or
 * header), a Cloudflare Access assertion, or (development only) a header. Every failure is "nobody".
 */
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { sha256b64u } from '../../shared/canonical-action';
import { IdentityConfig } from './identity-config';

/** The person behind a request. */
export interface Identity {
  /** Stable user id from the identity source (JWT `sub` or configured claim, Access email). */
  sub: string;
  /** Hash of the app session (its `sid`/`jti`, else the token), so a step-up dies with the session. */
  sid: string;
  source: IdentityConfig['source'];
}

export type IdentityResult = { ok: true; identity: Identity } | { ok: false; reason: 'missing' | 'invalid' };

/** Resolves the identity of a request. Never throws for bad input: a bad token is `invalid`. */
export type IdentitySource = (request: Request) => Promise<IdentityResult>;

export interface IdentityEnv {
  ENVIRONMENT?: string;
  IDENTITY_JWT_SECRET?: string;
}

const MISSING: IdentityResult = { ok: false, reason: 'missing' };
const INVALID: IdentityResult = { ok: false, reason: 'invalid' };

export function readCookie(header: string | null, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

const sessionId = (sub: string, handle: string): Promise<string> => sha256b64u(`stepgate-sid\0${sub}\0${handle}`);

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
  if (!parsed.success) throw new Error(`IDENTITY: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const cfg = parsed.data;

  if (cfg.source === 'dev') {
    if (env.ENVIRONMENT !== 'development') throw new Error('IDENTITY: the "dev" source is refused unless ENVIRONMENT is "development"');
    const header = cfg.header ?? 'stepgate-dev-user';
    return async (req) => {
      const user = req.headers.get(header)?.trim();
      if (!user) return MISSING;
      if (!/^[\w.@+-]{1,128}$/.test(user)) return INVALID;
      return { ok: true, identity: { sub: user, sid: await sessionId(user, 'dev'), source: 'dev' } };
    };
  }

  let key: Uint8Array | JWTVerifyGetKey;
  let algorithms: string[];
  let issuer: string | undefined;
  let audience: string | undefined;
  let token: (req: Request) => string | null;
  let userOf: (p: JWTPayload) => unknown;

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
    token = (req) => req.headers.get('cf-access-jwt-assertion') ?? readCookie(req.headers.get('cookie'), 'CF_Authorization');
    userOf = (p) => (p as { email?: unknown }).email ?? p.sub;
  } else {
    if (cfg.jwksUrl) {
      key = createRemoteJWKSet(new URL(cfg.jwksUrl));
      algorithms = ['RS256', 'PS256', 'ES256', 'EdDSA'];
    } else {
      const secret = env.IDENTITY_JWT_SECRET;
      // Why: a short HS256 secret can be brute-forced offline from any session cookie.
      if (!secret || secret.length < 32) throw new Error('IDENTITY: the jwt source needs IDENTITY_JWT_SECRET (at least 32 characters) or a jwksUrl');
      key = new TextEncoder().encode(secret);
      algorithms = ['HS256'];
    }
    issuer = cfg.issuer;
    audience = cfg.audience;
    const claim = cfg.userClaim ?? 'sub';
    userOf = (p) => p[claim];
    token = (req) => {
      if (cfg.cookie) {
        const t = readCookie(req.headers.get('cookie'), cfg.cookie);
        if (t) return t;
      }
      if (cfg.bearer) {
        const m = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i.exec(req.headers.get('authorization') ?? '');
        if (m) return m[1]!;
      }
      return null;
    };
  }
  const clockTolerance = cfg.source === 'jwt' ? (cfg.clockToleranceSeconds ?? 30) : 30;
  const source = cfg.source;

  return async (req) => {
    const t = token(req);
    if (!t) return MISSING;
    // Why: bound work on hostile input before any crypto.
    if (t.length > 8192) return INVALID;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(t, key as Uint8Array, { algorithms, issuer, audience, clockTolerance, requiredClaims: ['exp'] }));
    } catch {
      return INVALID;
    }
    const user = userOf(payload);
    if (typeof user !== 'string' || user === '' || user.length > 256) return INVALID;
    return { ok: true, identity: { sub: user, sid: await sessionId(user, sessionHandle(payload, t)), source } };
  };
}
