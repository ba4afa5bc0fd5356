/**
 * @module Robustness fuzz of the JWT identity source (edge/identity/identity-source.ts
 * `createIdentitySource({ source: 'jwt', cookie, bearer })`), over arbitrary Cookie and
 * Authorization headers carrying valid, invalid and mutated tokens. Oracle: it never throws, answers
 * ok/missing/invalid/ambiguous only, and answers ok only when the request carries a valid token (or
 * a spelling of one whose signed bytes and signature bytes are the same) for that very person.
 *
 * The strict session-cookie reading (its differential against `cookie`, Django, PHP and Rack) has
 * its own targets, which the lead adds to the runner's COOKIE_TARGETS slot (test/fuzz/targets.ts).
 */
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { createIdentitySource } from '../../edge/identity/identity-source';
import { fail, type FuzzTarget, show, Stats } from './harness';

const SECRET = 'fuzz-only-identity-secret-0123456789abcdef';
const COOKIE = 'demo_session';
const ISSUER = 'stepgate-fuzz';
const AUDIENCE = 'stepgate-fuzz';

interface Token {
  text: string;
  /** The person it names, when it is valid. */
  validFor: string | null;
}

/** Tokens signed once per process: valid ones for three people, and invalid ones of every kind. */
async function makeTokens(): Promise<Token[]> {
  const key = new TextEncoder().encode(SECRET);
  const now = Math.floor(Date.now() / 1000);
  const sign = (claims: Record<string, unknown>, alg = 'HS256', k: Uint8Array = key) =>
    new SignJWT({ iss: ISSUER, aud: AUDIENCE, ...claims }).setProtectedHeader({ alg }).sign(k);
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return [
    { text: await sign({ sub: 'alice', exp: now + 86_400 }), validFor: 'alice' },
    { text: await sign({ sub: 'bob', sid: 's-1', exp: now + 86_400 }), validFor: 'bob' },
    { text: await sign({ sub: 'carol', jti: 'j-1', exp: now + 86_400 }), validFor: 'carol' },
    { text: await sign({ sub: 'mallory', exp: now - 3600 }), validFor: null }, // expired
    { text: await sign({ sub: 'mallory' }), validFor: null }, // no exp
    {
      text: await sign({ sub: 'mallory', exp: now + 86_400 }, 'HS256', new TextEncoder().encode('another-secret-0123456789abcdef-0123')),
      validFor: null,
    },
    { text: await sign({ sub: 'mallory', exp: now + 86_400 }, 'HS512'), validFor: null }, // algorithm not allowed
    { text: await sign({ sub: 'mallory', exp: now + 86_400, nbf: now + 86_400 }), validFor: null },
    { text: await sign({ sub: '', exp: now + 86_400 }), validFor: null },
    { text: await sign({ sub: 'm'.repeat(300), exp: now + 86_400 }), validFor: null },
    { text: await sign({ user: 'mallory', exp: now + 86_400 }), validFor: null }, // no sub
    { text: await sign({ sub: 'mallory', exp: now + 86_400, iss: 'another-app' }), validFor: null },
    { text: await sign({ sub: 'mallory', exp: now + 86_400, aud: 'another-app' }), validFor: null },
    { text: await sign({ sub: 'mallory', exp: now + 86_400, iss: undefined, aud: undefined }), validFor: null },
    { text: `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'mallory', exp: now + 86_400 })}.`, validFor: null },
    { text: `${b64({ alg: 'HS256' })}.${b64({ sub: 'mallory', exp: now + 86_400 })}.${'A'.repeat(43)}`, validFor: null },
  ];
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
type Mutation = { kind: string; at: number; ch: string };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('flip', 'insert', 'delete', 'case', 'pad', 'space', 'truncate', 'dot', 'splice-payload', 'plus-slash', 'none'),
  at: fc.nat(400),
  ch: fc.constantFrom(...B64URL, '=', ' ', '.', '+', '/', '%', '\t'),
});

/** Apply a mutation to a token (sometimes a no-op spelling change). */
function mutate(t: string, m: Mutation, other: string): string {
  const i = m.at % Math.max(1, t.length);
  switch (m.kind) {
    case 'flip':
      return t.slice(0, i) + (t[i] === m.ch ? (m.ch === 'A' ? 'B' : 'A') : m.ch) + t.slice(i + 1);
    case 'insert':
      return t.slice(0, i) + m.ch + t.slice(i);
    case 'delete':
      return t.slice(0, i) + t.slice(i + 1);
    case 'case':
      return t.slice(0, i) + (t[i] === t[i]!.toUpperCase() ? t[i]!.toLowerCase() : t[i]!.toUpperCase()) + t.slice(i + 1);
    case 'pad':
      return `${t}=`;
    case 'space':
      return `${t.slice(0, i)} ${t.slice(i)}`;
    case 'truncate':
      return t.slice(0, i);
    case 'dot':
      return t.replace('.', '..');
    case 'splice-payload': {
      const [h, , s] = t.split('.');
      return `${h}.${other.split('.')[1]}.${s}`;
    }
    case 'plus-slash':
      return t.replaceAll('-', '+').replaceAll('_', '/');
    default:
      return t;
  }
}

