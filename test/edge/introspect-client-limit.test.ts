/**
 * The per-client cap of the `introspect` identity source (edge/identity/introspect-client-limit.ts):
 * a client inventing session cookies is refused (`unavailable`, 503) past its allowance without the
 * app being called, also when the guesses arrive at once; sessions that name a person are given
 * back; kept answers cost nothing; clients are counted by network; and the table stays bounded
 * however many networks call, the clients past it sharing one allowance.
 */
import { describe, expect, it } from 'vitest';
import { createIntrospectSource, IntrospectCache, IntrospectClientLimit } from '../../edge/identity/introspect-source';
import {
  clientNetwork,
  INTROSPECT_CLIENT_CALLS,
  INTROSPECT_CLIENT_WINDOW_MS,
  INTROSPECT_CLIENTS,
} from '../../edge/identity/introspect-client-limit';

const base = { source: 'introspect', cookie: 'sessionid', url: 'https://app.example/api/me' } as const;
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status });

/** A source with a limit of `calls` per minute for at most `clients` clients, an endpoint `answer`, and a clock. */
function harness(answer: (cookie: string) => Response | Promise<Response>, calls = 5, clients = 100) {
  let clock = 1_000_000;
  const limit = new IntrospectClientLimit(calls, 60_000, clients);
  const cache = new IntrospectCache(10_000, limit);
  const asked: string[] = [];
  const identify = createIntrospectSource(
    base,
    {},
    {
      fetch: async (_url, init) => {
        const cookie = new Headers(init.headers).get('cookie')!;
        asked.push(cookie);
        return answer(cookie);
      },
      now: () => clock,
      cache,
    },
  );
  const from = (ip: string | null, session: string) =>
    identify(
      new Request('https://app.example/x', { headers: { cookie: `sessionid=${session}`, ...(ip ? { 'cf-connecting-ip': ip } : {}) } }),
    );
  return { from, asked, limit, cache, tick: (ms: number) => (clock += ms) };
}

const UNAVAILABLE = { ok: false, reason: 'unavailable' };
const INVALID = { ok: false, reason: 'invalid' };

describe('the introspect per-client cap', () => {
  it('has documented defaults', () => {
    expect([INTROSPECT_CLIENT_CALLS, INTROSPECT_CLIENT_WINDOW_MS, INTROSPECT_CLIENTS]).toEqual([60, 60_000, 10_000]);
  });

  it('refuses a client past its allowance without calling the app; its network too; others and a later minute go on', async () => {
    const h = harness(() => json({}, 401));
    for (let i = 0; i < 5; i++) expect(await h.from('198.51.100.7', `guess${i}`)).toEqual(INVALID);
    expect(h.asked).toHaveLength(5);
    expect(await h.from('198.51.100.7', 'guess5')).toEqual(UNAVAILABLE);
    expect(await h.from('198.51.100.200', 'guess6')).toEqual(UNAVAILABLE); // the same /24
    expect(h.asked).toHaveLength(5);
    // another network is not held up
    expect(await h.from('203.0.113.9', 'other')).toEqual(INVALID);
    expect(h.asked).toHaveLength(6);
    h.tick(60_000);
    expect(await h.from('198.51.100.7', 'guess7')).toEqual(INVALID);
    expect(h.asked).toHaveLength(7);
  });

  it('counts an IPv6 client by its /64, and every request without an address as one client', async () => {
    const h = harness(() => json({}, 401), 2);
    await h.from('2001:db8:1:2::1', 'a');
    await h.from('2001:db8:1:2:ffff::9', 'b');
    expect(await h.from('2001:db8:1:2::abcd', 'c')).toEqual(UNAVAILABLE);
    expect(await h.from('2001:db8:1:3::1', 'd')).toEqual(INVALID);
    await h.from(null, 'e');
    await h.from(null, 'f');
    expect(await h.from(null, 'g')).toEqual(UNAVAILABLE);
    expect(h.asked).toHaveLength(5);
  });

  it('refuses guesses arriving at once beyond the allowance: exactly that many calls', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const h = harness(async () => {
      await gate;
      return json({}, 401);
    });
    const all = Array.from({ length: 40 }, (_, i) => h.from('198.51.100.7', `burst${i}`));
    await new Promise((r) => setTimeout(r, 10));
    release();
    const results = await Promise.all(all);
    expect(h.asked).toHaveLength(5);
    expect(results.filter((r) => !r.ok && r.reason === 'invalid')).toHaveLength(5);
    expect(results.filter((r) => !r.ok && r.reason === 'unavailable')).toHaveLength(35);
    expect(results.some((r) => r.ok)).toBe(false);
  });

  it('gives back calls that name a person: many people behind one address sign in', async () => {
    const h = harness((cookie) => json({ id: cookie.slice('sessionid='.length) }));
    for (let i = 0; i < 50; i++) expect(await h.from('198.51.100.7', `person${i}`)).toMatchObject({ ok: true });
    expect(h.asked).toHaveLength(50);
  });

  it('kept answers cost nothing: a known session passes while its client is past the allowance', async () => {
    const h = harness((cookie) => (cookie === 'sessionid=good' ? json({ id: 'alice' }) : json({}, 401)));
    expect(await h.from('198.51.100.7', 'good')).toMatchObject({ ok: true });
    for (let i = 0; i < 5; i++) await h.from('198.51.100.7', `guess${i}`);
    expect(await h.from('198.51.100.7', 'guess-more')).toEqual(UNAVAILABLE);
    expect(await h.from('198.51.100.7', 'good')).toMatchObject({ ok: true, identity: { sub: 'alice' } });
    expect(await h.from('198.51.100.7', 'guess0')).toEqual(INVALID); // kept refusal, no call
    expect(h.asked).toHaveLength(6);
  });

  it('stays bounded: past its table, clients share one allowance; the app is never called more than the caps allow', async () => {
    const h = harness(() => json({}, 401), 2, 50);
    for (let n = 0; n < 1000; n++) {
      for (let i = 0; i < 3; i++) await h.from(`10.${n >> 8}.${n & 255}.1`, `n${n}-${i}`);
    }
    expect(h.limit.size).toBe(50);
    expect(h.asked).toHaveLength(50 * 2 + 2);
    expect(h.cache.size.refused).toBeLessThanOrEqual(10_000);
    // a minute later the old clients are forgotten, and a new one has its own allowance again
    h.tick(60_000);
    expect(await h.from('192.0.2.1', 'later')).toEqual(INVALID);
    expect(h.limit.size).toBe(1);
  });

  it('the limit alone: take, refund, windows', () => {
    const l = new IntrospectClientLimit(2, 1000, 10);
    const a = l.take('a', 0)!;
    expect(l.take('a', 1)).not.toBeNull();
    expect(l.take('a', 2)).toBeNull();
    l.refund(a);
    expect(l.take('a', 3)).not.toBeNull();
    expect(l.take('a', 999)).toBeNull();
    expect(l.take('a', 1000)).not.toBeNull(); // a new window
  });
});

describe('the client network', () => {
  it.each([
    ['198.51.100.7', '198.51.100.0/24'],
    ['2001:db8:a77a:c4:1:2:3:4', '2001:db8:a77a:c4::/64'],
    ['2001:DB8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['::ffff:203.0.113.9', '203.0.113.0/24'],
    ['::', '0:0:0:0::/64'],
    ['not an address', 'not an address'],
    ['999.1.1.1', '999.1.1.1'],
    ['x'.repeat(100), 'x'.repeat(64)],
    ['', null],
    [null, null],
  ])('%s → %s', (ip, want) => {
    expect(clientNetwork(ip)).toBe(want);
  });
});
