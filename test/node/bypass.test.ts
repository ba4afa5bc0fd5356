/**
 * Security invariant 1 — no request that a rule matches reaches the origin without a grant,
 * whatever the path encoding, method spelling or headers — tried with raw HTTP against the real
 * gateway bundle in workerd, in front of the real demo app (which deletes projects when asked).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoOrigin, type DemoOrigin } from '../../edge/node/demo/demo-origin';
import { startGateway, type RunningGateway } from '../support/miniflare-gateway';
import { rawRequest, requestText } from '../support/raw-http';
import { sessionCookie, TEST_JWT_SECRET } from '../support/session';

let origin: DemoOrigin;
let gw: RunningGateway;
let cookie: string;

beforeAll(async () => {
  origin = await startDemoOrigin({ jwtSecret: TEST_JWT_SECRET });
  gw = await startGateway({ originUrl: origin.url, jwtSecret: TEST_JWT_SECRET });
  cookie = await sessionCookie('mallory');
});
afterAll(async () => {
  await gw?.dispose();
  await origin?.close();
});

const send = (method: string, target: string, headers: Record<string, string> = {}, body = '') =>
  rawRequest(gw.port, requestText(method, target, { Host: `127.0.0.1:${gw.port}`, Cookie: cookie, ...headers }, body));

/** Whatever the gateway answered, the origin must not have acted, and the answer is a refusal. */
const expectHeld = async (res: { status: number }, before: number) => {
  expect(res.status, 'a refusal, never the origin’s success').toBeGreaterThanOrEqual(400);
  expect(res.status).not.toBe(404); // a 404 would mean the origin answered
  expect(origin.projects.has(1), 'project 1 still exists').toBe(true);
  expect(origin.settings).toEqual({});
  const reached = origin.requests.slice(before).filter((r) => !(r.method === 'GET' && r.url === '/api/projects'));
  expect(reached, 'nothing reached the origin').toEqual([]);
};

describe('controls: the harness can see a bypass', () => {
  it('the demo origin really deletes when asked directly (so a bypass would show)', async () => {
    const res = await fetch(`${origin.url}/api/projects/4`, { method: 'DELETE', headers: { cookie } });
    expect(res.status).toBe(200);
    expect(origin.projects.has(4)).toBe(false);
  });

  it('unprotected requests do reach the origin through the gateway', async () => {
    const before = origin.requests.length;
    const res = await send('GET', '/api/projects');
    expect(res.status).toBe(200);
    expect(origin.requests.length).toBe(before + 1);
  });
});

const DELETE_TARGETS = [
  '/api/projects/1',
  // dot-segments
  '/api/x/../projects/1',
  '/api/./projects/1',
  '/api/projects/1/.',
  '/api/projects/x/../1',
  '/./api/projects/1',
  // encoded slash, backslash, dot
  '/api/projects%2F1',
  '/api%2Fprojects/1',
  '/api%2fprojects%2f1',
  '/api%5Cprojects/1',
  '/api\\projects\\1',
  '/api/projects/%2e%2e/projects/1',
  '/api/projects/%2E%2E/projects/1',
  '/api/%2e/projects/1',
  '/api/projects/.%2e/projects/1',
  '/api/projects/%31',
  '/%61pi/projects/1',
  // double slash
  '//api/projects/1',
  '/api//projects//1',
  '///api///projects///1',
  // double encoding
  '/api/projects%252F1',
  '/api/x/%252e%252e/projects/1',
  '/api%25252Fprojects/1',
  // ';' and '..;/'
  '/api/projects;/1',
  '/api/projects/1;x=y',
  '/api;jsessionid=1/projects/1',
  '/static/..;/api/projects/1',
  '/api/projects/..;/projects/1',
  '/api/projects%3B/1',
  // case and trailing slash
  '/API/PROJECTS/1',
  '/Api/Projects/1',
  '/api/projects/1/',
  '/API/projects/1//',
  // fragments, whitespace, control characters
  '/api/projects/1#fragment',
  '/api/projects/1%23x',
  '/api/projects/1%20',
  '/api/projects/1%09',
  '/api/projects/1%00',
  '/api/projects/1%00.json',
  '/api/projects/%0a1',
  '/api/projects/1%0d%0a',
  '/api/projects/1.',
  '/api/projects/1::$DATA',
  // query tricks
  '/api/projects/1?',
  '/api/projects/1?x=/../../',
];

describe('DELETE /api/projects/1 (bind: action) under every path trick', () => {
  it.each(DELETE_TARGETS)('%s', async (target) => {
    const before = origin.requests.length;
    await expectHeld(await send('DELETE', target), before);
  });
});