const decodeSig = (s: string): string => Buffer.from(s.replaceAll('+', '-').replaceAll('/', '_'), 'base64url').toString('hex');
/** A spelling of `orig` that means the same signed token: same signed text, same signature bytes. */
function sameToken(orig: string, t: string): boolean {
  const a = orig.split('.');
  const b = t.trim().split('.');
  return b.length === 3 && a[0] === b[0] && a[1] === b[1] && decodeSig(a[2]!) === decodeSig(b[2]!);
}

interface Placed {
  /** Index into the token list, or -1 for a random string. */
  token: number;
  mutation: Mutation;
  other: number;
  random: string;
}
const placed: fc.Arbitrary<Placed> = fc.record({
  token: fc.oneof({ weight: 6, arbitrary: fc.nat(15) }, { weight: 1, arbitrary: fc.constant(-1) }),
  mutation: fc.oneof({ weight: 1, arbitrary: fc.constant<Mutation>({ kind: 'none', at: 0, ch: 'A' }) }, { weight: 1, arbitrary: mutation }),
  other: fc.nat(15),
  random: fc.oneof(fc.string({ maxLength: 20 }), fc.stringMatching(/^[A-Za-z0-9_-]{1,20}\.[A-Za-z0-9_-]{1,20}\.[A-Za-z0-9_-]{0,20}$/)),
});
const cookieName = fc.constantFrom(
  COOKIE,
  COOKIE,
  COOKIE,
  ` ${COOKIE}`,
  `${COOKIE} `,
  'Demo_Session',
  'demo.session',
  'demo%5Fsession',
  `${COOKIE}[]`,
  'theme',
  'stepgate-admin-writes',
  '',
);
const input = fc.record({
  cookies: fc.array(fc.tuple(cookieName, placed, fc.constantFrom('; ', ';', ', ', ';  ')), { maxLength: 4 }),
  auth: fc.option(
    fc.tuple(
      fc.constantFrom('Bearer ', 'bearer ', 'Bearer  ', 'BEARER ', 'Basic ', 'Bearer', 'Token '),
      placed,
      fc.constantFrom('', '', ' ', ', Bearer x'),
    ),
    { nil: undefined },
  ),
  junkCookie: fc.option(fc.string({ unit: 'binary-ascii', maxLength: 40 }), { nil: undefined, freq: 8 }),
});

const stats = new Stats();

async function buildProperty() {
  const tokens = await makeTokens();
  const identify = createIdentitySource(
    { source: 'jwt', cookie: COOKIE, bearer: true, issuer: ISSUER, audience: AUDIENCE },
    { IDENTITY_JWT_SECRET: SECRET },
  );
  // The property is vacuous unless a plain valid token is accepted.
  const plain = await identify(new Request('http://app.example.com/', { headers: { cookie: `${COOKIE}=${tokens[0]!.text}` } }));
  if (!plain.ok || plain.identity.sub !== 'alice') throw new Error(`the identity source refuses a valid token: ${show(plain)}`);

  const realise = (p: Placed): { text: string; validFor: string | null } => {
    if (p.token < 0) return { text: p.random, validFor: null };
    const t = tokens[p.token]!;
    const text = mutate(t.text, p.mutation, tokens[p.other]!.text);
    return { text, validFor: t.validFor !== null && sameToken(t.text, text) ? t.validFor : null };
  };

  return fc.asyncProperty(input, async ({ cookies, auth, junkCookie }) => {
    stats.case();
    const valid = new Set<string>();
    const parts = cookies.map(([name, p, sep], i) => {
      const t = realise(p);
      if (t.validFor) valid.add(t.validFor);
      return `${i ? sep : ''}${name}=${t.text}`;
    });
    const headers: [string, string][] = [];
    const cookie = junkCookie ?? parts.join('');
    if (cookie) headers.push(['cookie', cookie]);
    if (auth) {
      const t = realise(auth[1]);
      if (t.validFor) valid.add(t.validFor);
      headers.push(['authorization', `${auth[0]}${t.text}${auth[2]}`]);
    }
    let req: Request;
    try {
      req = new Request('http://app.example.com/', { headers });
    } catch {
      stats.add('invalid-headers');
      return true;
    }
    let r: Awaited<ReturnType<typeof identify>>;
    try {
      r = await identify(req);
    } catch (err) {
      return fail(`the identity source threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)} for ${show(headers)}`);
    }
    if (r.ok) {
      stats.add('ok');
      if (!valid.has(r.identity.sub))
        fail(`identity ${show(r.identity.sub)} from a request carrying no valid token for them: ${show(headers)}`);
      if (typeof r.identity.sid !== 'string' || r.identity.sid === '') fail('ok without a session id');
      const exact = tokens.some((t) => t.validFor === r.identity.sub && headers.some(([, v]) => v.includes(t.text)));
      if (!exact) stats.add('ok-for-respelled-token');
    } else {
      if (!['missing', 'invalid', 'ambiguous'].includes(r.reason)) fail(`unexpected reason ${show(r.reason)}`);
      stats.add(r.reason);
    }
    return true;
  });
}

export const identityTargets: FuzzTarget[] = [
  {
    name: 'identity/jwt-source',
    parser: 'edge/identity/identity-source.ts createIdentitySource({ source: "jwt", cookie, bearer })',
    oracle: 'never throws; ok only for a request carrying a valid token (same signed bytes) of that person; else missing/invalid/ambiguous',
    stats,
    build: buildProperty,
  },
];
