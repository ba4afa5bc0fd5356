/**
 * Invariant 8 over raw HTTP, against the real gateway bundle in workerd in front of the demo app:
 * several Cookie header fields (which no fetch client sends) and whitespace no client library
 * produces, each naming the session twice, are refused; the origin never sees them. Client-sent
 * `Cf-Access-*` headers never reach the origin when Access is not the identity source.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoOrigin, type DemoOrigin } from '../../edge/node/demo/demo-origin';
import { startGateway, type RunningGateway } from '../support/miniflare-gateway';
import { rawRequest } from '../support/raw-http';
import { sessionCookie, TEST_JWT_SECRET } from '../support/session';

let origin: DemoOrigin;
let gw: RunningGateway;
let attacker: string;
let victim: string;

beforeAll(async () => {
  origin = await startDemoOrigin({ jwtSecret: TEST_JWT_SECRET });
  gw = await startGateway({ originUrl: origin.url, jwtSecret: TEST_JWT_SECRET });
  attacker = (await sessionCookie('mallory')).split('=')[1]!;
  victim = (await sessionCookie('victor')).split('=')[1]!;
});
afterAll(async () => {
  await gw?.dispose();
  await origin?.close();
});

/** A request with header lines exactly as given (duplicates and odd whitespace kept). */
const raw = (method: string, target: string, lines: string[]) =>
  rawRequest(
    gw.port,
    [`${method} ${target} HTTP/1.1`, `Host: 127.0.0.1:${gw.port}`, 'Connection: close', 'Content-Length: 0', ...lines].join('\r\n') +
      '\r\n\r\n',
  );

describe('the session named twice in raw HTTP', () => {
  it.each([
    ['two Cookie header fields', [`Cookie: demo_session=${attacker}`, `Cookie: demo_session=${victim}`]],
    [
      'two fields, the second with other cookies',
      [`Cookie: demo_session=${attacker}; theme=dark`, `Cookie: lang=en; demo_session=${victim}`],
    ],
    ['a tab before "="', [`Cookie: demo_session\t=${attacker}; demo_session=${victim}`]],
    ['a space before "="', [`Cookie: demo_session =${attacker}; demo_session=${victim}`]],
    ['a lower-case header name and a duplicate', [`cookie: demo_session=${attacker}`, `COOKIE: demo_session=${victim}`]],
  ])('%s → 400 ERR_AMBIGUOUS_IDENTITY, and the origin acts for nobody', async (_what, lines) => {
    const before = origin.requests.length;
    const res = await raw('DELETE', '/api/projects/1', lines);
    expect(res.status).toBe(400);
    expect(res.body).toContain('ERR_AMBIGUOUS_IDENTITY');
    expect(origin.projects.has(1)).toBe(true);
    expect(origin.requests.slice(before)).toEqual([]);
  });

  it('one Cookie field with the session once still passes through to an unprotected route', async () => {
    const before = origin.requests.length;
    const res = await raw('GET', '/api/projects', [`Cookie: theme=dark; demo_session=${attacker}`]);
    expect(res.status).toBe(200);
    expect(origin.requests.slice(before)).toHaveLength(1);
  });
});

describe('Cloudflare Access headers', () => {
  it('are stripped when the identity source is not Access', async () => {
    const before = origin.requests.length;
    const res = await raw('GET', '/api/projects', [
      `Cookie: demo_session=${attacker}`,
      'Cf-Access-Authenticated-User-Email: victor@example.com',
      'Cf-Access-Jwt-Assertion: forged.jwt.value',
    ]);
    expect(res.status).toBe(200);
    const seen = origin.requests.slice(before);
    expect(seen).toHaveLength(1);
    expect(Object.keys(seen[0]!.headers).filter((h) => h.startsWith('cf-access-'))).toEqual([]);
  });
});
