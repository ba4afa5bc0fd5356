/** Identity sources with real signed JWTs (HS256 and ES256 from a local JWKS): every failure is "nobody". */
import { importJWK, SignJWT, type JWTPayload } from 'jose';
import { describe, expect, inject, it } from 'vitest';
import { createIdentitySource } from '../../edge/identity/identity-source';

const SECRET = 'test-only-identity-secret-0123456789abcdef';
const hs = new TextEncoder().encode(SECRET);
const dev = { ENVIRONMENT: 'development', IDENTITY_JWT_SECRET: SECRET };
const jwtCfg = { source: 'jwt', cookie: 'demo_session', bearer: true, issuer: 'stepgate-demo', audience: 'stepgate-demo' };

const sign = (
  claims: JWTPayload,
  opts: { key?: Uint8Array | CryptoKey; alg?: string; exp?: string | number; iss?: string; aud?: string; kid?: string } = {},
) => {
  let j = new SignJWT(claims)
    .setProtectedHeader({ alg: opts.alg ?? 'HS256', ...(opts.kid ? { kid: opts.kid } : {}) })
    .setIssuer(opts.iss ?? 'stepgate-demo')
    .setAudience(opts.aud ?? 'stepgate-demo')
    .setIssuedAt();
  if (opts.exp !== undefined) j = j.setExpirationTime(opts.exp);
  else j = j.setExpirationTime('1h');
  return j.sign(opts.key ?? hs);
};
const withCookie = (t: string) => new Request('http://app.test/', { headers: { cookie: `other=1; demo_session=${t}` } });

describe('jwt source, HS256', () => {
  const identify = createIdentitySource(jwtCfg, dev);

  it('identifies the user from the session cookie or a Bearer header', async () => {
    const t = await sign({ sub: 'alice', sid: 's1' });
    const a = await identify(withCookie(t));
    const b = await identify(new Request('http://app.test/', { headers: { authorization: `Bearer ${t}` } }));
    expect(a).toMatchObject({ ok: true, identity: { sub: 'alice', source: 'jwt' } });
    expect(b).toEqual(a);
  });

  it('derives the session id from the sid claim, so it is stable for the session and differs across sessions', async () => {
    const id = async (claims: JWTPayload) =>
      ((await identify(withCookie(await sign(claims)))) as { identity: { sid: string } }).identity.sid;
    const s1 = await id({ sub: 'alice', sid: 'one' });
    expect(await id({ sub: 'alice', sid: 'one' })).toBe(s1);
    expect(await id({ sub: 'alice', sid: 'two' })).not.toBe(s1);
    expect(await id({ sub: 'bob', sid: 'one' })).not.toBe(s1);
    expect(s1).not.toContain('one');
  });

  it('without sid or jti, the session id is a hash of the token itself', async () => {
    const a = await identify(withCookie(await sign({ sub: 'alice', n: 1 })));
    const b = await identify(withCookie(await sign({ sub: 'alice', n: 2 })));
    expect(a.ok && b.ok && a.identity.sid !== b.identity.sid).toBe(true);
  });

  it.each([
    ['no cookie', async () => new Request('http://app.test/'), 'missing'],
    [
      'wrong secret',
      async () => withCookie(await sign({ sub: 'alice' }, { key: new TextEncoder().encode('another-secret-another-secret-0000') })),
      'invalid',
    ],
    ['expired', async () => withCookie(await sign({ sub: 'alice' }, { exp: Math.floor(Date.now() / 1000) - 120 })), 'invalid'],
    ['wrong issuer', async () => withCookie(await sign({ sub: 'alice' }, { iss: 'evil' })), 'invalid'],
    ['wrong audience', async () => withCookie(await sign({ sub: 'alice' }, { aud: 'other-app' })), 'invalid'],
    ['no sub', async () => withCookie(await sign({ sid: 'x' })), 'invalid'],
    [
      'alg none',
      async () =>
        withCookie(
          `${btoa('{"alg":"none"}').replace(/=/g, '')}.` +
            `${btoa(JSON.stringify({ sub: 'alice', iss: 'stepgate-demo', aud: 'stepgate-demo', exp: 9e9 })).replace(/=/g, '')}.`,
        ),
      'invalid',
    ],
    ['garbage', async () => withCookie('not.a.jwt'), 'invalid'],
    [
      'tampered payload',
      async () => {
        const [h, , s] = (await sign({ sub: 'alice' })).split('.');
        const p = btoa(JSON.stringify({ sub: 'admin', iss: 'stepgate-demo', aud: 'stepgate-demo', exp: 9e9 })).replace(/=+$/, '');
        return withCookie(`${h}.${p}.${s}`);
      },
      'invalid',
    ],
  ])('%s → %s', async (_n, make, reason) => {
    expect(await identify(await make())).toEqual({ ok: false, reason });
  });

  it('refuses to start without a strong secret', () => {
    expect(() => createIdentitySource(jwtCfg, { ENVIRONMENT: 'development' })).toThrow(/IDENTITY_JWT_SECRET/);
    expect(() => createIdentitySource(jwtCfg, { IDENTITY_JWT_SECRET: 'short' })).toThrow(/at least 32/);
  });

  it('refuses invalid configuration at build time, naming the field', () => {
    expect(() => createIdentitySource({ source: 'jwt' }, dev)).toThrow(/cookie/);
    expect(() => createIdentitySource({ source: 'saml' }, dev)).toThrow(/IDENTITY/);
    expect(() => createIdentitySource({ ...jwtCfg, loginUrl: '//evil.example/' }, dev)).toThrow(/loginUrl/);
    expect(() => createIdentitySource({ ...jwtCfg, loginUrl: 'https://evil.example/' }, dev)).toThrow(/loginUrl/);
  });
});