describe('method spelling and overrides', () => {
  it.each([
    ['delete', '/api/projects/1', {}, ''],
    ['Delete', '/api/projects/1', {}, ''],
    ['dElEtE', '/api/projects/1', {}, ''],
    ['POST', '/api/projects/1', { 'X-HTTP-Method-Override': 'DELETE' }, ''],
    ['POST', '/api/projects/1', { 'X-HTTP-Method': 'delete' }, ''],
    ['POST', '/api/projects/1', { 'X-Method-Override': 'DELETE' }, ''],
    ['PUT', '/api/projects/1', { 'X-HTTP-Method-Override': 'GET, DELETE' }, ''],
    ['POST', '/api/projects/1?_method=DELETE', {}, ''],
    ['POST', '/api/projects/1?_METHOD=delete', {}, ''],
    ['POST', '/api/projects/1?%5Fmethod=DELETE', {}, ''],
    ['GET', '/api/projects/1?_method=DELETE', {}, ''],
    ['POST', '/api/projects/1', { 'Content-Type': 'application/x-www-form-urlencoded' }, '_method=DELETE'],
    ['POST', '/api/projects/1', { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' }, 'a=1&_method=delete'],
    ['POST', '/api/projects/1', { 'Content-Type': 'Application/X-WWW-Form-Urlencoded' }, '_%6Dethod=DELETE'],
    ['POST', '/api/projects/1', { 'Content-Type': 'application/x-www-form-urlencoded' }, '.method=DELETE'],
    ['POST', '/api/projects/1', { 'Content-Type': 'application/json' }, '{"_method":"DELETE"}'],
    [
      'POST',
      '/api/projects/1',
      { 'Content-Type': 'multipart/form-data; boundary=XyZ' },
      '--XyZ\r\nContent-Disposition: form-data; name="_method"\r\n\r\nDELETE\r\n--XyZ--\r\n',
    ],
    ['POST', '/api/projects/1', { 'Content-Type': 'application/x-www-form-urlencoded' }, '_method=DE%20LETE'],
    // Found in review: parsers that read bodies Stepgate's first version did not.
    ['POST', '/api/projects/1', {}, '_method=DELETE'], // Rack: a POST without a type is a form
    ['POST', '/api/projects/1', { 'Content-Type': 'text/plain' }, '_method=DELETE'],
    ['POST', '/api/projects/1', { 'Content-Type': 'text/json' }, '{"_method":"DELETE"}'], // Laravel: any "/json"
    ['POST', '/api/projects/1', { 'Content-Type': 'application/x-www-form-urlencoded,x' }, '_method=DELETE'],
    ['POST', '/api/projects/1', { 'Content-Type': 'application/x-www-form-urlencoded x' }, '_method=DELETE'],
    [
      'POST',
      '/api/projects/1',
      { 'Content-Type': 'multipart/mixed; boundary=XX' },
      '--XX\r\nContent-Disposition: form-data; name="_method"\r\n\r\nDELETE\r\n--XX--\r\n',
    ],
    [
      'POST',
      '/api/projects/1',
      { 'Content-Type': 'multipart/form-data; xboundary=AAA; boundary=BBB' },
      '--BBB\r\nContent-Disposition: form-data; name="f"\r\n\r\n' +
        '--AAA\r\nContent-Disposition: form-data; name="_method"\r\n\r\nDELETE\r\n--AAA--\r\n--BBB--\r\n',
    ],
    ['POST', '/api/projects/1', { 'Content-Type': 'application/json; charset=utf-7' }, '{"a":"+ACI-,+ACI-_method+ACI-:+ACI-DELETE"}'],
    ['POST', '/api/projects/1', { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Encoding': 'gzip' }, 'not really gzip'],
    ['POST', '/api/projects/1', { 'Content-Type': 'application/x-www-form-urlencoded' }, '+_method=DELETE'], // PHP drops leading spaces
    ['POST', '/api/projects/1', { 'Content-Type': 'application/x-www-form-urlencoded' }, 'a=1;_method=DELETE'], // Rack splits on ';'
    // JSON.parse keeps the last
    ['POST', '/api/projects/1', { 'Content-Type': 'application/json' }, '{"_method":"DELETE","_method":"GET"}'],
    ['POST', '/api/projects/1?%20_method=DELETE', {}, ''],
    ['POST', '/api/projects/1?_method%00=DELETE', {}, ''],
    ['POST', '/api/projects/1?[_method]=DELETE', {}, ''],
  ])('%s %s %j %s', async (method, target, headers, body) => {
    const before = origin.requests.length;
    await expectHeld(await send(method, target, headers as Record<string, string>, body), before);
  });
});

describe('spoofed headers', () => {
  it.each<Record<string, string>>([
    { 'Stepgate-Grant': 'forged' },
    { 'Stepgate-Assertion': 'eyJhbGciOiJub25lIn0.e30.' },
    { 'Stepgate-Approved': 'true' },
    { 'X-Forwarded-For': '127.0.0.1' },
    { 'X-Forwarded-Host': 'trusted.internal' },
    { 'X-Forwarded-Proto': 'https' },
    { 'X-Forwarded-Prefix': '/public' },
    { 'X-Original-URL': '/api/projects' },
    { 'X-Rewrite-URL': '/api/projects' },
    { Forwarded: 'for=127.0.0.1;host=trusted.internal' },
  ])('%j does not unlock DELETE /api/projects/1', async (headers) => {
    const before = origin.requests.length;
    await expectHeld(await send('DELETE', '/api/projects/1', headers), before);
  });

  it('strips them on the way to the origin for unprotected routes', async () => {
    const before = origin.requests.length;
    const res = await send('GET', '/api/projects?spoof=1', {
      'X-Original-URL': '/api/projects/1',
      'X-Rewrite-URL': '/api/projects/1',
      'X-Forwarded-Host': 'evil.test',
      'X-Forwarded-For': '6.6.6.6',
      'Stepgate-Assertion': 'forged',
      'X-HTTP-Method-Override': 'GET',
    });
    expect(res.status).toBe(200);
    const [seen] = origin.requests.slice(before);
    expect(seen!.headers['x-original-url']).toBeUndefined();
    expect(seen!.headers['x-rewrite-url']).toBeUndefined();
    expect(seen!.headers['stepgate-assertion']).toBeUndefined();
    expect(seen!.headers['x-forwarded-host']).toBe(`127.0.0.1:${gw.port}`);
    expect(seen!.headers['x-forwarded-for']).not.toBe('6.6.6.6');
  });

  it('drops header names with "_", which CGI-style servers read as the dashed header', async () => {
    const before = origin.requests.length;
    const res = await send('GET', '/api/projects?underscore=1', {
      'X-HTTP-Method_Override': 'DELETE',
      X_Forwarded_Host: 'evil.test',
      Stepgate_Grant: 'x',
      'X-Real_IP': '6.6.6.6',
    });
    expect(res.status).toBe(200);
    const [seen] = origin.requests.slice(before);
    expect(Object.keys(seen!.headers).filter((h) => h.includes('_'))).toEqual([]);
  });
});

describe('absolute-form targets and Host tricks', () => {
  it.each([
    ['same host', () => `http://127.0.0.1:${gw.port}/api/projects/1`, () => ({})],
    ['other host', () => 'http://evil.test/api/projects/1', () => ({})],
    ['same host with dot-segments', () => `http://127.0.0.1:${gw.port}/api/x/../projects/1`, () => ({})],
    ['Host: evil.test', () => '/api/projects/1', () => ({ Host: 'evil.test' })],
    ['Host with trailing dot', () => '/api/projects/1', () => ({ Host: `127.0.0.1.:${gw.port}` })],
    ['Host in capitals', () => '/api/projects/1', () => ({ Host: `LOCALHOST:${gw.port}` })],
  ])('DELETE, absolute-form or Host trick: %s', async (_name, target, headers) => {
    const before = origin.requests.length;
    await expectHeld(await send('DELETE', target(), headers()), before);
  });

  it('duplicate Host headers are refused', async () => {
    const before = origin.requests.length;
    const raw =
      `DELETE /api/projects/1 HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\nHost: evil.test\r\n` +
      `Cookie: ${cookie}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`;
    await expectHeld(await rawRequest(gw.port, raw), before);
  });
});

describe('POST /admin/settings (bind: session) under path and case tricks', () => {
  it.each([
    '/admin/settings',
    '/ADMIN/Settings',
    '/admin/./settings',
    '/admin//settings',
    '/x/../admin/settings',
    '/admin%2Fsettings',
    '/admin;/settings',
    '/admin/settings;.css',
    '/admin/settings/',
    '/%61dmin/settings',
    '/admin/settings%00',
    '/admin./settings',
    '/admin',
    '/index.php/admin/settings', // PHP front controller routes the PATH_INFO
    '/app.aspx/admin/settings',
  ])('%s', async (target) => {
    const before = origin.requests.length;
    await expectHeld(
      await send('POST', target, { 'Content-Type': 'application/x-www-form-urlencoded' }, 'support_email=evil%40attacker.test'),
      before,
    );
  });
});
