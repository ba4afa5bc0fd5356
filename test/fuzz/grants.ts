/**
 * @module Fuzz targets for grants and small header readers on the request path:
 *
 * - `grants/token-verify` (edge/grants/grant-token.ts `verifyGrant`): mutated grant tokens (flipped,
 *   inserted, deleted characters, another key id, a re-encoded payload, padding, whitespace, another
 *   token's payload) never verify unless they carry the same key id, the same payload text and the
 *   same MAC bytes; the real token verifies only for its own user, session, app and rule, before expiry.
 * - `grants/cookie` (edge/grants/grant-cookie.ts `presentedGrant`, `withoutGrantCookies`): the grant
 *   read is the `Stepgate-Grant` header or the first cookie of the rule's name, as the `cookie` package
 *   reads it; what is forwarded keeps every other cookie in order and holds no grant cookie that
 *   Stepgate or the `cookie` package (Express) would find.
 * - `http/is-navigation` (edge/http/responses.ts `isNavigation`): `Sec-Fetch-Mode` decides when sent.
 */
import { parse as parseCookie } from 'cookie';
import fc from 'fast-check';
import { grantCookieName, presentedGrant, withoutGrantCookies } from '../../edge/grants/grant-cookie';
import { mintGrant, verifyGrant, type GrantClaims } from '../../edge/grants/grant-token';
import { isNavigation } from '../../edge/http/responses';
import { parseKeyring } from '../../edge/crypto/keyring';
import { readCookie } from '../../edge/identity/identity-source';
import { fail, type FuzzTarget, show, Stats } from './harness';

// --- Grant tokens -----------------------------------------------------------------------------

const KEY1 = Buffer.alloc(32, 7).toString('base64');
const KEY2 = Buffer.alloc(32, 9).toString('base64');
const ring = parseKeyring(JSON.stringify({ primary: 'k1', keys: { k1: KEY1, k2: KEY2 } }));
const ring2 = parseKeyring(JSON.stringify({ primary: 'k2', keys: { k1: KEY1, k2: KEY2 } }));

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const tokenMutation = fc.record({
  kind: fc.constantFrom(
    'flip',
    'insert',
    'delete',
    'case',
    'kid',
    'payload',
    'pad',
    'space',
    'truncate',
    'prefix',
    'dot',
    'swap',
    'plus-slash',
    'splice',
    'none',
  ),
  at: fc.nat(600),
  ch: fc.constantFrom(...B64URL, '=', ' ', '\t', '.', '+', '/', '%'),
  claim: fc.constantFrom('sub', 'sid', 'aud', 'rule', 'exp'),
});
const expectation = fc.record({
  field: fc.constantFrom('none', 'none', 'none', 'sub', 'sid', 'aud', 'rule', 'late'),
});

const sameBytes = (a: string, b: string): boolean => {
  try {
    const x = Buffer.from(atob(a.replaceAll('-', '+').replaceAll('_', '/')), 'latin1');
    const y = Buffer.from(atob(b.replaceAll('-', '+').replaceAll('_', '/')), 'latin1');
    return x.equals(y);
  } catch {
    return false;
  }
};

const tokenStats = new Stats();