describe('jwt source, ES256 from a local JWKS', () => {
  const jwksUrl = `${inject('jwksUrl')}/jwks.json`;
  const identify = createIdentitySource({ source: 'jwt', bearer: true, jwksUrl, issuer: 'idp', audience: 'app' }, {});
  const bearer = (t: string) => new Request('http://app.test/', { headers: { authorization: `Bearer ${t}` } });

  it('verifies a token signed by the JWKS key', async () => {
    const key = await importJWK(inject('jwksPrivateJwk'), 'ES256');
    const t = await sign({ sub: 'carol', jti: 'j1' }, { key: key as CryptoKey, alg: 'ES256', iss: 'idp', aud: 'app', kid: 'test-key-1' });
    expect(await identify(bearer(t))).toMatchObject({ ok: true, identity: { sub: 'carol' } });
  });

  it('refuses a token signed by another key, or an HS256 token (algorithm confusion)', async () => {
    const other = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const t1 = await sign({ sub: 'carol' }, { key: other.privateKey, alg: 'ES256', iss: 'idp', aud: 'app', kid: 'test-key-1' });
    const t2 = await sign({ sub: 'carol' }, { iss: 'idp', aud: 'app' });
    expect(await identify(bearer(t1))).toEqual({ ok: false, reason: 'invalid' });
    expect(await identify(bearer(t2))).toEqual({ ok: false, reason: 'invalid' });
  });
});

describe('cloudflareAccess source', () => {
  const teamDomain = inject('jwksUrl'); // serves /cdn-cgi/access/certs
  const identify = createIdentitySource({ source: 'cloudflareAccess', teamDomain, audience: 'aud-tag' }, { ENVIRONMENT: 'development' });

  it('verifies Cf-Access-Jwt-Assertion against the team certs and uses the email', async () => {
    const key = (await importJWK(inject('jwksPrivateJwk'), 'ES256')) as CryptoKey;
    const t = await sign(
      { sub: 'uuid-1', email: 'dana@example.com' },
      { key, alg: 'ES256', iss: teamDomain, aud: 'aud-tag', kid: 'test-key-1' },
    );
    const r = await identify(new Request('http://app.test/', { headers: { 'cf-access-jwt-assertion': t } }));
    expect(r).toMatchObject({ ok: true, identity: { sub: 'dana@example.com', source: 'cloudflareAccess' } });
    const wrongAud = await sign({ email: 'dana@example.com' }, { key, alg: 'ES256', iss: teamDomain, aud: 'other', kid: 'test-key-1' });
    expect(await identify(new Request('http://app.test/', { headers: { 'cf-access-jwt-assertion': wrongAud } }))).toEqual({
      ok: false,
      reason: 'invalid',
    });
  });

  it('requires https outside local development', () => {
    expect(() => createIdentitySource({ source: 'cloudflareAccess', teamDomain, audience: 'a' }, { ENVIRONMENT: 'production' })).toThrow(
      /https/,
    );
  });
});

