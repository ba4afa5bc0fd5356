/** @module The identity configuration (`IDENTITY` variable): who is asking, per source. */
import * as z from '../http/zod';

/** A same-site relative path: no scheme, no `//host`, no backslash — never an open redirect. */
const LocalPath = z.string().check(z.regex(/^\/(?![/\\])[^\s\\]*$/, 'must be a path on this site, such as "/login"'));

/** A cookie name as RFC 6265 spells one (an HTTP token). */
const CookieName = z.string().check(z.regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be a cookie name (an HTTP token)'));

/**
 * A claim holding the person's groups (e.g. `groups`, or a namespaced `https://example.com/groups`):
 * an array of strings or one string. Read for approver groups `{ "claimGroup": … }` only.
 */
const GroupsClaim = z.string().check(z.minLength(1), z.maxLength(200));

const Common = {
  /** Where a browser without a session is sent (with `return_to`). Without it: 401. */
  loginUrl: z.optional(LocalPath),
};

export const JwtIdentityConfig = z
  .strictObject({
    source: z.literal('jwt'),
    /** Cookie holding the app's session JWT. */
    cookie: z.optional(CookieName),
    /** Read `Authorization: Bearer <jwt>` too. */
    bearer: z.optional(z.boolean()),
    /** JWKS URL for asymmetric keys; without it, HS256 with the `IDENTITY_JWT_SECRET` secret. */
    jwksUrl: z.optional(z.url({ protocol: /^https?$/ })),
    issuer: z.optional(z.string().check(z.minLength(1))),
    audience: z.optional(z.string().check(z.minLength(1))),
    /** Claim naming the user. Default `sub`. */
    userClaim: z.optional(z.string().check(z.minLength(1))),
    /** Claim holding the person's groups (identity-groups.ts). Without it, the identity has no groups. */
    groupsClaim: z.optional(GroupsClaim),
    /** Largest clock skew tolerated, seconds. Default 30. */
    clockToleranceSeconds: z.optional(z.number().check(z.int(), z.gte(0), z.lte(300))),
    ...Common,
  })
  .check(
    z.refine((c) => c.cookie !== undefined || c.bearer === true, { message: 'set "cookie" or "bearer": true' }),
    // Why: a key (a JWKS of an identity provider, or an app's HS256 secret) often signs more than
    // sessions — other apps' sessions, reset links, API tokens; without issuer and audience, any
    // such token with a `sub` and an `exp` would be accepted here as a session (ASVS 9.2.3).
    z.refine((c) => c.issuer !== undefined && c.audience !== undefined, {
      message: 'set "issuer" and "audience" (the values your app puts in its session tokens)',
    }),
  );

export const AccessIdentityConfig = z.strictObject({
  source: z.literal('cloudflareAccess'),
  /** e.g. `https://acme.cloudflareaccess.com` (http is accepted for a loopback host in development only). */
  teamDomain: z.url({ protocol: /^https?$/ }),
  /** The Access application's AUD tag. */
  audience: z.string().check(z.minLength(1)),
  /** Claim of the Access token holding the person's groups (identity-groups.ts). Without it, no groups. */
  groupsClaim: z.optional(GroupsClaim),
  ...Common,
});

export const DevIdentityConfig = z.strictObject({
  source: z.literal('dev'),
  /** Header naming the user. Default `Stepgate-Dev-User`. Refused outside development. */
  header: z.optional(z.string()),
  ...Common,
});

/**
 * Apps with opaque server-side sessions (Rails, Django, Laravel, PHP): Stepgate asks the app's own
 * "who am I" endpoint, sending it the session cookie and nothing else, and caches the answer under
 * a hash of the cookie (edge/identity/introspect-source.ts).
 */
export const IntrospectIdentityConfig = z.strictObject({
  source: z.literal('introspect'),
  /** The app's session cookie, e.g. `_myapp_session`, `sessionid`, `laravel_session`, `PHPSESSID`. */
  cookie: CookieName,
  /**
   * The app's "who am I" endpoint, e.g. `https://app.example/api/me`: 200 and JSON naming the
   * signed-in person, 401 or 403 without one. https (http only for a loopback host in development).
   */
  url: z.url({ protocol: /^https?$/ }).check(z.refine((u) => !/^[a-z]+:\/\/[^/?#]*@/i.test(u), 'must not carry a user name or password')),
  /** Dot path of the person's id in the endpoint's JSON, e.g. `id` or `user.id`. Default `id`. */
  userField: z.optional(
    z.string().check(z.maxLength(200), z.regex(/^[^.\s]+(?:\.[^.\s]+)*$/, 'must be a dot path such as "id" or "user.id"')),
  ),
  /** Dot path of the person's groups in the endpoint's JSON, e.g. `groups` or `user.roles` (identity-groups.ts). Without it, no groups. */
  groupsField: z.optional(
    z.string().check(z.maxLength(200), z.regex(/^[^.\s]+(?:\.[^.\s]+)*$/, 'must be a dot path such as "groups" or "user.groups"')),
  ),
  /** How long an answer is kept, per isolate, seconds (1–300). Default 30. */
  cacheSeconds: z.optional(z.number().check(z.int(), z.gte(1), z.lte(300))),
  /** How long Stepgate waits for the endpoint, milliseconds (100–10000). Default 2000. */
  timeoutMs: z.optional(z.number().check(z.int(), z.gte(100), z.lte(10_000))),
  ...Common,
});

export const IdentityConfig = z.discriminatedUnion('source', [
  JwtIdentityConfig,
  AccessIdentityConfig,
  DevIdentityConfig,
  IntrospectIdentityConfig,
]);
export type IdentityConfig = z.infer<typeof IdentityConfig>;
