/**
 * Identity groups (`Identity.groups`, for approver groups `{ "claimGroup": … }`): each source yields
 * the groups it is configured to read — jwt and cloudflareAccess from `groupsClaim`, introspect from
 * `groupsField`, dev from the `stepgate-dev-groups` header — with real signed tokens. A claim of the
 * wrong shape gives no groups and never costs the person their identity; values are bounded (64,
 * each 1..128 characters); without the setting, `groups` is absent.
 */
import { importJWK, type JWTPayload, SignJWT } from 'jose';
import { describe, expect, inject, it } from 'vitest';
import { MAX_GROUP_CHARS, MAX_GROUPS, readGroups, valueAt } from '../../edge/identity/identity-groups';
import { createIdentitySource, type IdentityResult } from '../../edge/identity/identity-source';
import { createIntrospectSource, IntrospectCache } from '../../edge/identity/introspect-source';

const SECRET = 'test-only-identity-secret-0123456789abcdef';
const dev = { ENVIRONMENT: 'development', IDENTITY_JWT_SECRET: SECRET };
const jwtCfg = { source: 'jwt', cookie: 'demo_session', issuer: 'stepgate-demo', audience: 'stepgate-demo' };

const signHs = (claims: JWTPayload) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('stepgate-demo')
    .setAudience('stepgate-demo')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));
const withCookie = (t: string) => new Request('http://app.test/', { headers: { cookie: `demo_session=${t}` } });
const groupsOf = (r: IdentityResult) => {
  if (!r.ok) throw new Error(`not identified: ${r.reason}`);
  return r.identity.groups;
};

/** Claim values of the wrong shape, and what each yields: never an error, never another person. */
const BAD_SHAPES: [string, unknown, string[]][] = [
  ['an object', { finance: true }, []],
  ['a number', 42, []],
  ['null', null, []],
  ['an array of numbers and objects', [1, { a: 'finance' }, ['finance']], []],
  ['an empty string', '', []],
  ['a value too long among good ones', ['x'.repeat(MAX_GROUP_CHARS + 1), 'ops'], ['ops']],
];

describe('readGroups', () => {
  it('keeps at most 64 distinct values of 1..128 characters, in order; one string is one group', () => {
    expect(readGroups('finance')).toEqual(['finance']);
    expect(readGroups(['a', 'b', 'a', '', 7, 'x'.repeat(MAX_GROUP_CHARS), 'y'.repeat(MAX_GROUP_CHARS + 1)])).toEqual([
      'a',
      'b',
      'x'.repeat(MAX_GROUP_CHARS),
    ]);
    const huge = Array.from({ length: 100_000 }, (_, i) => `g${i}`);
    expect(readGroups(huge)).toEqual(huge.slice(0, MAX_GROUPS));
    // Only the first 1024 entries are looked at: a huge array of junk ends in no groups, quickly.
    expect(readGroups([...Array.from({ length: 2000 }, () => 0), 'late'])).toEqual([]);
  });

  it('reads dot paths through own properties only', () => {
    expect(valueAt({ user: { groups: ['a'] } }, 'user.groups')).toEqual(['a']);
    expect(valueAt({ user: {} }, 'user.groups')).toBeUndefined();
    expect(valueAt({}, 'constructor')).toBeUndefined();
    expect(valueAt(JSON.parse('{"__proto__": {"groups": ["admin"]}}'), 'groups')).toBeUndefined();
  });
});

describe('jwt source: groupsClaim', () => {
  const identify = createIdentitySource({ ...jwtCfg, groupsClaim: 'groups' }, dev);

  it('yields the claim as groups (array or one string)', async () => {
    expect(groupsOf(await identify(withCookie(await signHs({ sub: 'alice', groups: ['finance', 'ops'] }))))).toEqual(['finance', 'ops']);
    expect(groupsOf(await identify(withCookie(await signHs({ sub: 'alice', groups: 'finance' }))))).toEqual(['finance']);
  });

  it('a missing claim is no groups ([]), the person is still identified', async () => {
    expect(groupsOf(await identify(withCookie(await signHs({ sub: 'alice' }))))).toEqual([]);
  });

  it.each(BAD_SHAPES)('a claim that is %s gives no (bad) groups and never an error', async (_n, value, expected) => {
    const r = await identify(withCookie(await signHs({ sub: 'alice', groups: value })));
    expect(r).toMatchObject({ ok: true, identity: { sub: 'alice' } });
    expect(groupsOf(r)).toEqual(expected);
  });

  it('a huge claim is bounded to 64 values', async () => {
    const many = Array.from({ length: 300 }, (_, i) => `g${i}`);
    expect(groupsOf(await identify(withCookie(await signHs({ sub: 'alice', groups: many }))))).toHaveLength(MAX_GROUPS);
  });

  it('reads a namespaced claim name as one key, not a path', async () => {
    const ns = createIdentitySource({ ...jwtCfg, groupsClaim: 'https://example.com/groups' }, dev);
    const t = await signHs({ sub: 'alice', 'https://example.com/groups': ['finance'] });
    expect(groupsOf(await ns(withCookie(t)))).toEqual(['finance']);
  });

  it('without groupsClaim, groups is absent even when the token carries a groups claim', async () => {
    const plain = createIdentitySource(jwtCfg, dev);
    const r = await plain(withCookie(await signHs({ sub: 'alice', groups: ['finance'] })));
    expect(r.ok && 'groups' in r.identity).toBe(false);
  });

  it('refuses a groupsClaim that is not a non-empty string at configuration time', () => {
    expect(() => createIdentitySource({ ...jwtCfg, groupsClaim: '' }, dev)).toThrow(/groupsClaim/);
    expect(() => createIdentitySource({ ...jwtCfg, groupsClaim: ['groups'] }, dev)).toThrow(/groupsClaim/);
  });
});