describe('dev source', () => {
  it('is refused unless ENVIRONMENT is development', () => {
    expect(() => createIdentitySource({ source: 'dev' }, { ENVIRONMENT: 'production' })).toThrow(/refused/);
    expect(() => createIdentitySource({ source: 'dev' }, {})).toThrow(/refused/);
  });

  it('reads the user from its header in development', async () => {
    const identify = createIdentitySource({ source: 'dev' }, { ENVIRONMENT: 'development' });
    expect(await identify(new Request('http://a.test/', { headers: { 'stepgate-dev-user': 'erin' } }))).toMatchObject({
      ok: true,
      identity: { sub: 'erin' },
    });
    expect(await identify(new Request('http://a.test/', { headers: { 'stepgate-dev-user': 'erin<script>' } }))).toEqual({
      ok: false,
      reason: 'invalid',
    });
    expect(await identify(new Request('http://a.test/'))).toEqual({ ok: false, reason: 'missing' });
  });
});

describe('one identity, read one way (invariant 8)', () => {
  const identify = createIdentitySource(jwtCfg, dev);
  const both = (cookie: string, auth: string) =>
    new Request('http://app.test/', { headers: { cookie: `demo_session=${cookie}`, authorization: auth } });

  it('refuses a session cookie and a bearer token for different people', async () => {
    const mallory = await sign({ sub: 'mallory', sid: 'm' });
    const victim = await sign({ sub: 'victor', sid: 'v' });
    expect(await identify(both(mallory, `Bearer ${victim}`))).toEqual({ ok: false, reason: 'ambiguous' });
    expect(await identify(both(victim, `Bearer ${mallory}`))).toEqual({ ok: false, reason: 'ambiguous' });
  });

  it('refuses a valid cookie beside a header it cannot verify (the origin might)', async () => {
    const mallory = await sign({ sub: 'mallory', sid: 'm' });
    expect(await identify(both(mallory, 'Bearer not-a-jwt'))).toEqual({ ok: false, reason: 'ambiguous' });
    expect(await identify(both(mallory, `Bearer ${mallory}, Bearer ${mallory}`))).toEqual({ ok: false, reason: 'ambiguous' });
    expect(await identify(both(mallory, 'Basic dmljdG9yOnB3'))).toEqual({ ok: false, reason: 'ambiguous' });
  });

  it('accepts the same person in both, and the same token in both', async () => {
    const a = await sign({ sub: 'alice', sid: 'a1' });
    const b = await sign({ sub: 'alice', sid: 'a2' });
    expect(await identify(both(a, `Bearer ${a}`))).toMatchObject({ ok: true, identity: { sub: 'alice' } });
    const r = await identify(both(a, `Bearer ${b}`));
    expect(r).toMatchObject({ ok: true, identity: { sub: 'alice' } });
  });

  it('refuses a session cookie spelled twice, and names the session it verified by its hash', async () => {
    const a = await sign({ sub: 'alice', sid: 'a1' });
    const v = await sign({ sub: 'victor', sid: 'v1' });
    expect(await identify(new Request('http://app.test/', { headers: { cookie: `demo_session =${a}; demo_session=${v}` } }))).toEqual({
      ok: false,
      reason: 'ambiguous',
    });
    expect(identify.ambiguity(new Headers({ cookie: `demo_session =${a}; demo_session=${v}` }))).toMatch(/unusual|more than once/);
    expect(identify.ambiguity(new Headers({ cookie: `x=1; demo_session=${a}` }))).toBeNull();
    const ok = await identify(withCookie(a));
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(a)));
    const b64u = btoa(String.fromCharCode(...digest))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
    expect(ok).toMatchObject({ ok: true, identity: { sessionHash: b64u } });
  });
});

describe('jwt source configuration', () => {
  it('requires issuer and audience for HS256 too: a token the app signs for anything else is not a session', async () => {
    expect(() => createIdentitySource({ source: 'jwt', cookie: 'demo_session' }, dev)).toThrow(/issuer.*audience/);
    expect(() => createIdentitySource({ source: 'jwt', cookie: 'demo_session', issuer: 'stepgate-demo' }, dev)).toThrow(/audience/);
    const identify = createIdentitySource(jwtCfg, dev);
    const resetLink = await sign({ sub: 'alice' }, { aud: 'password-reset' });
    expect(await identify(withCookie(resetLink))).toEqual({ ok: false, reason: 'invalid' });
  });
});
