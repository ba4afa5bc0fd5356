/**
 * Invariant 8 over raw HTTP (found by an adversarial review) against the real bundle. A client sends the bytes C2 85 (UTF-8
 * U+0085 NEXT LINE) in front of a second `demo_session` name. workerd decodes them to "\u0085",
 * which `foldCookieName` neither trims (JavaScript's \s lacks U+0085) nor maps, so Stepgate sees one
 * session (the attacker's) and challenges the attacker; the bytes reach the origin unchanged, and a
 * Python origin (Django's or Werkzeug's parse_cookie: UTF-8, then str.strip(), which removes U+0085)
 * reads the victim's session. Checked by hand against Werkzeug 3.1.8:
 *   parse_cookie({'HTTP_COOKIE': b'\xc2\x85demo_session=V; demo_session=A'.decode('latin-1')})
 *   → MultiDict([('demo_session', 'V'), ('demo_session', 'A')]), and .get() gives 'V'.
 *
 * The same class reaches the project's own demo app (Node): a lone byte A0 (Latin-1 NO-BREAK SPACE)
 * before the second name. workerd does not hand it to the Worker as U+00A0 (it is not UTF-8), so
 * `foldCookieName` does not trim it and Stepgate sees one session, the attacker's. Node decodes
 * header bytes as Latin-1, so the demo app sees "\u00a0demo_session=…", which its cookie regex
 * (`(?:^|;\s*)demo_session=`, JavaScript \s includes U+00A0) reads first — as would any Node
 * origin that trims cookie names with String.prototype.trim(). End to end below: the attacker
 * approves with their own authenticator app, and the demo app deletes the project "by" the victim.
 *
 * Both are refused with 400 since the session name may appear only once in any spelling.
 */
import { generate } from 'otplib';
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

const NEL = Buffer.from([0xc2, 0x85]);
const raw = (method: string, target: string, cookie: Buffer) =>
  rawRequest(
    gw.port,
    Buffer.concat([
      Buffer.from(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\nConnection: close\r\nContent-Length: 0\r\nCookie: `),
      cookie,
      Buffer.from('\r\n\r\n'),
    ]),
  );

/** Werkzeug's reading (first wins) of the bytes a WSGI server hands it: UTF-8, split on ";", str.strip(). */
function werkzeugSession(bytes: Buffer): string | undefined {
  for (const chunk of bytes.toString('utf8').split(';')) {
    const eq = chunk.indexOf('=');
    if (eq < 0) continue;
    if (chunk.slice(0, eq).replace(/^[\s\u001c-\u001f\u0085]+|[\s\u001c-\u001f\u0085]+$/g, '') === 'demo_session')
      return chunk.slice(eq + 1).trim();
  }
  return undefined;
}

describe('U+0085 before the name over raw HTTP', () => {
  it('a protected DELETE is refused as ambiguous, never challenged for the attacker', async () => {
    const cookie = Buffer.concat([NEL, Buffer.from(`demo_session=${victim}; demo_session=${attacker}`)]);
    expect(werkzeugSession(cookie)).toBe(victim);
    const res = await raw('DELETE', '/api/projects/1', cookie);
    expect(res.status).toBe(400);
    expect(res.body).toContain('ERR_AMBIGUOUS_IDENTITY');
  });

  it('nothing with those bytes reaches the origin, even on an unprotected route', async () => {
    const cookie = Buffer.concat([NEL, Buffer.from(`demo_session=${victim}; demo_session=${attacker}`)]);
    const before = origin.requests.length;
    const res = await raw('GET', '/api/projects', cookie);
    expect(res.status).toBe(400);
    expect(origin.requests.slice(before)).toEqual([]);
  });
});

describe('a lone byte A0 before the name, against the demo app itself', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const post = (path: string, cookie: string, body: unknown = {}) =>
    fetch(`${gw.url.origin}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { cookie, origin: gw.url.origin, 'content-type': 'application/json' },
    });
  /** An ordinary cookie, then 0xA0 and the stolen victim session, then the attacker's own session. */
  const header = () =>
    Buffer.concat([Buffer.from('theme=dark;'), Buffer.from([0xa0]), Buffer.from(`demo_session=${victim}; demo_session=${attacker}`)]);
  let secret: string;
  /** The JSON body of a raw response (chunked or not). */
  const bodyOf = (r: { head: string; body: string }): unknown => {
    if (!/\r\ntransfer-encoding: *chunked/i.test(r.head)) return JSON.parse(r.body);
    let out = '';
    for (let rest = r.body; ; ) {
      const nl = rest.indexOf('\r\n');
      const n = Number.parseInt(rest.slice(0, nl), 16);
      if (!n) break;
      out += rest.slice(nl + 2, nl + 2 + n);
      rest = rest.slice(nl + 2 + n + 2);
    }
    return JSON.parse(out);
  };

  beforeAll(async () => {
    // The attacker's own account, with their own authenticator app.
    const own = `demo_session=${attacker}`;
    const start = (await (await post('/.stepgate/api/factors/totp', own)).json()) as { id: string; secret: string };
    expect(
      (
        await post(`/.stepgate/api/factors/totp/${start.id}/confirm`, own, {
          code: await generate({ secret: start.secret, epoch: now() - 30 }),
        })
      ).status,
    ).toBe(200);
    secret = start.secret;
  });

  it('is refused as ambiguous', async () => {
    const res = await raw('DELETE', '/api/projects/2', header());
    expect(res.status).toBe(400);
  });

  it(
    'end to end: after the attacker approves their own challenge, ' +
      'the header with the victim in it is still refused; the demo app never acts for the victim',
    async () => {
      const first = await raw('DELETE', '/api/projects/3', Buffer.from(`demo_session=${attacker}`));
      expect(first.status).toBe(401);
      const { challenge_id } = bodyOf(first) as { challenge_id: string };
      const ok = await post(`/.stepgate/api/challenges/${challenge_id}/verify`, `demo_session=${attacker}`, {
        method: 'totp',
        code: await generate({ secret, epoch: now() }),
      });
      expect(ok.status).toBe(200);
      const done = await raw('DELETE', '/api/projects/3', header());
      expect(done.status).toBe(400);
      expect(origin.projects.has(3)).toBe(true);
    },
  );
});
