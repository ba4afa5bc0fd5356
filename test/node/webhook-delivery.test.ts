/**
 * Webhook notices of dual control (issue 14, item 5; docs/admin.md, "Webhooks") from the real gateway
 * bundle under Miniflare, to a local receiver on 127.0.0.1 that answers 500 twice, then 200: every
 * attempt carries a signature that verifies in Node with the secret PUT answered, over a body that
 * names what and where and nothing else (no request body, cookie or secret); the retries come after
 * the back-off (2 s, then 10 s) and stop once delivered; every attempt is in the audit log. The real
 * back-off is used, so the test takes about 15 s. Everything started here is stopped in afterAll.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoOrigin, startDemoOrigin } from '../../edge/node/demo/demo-origin';
import { type RunningGateway, startGateway } from '../support/miniflare-gateway';
import { sessionCookie, TEST_JWT_SECRET } from '../support/session';

interface Arrival {
  at: number;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let origin: DemoOrigin | undefined;
let gw: RunningGateway | undefined;
let receiver: Server | undefined;
let base: string;
let hookUrl: string;
let cookie: string;
let stepped: string;
const arrivals: Arrival[] = [];
/** What the receiver answers, per path, in order (then 200). */
const script: Record<string, number[]> = { '/flaky': [500, 500, 200], '/slack': [200] };

