/** @module The identity configuration (`IDENTITY` variable): who is asking, per source. */
import { z } from 'zod';

/** A same-site relative path: no scheme, no `//host`, no backslash — never an open redirect. */
const LocalPath = z.string().regex(/^\/(?![/\\])[^\s\\]*$/, 'must be a path on this site, such as "/login"');

const Common = {
  /** Where a browser without a session is sent (with `return_to`). Without it: 401. */
  loginUrl: LocalPath.optional(),
};

export const JwtIdentityConfig = z
  .strictObject({
    source: z.literal('jwt'),
    /** Cookie holding the app's session JWT. */
    cookie: z
      .string()
      .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/)
      .optional(),
    /** Read `Authorization: Bearer <jwt>` too. */
    bearer: z.boolean().optional(),
    /** JWKS URL for asymmetric keys; without it, HS256 with the `IDENTITY_JWT_SECRET` secret. */
    jwksUrl: z.url({ protocol: /^https?$/ }).optional(),
    issuer: z.string().min(1).optional(),
    audience: z.string().min(1).optional(),
    /** Claim naming the user. Default `sub`. */
    userClaim: z.string().min(1).optional(),
    /** Largest clock skew tolerated, seconds. Default 30. */
    clockToleranceSeconds: z.number().int().min(0).max(300).optional(),
    ...Common,
  })
  .refine((c) => c.cookie !== undefined || c.bearer === true, { message: 'set "cookie" or "bearer": true' })
  // Why: a key (a JWKS of an identity provider, or an app's HS256 secret) often signs more than
  // sessions — other apps' sessions, reset links, API tokens; without issuer and audience, any
  // such token with a `sub` and an `exp` would be accepted here as a session (ASVS 9.2.3).
  .refine((c) => c.issuer !== undefined && c.audience !== undefined, {
    message: 'set "issuer" and "audience" (the values your app puts in its session tokens)',
  });

export const AccessIdentityConfig = z.strictObject({
  source: z.literal('cloudflareAccess'),
  /** e.g. `https://acme.cloudflareaccess.com` (http is accepted for a loopback host in development only). */
  teamDomain: z.url({ protocol: /^https?$/ }),
  /** The Access application's AUD tag. */
  audience: z.string().min(1),
  ...Common,
});

export const DevIdentityConfig = z.strictObject({
  source: z.literal('dev'),
  /** Header naming the user. Default `Stepgate-Dev-User`. Refused outside development. */
  header: z.string().optional(),
  ...Common,
});

export const IdentityConfig = z.discriminatedUnion('source', [JwtIdentityConfig, AccessIdentityConfig, DevIdentityConfig]);
export type IdentityConfig = z.infer<typeof IdentityConfig>;