async function buildTokenProperty() {
  const now = 1_800_000_000;
  const claims: GrantClaims = {
    sub: 'alice',
    sid: 'sid-1',
    aud: 'app.example.com',
    rule: 'admin-writes',
    amr: ['otp'],
    auth_time: now - 10,
    exp: now + 300,
    jti: 'jti-1',
  };
  const token = await mintGrant(ring, claims);
  const other = await mintGrant(ring2, { ...claims, sub: 'mallory', jti: 'jti-2' });
  const want = { sub: 'alice', sid: 'sid-1', aud: 'app.example.com', rule: 'admin-writes', now };
  if (!(await verifyGrant(ring, token, want))) throw new Error('a freshly minted grant does not verify');

  return fc.asyncProperty(tokenMutation, expectation, async (m, e) => {
    tokenStats.case();
    const parts = token.split('.');
    const i = m.at % token.length;
    let t: string;
    switch (m.kind) {
      case 'flip':
        t = token.slice(0, i) + (token[i] === m.ch ? (m.ch === 'A' ? 'B' : 'A') : m.ch) + token.slice(i + 1);
        break;
      case 'insert':
        t = token.slice(0, i) + m.ch + token.slice(i);
        break;
      case 'delete':
        t = token.slice(0, i) + token.slice(i + 1);
        break;
      case 'case':
        t =
          token.slice(0, i) +
          (token[i] === token[i]!.toUpperCase() ? token[i]!.toLowerCase() : token[i]!.toUpperCase()) +
          token.slice(i + 1);
        break;
      case 'kid':
        t = [parts[0], 'k2', parts[2], parts[3]].join('.');
        break;
      case 'payload': {
        const changed = { ...claims, [m.claim]: m.claim === 'exp' ? now + 999_999 : 'mallory' };
        t = [parts[0], parts[1], Buffer.from(JSON.stringify(changed)).toString('base64url'), parts[3]].join('.');
        break;
      }
      case 'pad':
        t = `${token}${'='.repeat(1 + (m.at % 3))}`;
        break;
      case 'space':
        t = token.slice(0, i) + (m.ch === '\t' ? '\t' : ' ') + token.slice(i);
        break;
      case 'truncate':
        t = token.slice(0, i);
        break;
      case 'prefix':
        t = `sg2${token.slice(3)}`;
        break;
      case 'dot':
        t = `${token}.`;
        break;
      case 'swap':
        t = [parts[0], parts[1], parts[3], parts[2]].join('.');
        break;
      case 'plus-slash':
        t = token.replaceAll('-', '+').replaceAll('_', '/');
        break;
      case 'splice':
        t = [parts[0], parts[1], other.split('.')[2], parts[3]].join('.');
        break;
      default:
        t = token;
    }
    const w = { ...want };
    if (e.field === 'late') w.now = claims.exp;
    else if (e.field !== 'none') (w as Record<string, unknown>)[e.field] = 'someone-else';
    let got: GrantClaims | null;
    try {
      got = await verifyGrant(ring, t, w);
    } catch (err) {
      return fail(`verifyGrant threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)} for ${show(t)}`);
    }
    if (!got) {
      tokenStats.add('refused');
      return true;
    }
    tokenStats.add('verified');
    const q = t.split('.');
    const same = q.length === 4 && q[0] === parts[0] && q[1] === parts[1] && q[2] === parts[2] && sameBytes(q[3]!, parts[3]!);
    if (!same) fail(`a changed grant verifies: ${show(t)} (original ${show(token)})`);
    if (e.field !== 'none') fail(`the grant verifies for another ${e.field}`);
    if (t !== token) tokenStats.add('respelled-mac-verified');
    return true;
  });
}

// --- Grant cookies ----------------------------------------------------------------------------

const RULES = ['admin-writes', 'delete-project'];
const GRANT_NAMES = RULES.flatMap((r) => [grantCookieName(r, true), grantCookieName(r, false)]);
const cookieName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...GRANT_NAMES) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('demo_session', 'theme', 'x', 'stepgate', 'stepgatex', '__Host-other', 'stepgate-', '__Host-stepgate-'),
  },
  { weight: 1, arbitrary: fc.constantFrom(...GRANT_NAMES.flatMap((n) => [` ${n}`, `${n} `, n.toUpperCase(), `${n}[]`, `${n}x`, `x${n}`])) },
);
const cookieValue = fc.oneof(fc.stringMatching(/^[A-Za-z0-9._-]{0,16}$/), fc.constantFrom('sg1.k1.abc.def', '', 'a=b', ' v '));
const grantCookieInput = fc.record({
  pairs: fc.array(fc.tuple(cookieName, cookieValue, fc.constantFrom('; ', '; ', ';', ';  ', ', ', ';;')), { maxLength: 6 }),
  header: fc.option(fc.constantFrom('sg1.k1.abc.def', ' sg1.k1.abc.def ', 'x', ''), { nil: undefined, freq: 4 }),
  rule: fc.constantFrom(...RULES),
  secure: fc.boolean(),
});
const cookieStats = new Stats();