const call = (method: string, path: string, body?: unknown) =>
  fetch(`${base}${path}`, {
    method,
    headers: { cookie: stepped, ...(body === undefined ? {} : { origin: base, 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
const WEBHOOK = '/.stepgate/api/admin/orgs/default/webhook';

/** Wait until `n` notices reached `path` (or fail after `ms`). */
async function arrived(path: string, n: number, ms: number): Promise<Arrival[]> {
  const until = Date.now() + ms;
  for (;;) {
    const got = arrivals.filter((a) => a.path === path);
    if (got.length >= n) return got;
    if (Date.now() > until) throw new Error(`${got.length} of ${n} notices reached ${path} in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Check `Stepgate-Signature: t=<unix>,v1=<hex>` over "<t>.<body>" with the secret, as a receiver would. */
function verifies(header: string | undefined, body: string, secret: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  const want = createHmac('sha256', secret).update(`${m[1]}.${body}`).digest();
  return timingSafeEqual(want, Buffer.from(m[2]!, 'hex')) && Math.abs(Date.now() / 1000 - Number(m[1])) < 300;
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      arrivals.push({ at: Date.now(), path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(script[path]?.shift() ?? 200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => receiver!.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  origin = await startDemoOrigin({ jwtSecret: TEST_JWT_SECRET });
  gw = await startGateway({ originUrl: origin.url, jwtSecret: TEST_JWT_SECRET });
  base = gw.url.origin;
  // alice (BOOTSTRAP_OWNER) enrols an authenticator app, steps up and claims the default organisation.
  cookie = await sessionCookie('alice', 'alice-webhook');
  const post = (path: string, c: string, body: unknown = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { cookie: c, origin: base, 'content-type': 'application/json' },
    });
  const now = () => Math.floor(Date.now() / 1000);
  const start = (await (await post('/.stepgate/api/factors/totp', cookie)).json()) as { id: string; secret: string };
  const code = (epoch: number) => generate({ secret: start.secret, epoch });
  expect((await post(`/.stepgate/api/factors/totp/${start.id}/confirm`, cookie, { code: await code(now() - 30) })).status).toBe(200);
  const { challenge_id } = (await (await post('/.stepgate/api/factors/step-up', cookie)).json()) as { challenge_id: string };
  const ok = await post(`/.stepgate/api/challenges/${challenge_id}/verify`, cookie, { method: 'totp', code: await code(now()) });
  expect(ok.status).toBe(200);
  stepped = `${cookie}; ${ok.headers.get('set-cookie')!.split(';')[0]}`;
  expect((await post('/.stepgate/api/admin/bootstrap', stepped)).status).toBe(201);
}, 120_000);

afterAll(async () => {
  await gw?.dispose();
  await origin?.close();
  await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
  receiver?.closeAllConnections();
});

describe('webhook delivery', () => {
  it('signs every attempt, retries 500s after the back-off, stops once delivered, and audits each attempt', async () => {
    const put = await call('PUT', WEBHOOK, { url: `${hookUrl}/flaky`, format: 'json' });
    expect(put.status).toBe(201);
    const { secret } = (await put.json()) as { secret: string };
    const sent = await call('POST', `${WEBHOOK}/test`, {});
    expect(sent.status).toBe(202);
    const { delivery } = (await sent.json()) as { delivery: string };

    const got = await arrived('/flaky', 3, 30_000);
    // The back-off: at least 2 s before the second attempt, at least 10 s before the third (alarm times, to the millisecond).
    expect(got[1]!.at - got[0]!.at).toBeGreaterThanOrEqual(2_000 - 50);
    expect(got[2]!.at - got[1]!.at).toBeGreaterThanOrEqual(10_000 - 50);
    for (const a of got) {
      expect(verifies(a.headers['stepgate-signature'] as string, a.body, secret)).toBe(true);
      expect(verifies(a.headers['stepgate-signature'] as string, `${a.body} `, secret)).toBe(false);
      expect(a.headers['stepgate-event']).toBe('webhook.test');
      expect(a.headers['stepgate-delivery']).toBe(delivery);
      expect(a.headers['content-type']).toBe('application/json');
      expect(a.headers.cookie).toBeUndefined();
      // What and where only: never a request body, a cookie, a session or the secret.
      const doc = JSON.parse(a.body) as Record<string, unknown>;
      expect(Object.keys(doc).sort()).toEqual(['approval', 'console_url', 'delivery', 'event', 'sent_at']);
      // The delivery id is signed with the body: the same id in the body as in the header, on every attempt.
      expect(doc.delivery).toBe(delivery);
      expect(Object.keys(doc.approval as object).sort()).toEqual([
        'app',
        'expires_at',
        'host',
        'id',
        'method',
        'path',
        'requester',
        'rule',
      ]);
      expect(doc).toMatchObject({ event: 'webhook.test', approval: { requester: 'alice' } });
      for (const never of [secret, 'whsec_', cookie.split('=')[1]!, 'demo_session', '"body"', 'stepgate-factors'])
        expect(a.body).not.toContain(never);
    }
    // Delivered: no fourth attempt.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(arrivals.filter((a) => a.path === '/flaky')).toHaveLength(3);

    const r = await call('GET', '/.stepgate/api/admin/audit/events?type=notification.sent,notification.failed&order=asc&limit=50');
    expect(r.status).toBe(200);
    const { events } = (await r.json()) as { events: { event: { type: string; org: string; details: Record<string, unknown> } }[] };
    const mine = events.map((e) => e.event).filter((e) => e.details.delivery === delivery);
    expect(mine.map((e) => [e.type, e.details.attempt, e.details.status])).toEqual([
      ['notification.failed', 1, 500],
      ['notification.failed', 2, 500],
      ['notification.sent', 3, 200],
    ]);
    for (const e of mine) {
      expect(e.details).toMatchObject({ org: 'default', event: 'webhook.test', approval: 'test', delivery });
      expect(JSON.stringify(e)).not.toContain(hookUrl);
      expect(JSON.stringify(e)).not.toContain(secret);
    }
    expect(typeof mine[0]!.details.retry_at).toBe('string');
    expect(mine[2]!.details.retry_at).toBeUndefined();
  }, 60_000);

  it('sends the Slack shape with the same facts, signed with the new secret of the new PUT', async () => {
    const put = await call('PUT', WEBHOOK, { url: `${hookUrl}/slack`, format: 'slack' });
    expect(put.status).toBe(200);
    const { secret } = (await put.json()) as { secret: string };
    expect((await call('POST', `${WEBHOOK}/test`, {})).status).toBe(202);
    const [a] = await arrived('/slack', 1, 15_000);
    expect(verifies(a!.headers['stepgate-signature'] as string, a!.body, secret)).toBe(true);
    const doc = JSON.parse(a!.body) as { text: string; blocks: unknown[]; metadata: { event_payload: Record<string, string> } };
    expect(Object.keys(doc).sort()).toEqual(['blocks', 'metadata', 'text']);
    expect(doc.metadata.event_payload).toMatchObject({ delivery: a!.headers['stepgate-delivery'], event: 'webhook.test' });
    expect(doc.text).toMatch(
      new RegExp(
        String.raw`^Test notice from Stepgate: alice asks to POST /\.stepgate/test on 127\.0\.0\.1 .* ` +
          String.raw`Review: http://127\.0\.0\.1:\d+/\.stepgate/approvals$`,
      ),
    );
    expect(a!.body).not.toContain(secret);
    expect(Buffer.byteLength(a!.body)).toBeLessThanOrEqual(8 * 1024);
  }, 30_000);
});