describe('cloudflareAccess source: groupsClaim', () => {
  const teamDomain = inject('jwksUrl');
  const access = (groupsClaim?: string) =>
    createIdentitySource(
      { source: 'cloudflareAccess', teamDomain, audience: 'aud-tag', ...(groupsClaim ? { groupsClaim } : {}) },
      { ENVIRONMENT: 'development' },
    );
  const assertion = async (claims: JWTPayload) => {
    const key = (await importJWK(inject('jwksPrivateJwk'), 'ES256')) as CryptoKey;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'test-key-1' })
      .setIssuer(teamDomain)
      .setAudience('aud-tag')
      .setExpirationTime('1h')
      .sign(key);
  };
  const req = (t: string) => new Request('http://app.test/', { headers: { 'cf-access-jwt-assertion': t } });

  it('yields the Access token claim as groups; a bad shape gives none; absent config gives undefined', async () => {
    const t = await assertion({ email: 'dana@example.com', groups: ['finance'] });
    expect(groupsOf(await access('groups')(req(t)))).toEqual(['finance']);
    const bad = await assertion({ email: 'dana@example.com', groups: { finance: 1 } });
    expect(await access('groups')(req(bad))).toMatchObject({ ok: true, identity: { sub: 'dana@example.com', groups: [] } });
    expect(groupsOf(await access()(req(t)))).toBeUndefined();
  });
});

describe('introspect source: groupsField', () => {
  const source = (answer: unknown, groupsField?: string) =>
    createIntrospectSource(
      { source: 'introspect', cookie: 'sessionid', url: 'https://app.example/api/me', ...(groupsField ? { groupsField } : {}) },
      { ENVIRONMENT: 'development' },
      {
        fetch: async () => new Response(JSON.stringify(answer), { status: 200, headers: { 'content-type': 'application/json' } }),
        cache: new IntrospectCache(),
      },
    );
  const req = () => new Request('https://app.example/x', { headers: { cookie: 'sessionid=abc123' } });

  it('yields the value at the dot path as groups', async () => {
    expect(groupsOf(await source({ id: 7, user: { teams: ['finance', 'sre'] } }, 'user.teams')(req()))).toEqual(['finance', 'sre']);
    expect(groupsOf(await source({ id: 7, groups: 'finance' }, 'groups')(req()))).toEqual(['finance']);
  });

  it.each(BAD_SHAPES)('a field that is %s gives no (bad) groups and never makes the identity unavailable', async (_n, value, expected) => {
    const r = await source({ id: 7, groups: value }, 'groups')(req());
    expect(r).toMatchObject({ ok: true, identity: { sub: '7' } });
    expect(groupsOf(r)).toEqual(expected);
  });

  it('a missing field is no groups; without groupsField, groups is absent', async () => {
    expect(groupsOf(await source({ id: 7 }, 'user.groups')(req()))).toEqual([]);
    expect(groupsOf(await source({ id: 7, groups: ['finance'] })(req()))).toBeUndefined();
  });

  it('refuses a groupsField that is not a dot path at configuration time', () => {
    const cfg = { source: 'introspect', cookie: 'sessionid', url: 'https://app.example/api/me', groupsField: 'user..groups' };
    expect(() => createIdentitySource(cfg, { ENVIRONMENT: 'development' })).toThrow(/groupsField/);
  });
});

describe('dev source: stepgate-dev-groups', () => {
  const identify = createIdentitySource({ source: 'dev' }, { ENVIRONMENT: 'development' });
  const req = (headers: Record<string, string>) => new Request('http://a.test/', { headers: { 'stepgate-dev-user': 'erin', ...headers } });

  it('reads comma-separated groups from the header, trimmed, empty ones dropped', async () => {
    expect(groupsOf(await identify(req({ 'stepgate-dev-groups': ' finance, ops ,,' })))).toEqual(['finance', 'ops']);
  });

  it('without the header, groups is absent', async () => {
    expect(groupsOf(await identify(req({})))).toBeUndefined();
  });

  it('is bounded like every source', async () => {
    const header = Array.from({ length: 200 }, (_, i) => `g${i}`).join(',');
    expect(groupsOf(await identify(req({ 'stepgate-dev-groups': header })))).toHaveLength(MAX_GROUPS);
  });
});