const grantCookieProperty = fc.property(grantCookieInput, ({ pairs, header, rule, secure }) => {
  cookieStats.case();
  const cookie = pairs.map(([n, v, sep], i) => `${i ? sep : ''}${n}=${v}`).join('');
  const headers = new Headers();
  if (cookie) headers.set('cookie', cookie);
  if (header !== undefined) headers.set('stepgate-grant', header);
  const req = new Request('http://app.example.com/', { headers });
  const name = grantCookieName(rule, secure);
  const got = presentedGrant(req, rule, secure);
  const h = headers.get('stepgate-grant');
  const cookieRead = cookie.includes(',') ? undefined : parseCookie(cookie, { decode: (s) => s })[name];
  if (h) {
    if (got !== h.trim()) fail(`presentedGrant ${show(got)} ≠ the Stepgate-Grant header ${show(h)}`);
  } else if (!cookie.includes(',') && (got ?? undefined) !== cookieRead) {
    fail(`presentedGrant reads ${show(got)}, the cookie package ${show(cookieRead)}, in ${show(cookie)}`);
  }
  if (got) cookieStats.add('grant-presented');
  if (!cookie) return true;
  const kept = withoutGrantCookies(cookie);
  const keptParts = kept === null ? [] : kept.split(';').map((s) => s.trim());
  const grant = (s: string) => /^(__Host-)?stepgate-/.test(s.trim());
  // Every ";"-part without its grant pairs (also those after a "," — Rack before 3 reads them).
  const expected = cookie
    .split(';')
    .map((part) =>
      (part.split(',').some(grant)
        ? part
            .split(',')
            .filter((p) => !grant(p))
            .join(',')
        : part
      ).trim(),
    )
    .filter((s) => s !== '');
  if (show(keptParts) !== show(expected)) fail(`withoutGrantCookies kept ${show(keptParts)}, expected ${show(expected)}`);
  for (const r of RULES)
    for (const s of [true, false])
      if (readCookie(kept, grantCookieName(r, s)) !== null) fail(`Stepgate still reads a grant in what it forwards: ${show(kept)}`);
  if (kept !== null) {
    const names = Object.keys(parseCookie(kept, { decode: (s) => s }));
    const leak = names.find((n) => n.startsWith('stepgate-') || n.startsWith('__Host-stepgate-'));
    if (leak && !cookie.includes(',')) fail(`the origin (cookie package) still reads grant cookie ${show(leak)} in ${show(kept)}`);
    // Rack before 3 also splits on ",": two Cookie headers joined by ", " must not carry a grant past the strip.
    if (kept.split(/[;,] */).some(grant)) fail(`a comma-joined grant cookie is forwarded (Rack reads it): ${show(kept)}`);
    if (cookie.split(/[;,] */).some(grant) && cookie.includes(',')) cookieStats.add('comma-joined grant stripped');
  }
  if (kept !== cookie) cookieStats.add('stripped');
  return true;
});

// --- isNavigation -----------------------------------------------------------------------------

const navStats = new Stats();
const navProperty = fc.property(
  fc.option(
    fc.oneof(
      fc.constantFrom('navigate', 'Navigate', 'cors', 'no-cors', 'same-origin', 'websocket', '', ' navigate'),
      fc.string({ unit: 'binary-ascii', maxLength: 10 }),
    ),
    { nil: undefined },
  ),
  fc.option(
    fc.oneof(
      fc.constantFrom('text/html', 'application/json', '*/*', 'text/html;q=0', 'TEXT/HTML', 'application/xhtml+xml'),
      fc.string({ unit: 'binary-ascii', maxLength: 20 }),
    ),
    { nil: undefined },
  ),
  (mode, accept) => {
    navStats.case();
    let headers: Headers;
    try {
      headers = new Headers([
        ...(mode === undefined ? [] : [['sec-fetch-mode', mode]]),
        ...(accept === undefined ? [] : [['accept', accept]]),
      ] as [string, string][]);
    } catch {
      navStats.add('invalid-headers');
      return true;
    }
    const nav = isNavigation(new Request('http://app.example.com/', { headers }));
    const m = headers.get('sec-fetch-mode');
    // A browser that sends Sec-Fetch-Mode is believed; otherwise Accept decides.
    const want = m !== null ? m === 'navigate' : (headers.get('accept') ?? '').includes('text/html');
    if (nav !== want) fail(`isNavigation ${nav} for ${show([...headers])}`);
    if (nav) navStats.add('navigation');
    return true;
  },
);

export const grantTargets: FuzzTarget[] = [
  {
    name: 'grants/token-verify',
    parser: 'edge/grants/grant-token.ts verifyGrant',
    oracle:
      'never throws; a mutated token verifies only if kid, payload text and MAC ' +
      'bytes are the same; never for another user/session/app/rule or after expiry',
    stats: tokenStats,
    build: buildTokenProperty,
  },
  {
    name: 'grants/cookie',
    parser: 'edge/grants/grant-cookie.ts presentedGrant + withoutGrantCookies',
    oracle:
      'reads the header, else the first cookie of the name as the cookie package does; ' +
      'forwards every other cookie in order and no grant cookie Stepgate or Express would read',
    stats: cookieStats,
    build: () => grantCookieProperty,
  },
  {
    name: 'http/is-navigation',
    parser: 'edge/http/responses.ts isNavigation',
    oracle: 'Sec-Fetch-Mode decides when present (navigate only), else Accept contains text/html',
    stats: navStats,
    build: () => navProperty,
  },
];
