/**
 * The `introspect` identity source, unit by unit, with a stand-in "who am I" endpoint: what is
 * sent (the session cookie alone, no redirects), how each answer is read (200 + a subject, 401/403,
 * everything else `unavailable`), the per-isolate cache (keyed by a hash of the cookie, bounded,
 * one call in flight per session) and its configuration. The real exchange over loopback, with the
 * demo app and the gateway in workerd, is test/node/identity-introspect.test.ts.
 */
import { describe, expect, it, vi } from 'vitest';
import { productionProblems } from '../../edge/config/production-checks';
import { sha256b64u } from '../../edge/crypto/base64';
import { identityRefusal, signInMayHelp } from '../../edge/identity/identity-refusal';
import { createIdentitySource, type Identity } from '../../edge/identity/identity-source';
import {
  type Answer,
  createIntrospectSource,
  IntrospectCache,
  INTROSPECT_CACHE_ENTRIES,
  MAX_ANSWER_BYTES,
  subjectAt,
} from '../../edge/identity/introspect-source';
import { sessionId } from '../../edge/identity/session-id';
import { ErrorCode } from '../../shared/errors';

const URL_ME = 'https://app.example/api/me';
const base = { source: 'introspect', cookie: 'sessionid', url: URL_ME } as const;
const dev = { ENVIRONMENT: 'development' };

interface Call {
  url: string;
  init: RequestInit;
}

/** A source whose endpoint is `answer`, with a clock the test moves and every call recorded. */
function harness(answer: (call: Call) => Response | Promise<Response>, cfg: Record<string, unknown> = {}) {
  const calls: Call[] = [];
  let clock = 1_000_000;
  const cache = new IntrospectCache();
  const identify = createIntrospectSource({ ...base, ...cfg } as never, dev, {
    fetch: async (url, init) => {
      const call = { url, init };
      calls.push(call);
      return answer(call);
    },
    now: () => clock,
    cache,
  });
  return {
    identify,
    calls,
    cache,
    tick: (ms: number) => {
      clock += ms;
    },
  };
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const withCookie = (cookie: string, headers: Record<string, string> = {}) =>
  new Request('https://app.example/x', { headers: { cookie, ...headers } });

describe('subjectAt: the person the JSON names', () => {
  it.each([
    [{ id: 'alice' }, 'id', 'alice'],
    [{ id: 42 }, 'id', '42'],
    [{ id: 0 }, 'id', '0'],
    [{ user: { id: 'u-7' } }, 'user.id', 'u-7'],
    [{ users: [{ id: 'first' }] }, 'users.0.id', 'first'],
    [{ 'user.id': 'flat' }, 'user.id', null], // a dot path, never a key with a dot
    [{ id: '' }, 'id', null],
    [{ id: 'x'.repeat(257) }, 'id', null],
    [{ id: 1.5 }, 'id', null],
    [{ id: 2 ** 60 }, 'id', null],
    [{ id: true }, 'id', null],
    [{ id: null }, 'id', null],
    [{ id: { value: 'alice' } }, 'id', null],
    [{ name: 'alice' }, 'id', null],
    [{}, 'constructor', null],
    [{}, 'toString', null],
    [JSON.parse('{"__proto__": {"id": "mallory"}}'), 'id', null],
    [null, 'id', null],
    ['alice', 'id', null],
    [['alice'], '0', 'alice'],
  ])('%j at %s → %s', (doc, path, want) => {
    expect(subjectAt(doc, path)).toBe(want);
  });
});

describe('what Stepgate sends the endpoint', () => {
  it('GET, the session cookie alone, Accept: application/json, no redirects, a deadline', async () => {
    const h = harness(() => json({ id: 'alice' }));
    const r = await h.identify(withCookie('theme=dark; sessionid=abc123; csrftoken=t0k', { 'x-api-key': 'k', 'user-agent': 'ua' }));
    expect(r.ok).toBe(true);
    expect(h.calls).toHaveLength(1);
    const { url, init } = h.calls[0]!;
    expect(url).toBe(URL_ME);
    expect(init.method).toBe('GET');
    expect(init.redirect).toBe('manual');
    expect(init.signal).toBeInstanceOf(AbortSignal);
    expect(init.body ?? null).toBeNull();
    expect(Object.fromEntries(new Headers(init.headers).entries())).toEqual({ accept: 'application/json', cookie: 'sessionid=abc123' });
  });

  it('the identity: the subject, a session id and session hash from the cookie value (never the value itself)', async () => {
    const h = harness(() => json({ user: { id: 7 } }), { userField: 'user.id' });
    const r = await h.identify(withCookie('sessionid=abc123'));
    expect(r).toEqual({
      ok: true,
      identity: {
        sub: '7',
        subject: '7',
        sid: await sessionId('7', 'tok:abc123'),
        sessionHash: await sha256b64u('abc123'),
        source: 'introspect',
      } satisfies Identity,
    });
    const other = await h.identify(withCookie('sessionid=def456'));
    expect(other.ok && r.ok && other.identity.sid !== r.identity.sid).toBe(true);
    expect(JSON.stringify(r)).not.toContain('abc123');
  });
});

describe('how each answer is read', () => {
  it.each([
    ['401', () => json({ error: 'no' }, 401), 'invalid'],
    ['403', () => new Response('forbidden', { status: 403 }), 'invalid'],
    ['500', () => json({ error: 'db down' }, 500), 'unavailable'],
    ['502', () => new Response('bad gateway', { status: 502 }), 'unavailable'],
    ['404', () => json({ error: 'no such route' }, 404), 'unavailable'],
    ['204', () => new Response(null, { status: 204 }), 'unavailable'],
    ['a redirect to the login page', () => new Response(null, { status: 302, headers: { location: '/login' } }), 'unavailable'],
    ['200 HTML', () => new Response('<!doctype html><p>Sign in</p>', { status: 200 }), 'unavailable'],
    ['200 JSON without the field', () => json({ name: 'alice' }), 'unavailable'],
    ['200 JSON naming nobody', () => json({ id: null }), 'unavailable'],
    ['200 JSON with an empty id', () => json({ id: '' }), 'unavailable'],
    ['200 with a body past the limit', () => json({ id: 'alice', pad: 'x'.repeat(MAX_ANSWER_BYTES) }), 'unavailable'],
    [
      '200 streamed past the limit, no length given',
      () => {
        const chunk = new TextEncoder().encode(' '.repeat(16 * 1024));
        let sent = 0;
        return new Response(
          new ReadableStream({
            pull(c) {
              if (sent++ > 100) c.close();
              else c.enqueue(chunk);
            },
          }),
        );
      },
      'unavailable',
    ],
    [
      'a network error',
      () => {
        throw new TypeError('fetch failed');
      },
      'unavailable',
    ],
  ])('%s → %s', async (_what, answer, reason) => {
    const h = harness(answer);
    expect(await h.identify(withCookie('sessionid=abc123'))).toEqual({ ok: false, reason });
    expect(h.calls).toHaveLength(1);
  });

  it('an endpoint that does not answer in timeoutMs → unavailable, the call aborted', async () => {
    let aborted = false;
    const h = harness(
      ({ init }) =>
        new Promise<Response>((_, reject) => {
          init.signal!.addEventListener('abort', () => {
            aborted = true;
            reject(new DOMException('aborted', 'AbortError'));
          });
        }),
      { timeoutMs: 100 },
    );
    const t0 = Date.now();
    expect(await h.identify(withCookie('sessionid=abc123'))).toEqual({ ok: false, reason: 'unavailable' });
    expect(aborted).toBe(true);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('a call that never settles (its request cancelled) does not hold the next request for ever', async () => {
    let n = 0;
    const h = harness(() => (n++ === 0 ? new Promise<Response>(() => {}) : json({ id: 'alice' })), { timeoutMs: 100 });
    expect(await h.identify(withCookie('sessionid=abc123'))).toEqual({ ok: false, reason: 'unavailable' });
    expect(h.cache.size.inflight).toBe(0);
    expect(await h.identify(withCookie('sessionid=abc123'))).toMatchObject({ ok: true, identity: { sub: 'alice' } });
    expect(h.calls).toHaveLength(2);
  });
});

describe('what is refused before any call', () => {
  it.each([
    ['no cookie header', {}, 'missing'],
    ['other cookies only', { cookie: 'theme=dark' }, 'missing'],
    ['an empty session cookie', { cookie: 'sessionid=' }, 'missing'],
    ['the session cookie twice', { cookie: 'sessionid=a; sessionid=b' }, 'ambiguous'],
    ['the session cookie in another spelling too', { cookie: 'sessionid=a; SessionID=b' }, 'ambiguous'],
    ['the session cookie and a bearer token', { cookie: 'sessionid=a', authorization: 'Bearer opaque-token' }, 'ambiguous'],
    ['the session cookie and Basic credentials', { cookie: 'sessionid=a', authorization: 'Basic YWxpY2U6cHc=' }, 'ambiguous'],
    ['a bearer token alone', { authorization: 'Bearer opaque-token' }, 'missing'],
    ['a value that is not cookie-octets', { cookie: 'sessionid=caf\u00e9' }, 'invalid'],
    ['a value longer than a browser keeps', { cookie: `sessionid=${'a'.repeat(4097)}` }, 'invalid'],
  ])('%s → %s', async (_what, headers, reason) => {
    const h = harness(() => json({ id: 'alice' }));
    expect(await h.identify(new Request('https://app.example/x', { headers }))).toEqual({ ok: false, reason });
    expect(h.calls).toEqual([]);
  });

  it('ambiguity(): the session cookie read the one strict way (edge/identity/session-cookie.ts)', () => {
    const h = harness(() => json({ id: 'alice' }));
    expect(h.identify.ambiguity(new Headers({ cookie: 'sessionid=a; sessionid=b' }))).toMatch(/more than once/);
    expect(h.identify.ambiguity(new Headers({ cookie: 'sessionid =a; x=1' }))).toMatch(/unusual/);
    expect(h.identify.ambiguity(new Headers({ cookie: 'x=1; sessionid=a' }))).toBeNull();
    expect(h.identify.ambiguity(new Headers())).toBeNull();
  });
});

describe('the cache', () => {
  it('one call for many requests with one cookie; none per request in the steady state', async () => {
    const h = harness(() => json({ id: 'alice' }));
    for (let i = 0; i < 50; i++) expect((await h.identify(withCookie('sessionid=abc123'))).ok).toBe(true);
    expect(h.calls).toHaveLength(1);
  });

  it('concurrent requests for one session share the one call in flight', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const h = harness(async () => {
      await gate;
      return json({ id: 'alice' });
    });
    const all = Array.from({ length: 20 }, () => h.identify(withCookie('sessionid=abc123')));
    await new Promise((r) => setTimeout(r, 10));
    expect(h.cache.size.inflight).toBe(1);
    release();
    const results = await Promise.all(all);
    expect(results.every((r) => r.ok && r.identity.sub === 'alice')).toBe(true);
    expect(h.calls).toHaveLength(1);
    expect(h.cache.size).toEqual({ known: 1, refused: 0, inflight: 0 });
  });

  it('keeps a person for cacheSeconds, then asks again', async () => {
    let who = 'alice';
    const h = harness(() => json({ id: who }), { cacheSeconds: 10 });
    expect(await h.identify(withCookie('sessionid=abc123'))).toMatchObject({ ok: true, identity: { sub: 'alice' } });
    who = 'bob';
    h.tick(9_999);
    expect(await h.identify(withCookie('sessionid=abc123'))).toMatchObject({ ok: true, identity: { sub: 'alice' } });
    h.tick(1);
    expect(await h.identify(withCookie('sessionid=abc123'))).toMatchObject({ ok: true, identity: { sub: 'bob' } });
    expect(h.calls).toHaveLength(2);
  });

  it('keeps an invalid session for 5 s (not cacheSeconds), then asks again', async () => {
    let status = 401;
    const h = harness(() => (status === 401 ? json({}, 401) : json({ id: 'alice' })), { cacheSeconds: 60 });
    expect(await h.identify(withCookie('sessionid=abc123'))).toEqual({ ok: false, reason: 'invalid' });
    status = 200;
    h.tick(4_999);
    expect(await h.identify(withCookie('sessionid=abc123'))).toEqual({ ok: false, reason: 'invalid' });
    h.tick(1);
    expect(await h.identify(withCookie('sessionid=abc123'))).toMatchObject({ ok: true });
    expect(h.calls).toHaveLength(2);
  });

  it('keeps an invalid session for cacheSeconds when that is shorter than 5 s', async () => {
    const h = harness(() => json({}, 403), { cacheSeconds: 2 });
    await h.identify(withCookie('sessionid=abc123'));
    h.tick(1_999);
    await h.identify(withCookie('sessionid=abc123'));
    expect(h.calls).toHaveLength(1);
    h.tick(1);
    await h.identify(withCookie('sessionid=abc123'));
    expect(h.calls).toHaveLength(2);
  });

  it('never keeps "unavailable": the next request asks again', async () => {
    let fail = true;
    const h = harness(() => (fail ? json({}, 503) : json({ id: 'alice' })));
    expect(await h.identify(withCookie('sessionid=abc123'))).toEqual({ ok: false, reason: 'unavailable' });
    fail = false;
    expect(await h.identify(withCookie('sessionid=abc123'))).toMatchObject({ ok: true });
    expect(h.calls).toHaveLength(2);
  });

  it('is keyed by the SHA-256 of the cookie value, never the value', async () => {
    const h = harness(() => json({ id: 'alice' }));
    const get = vi.spyOn(h.cache, 'get');
    const set = vi.spyOn(h.cache, 'set');
    await h.identify(withCookie('sessionid=abc123-secret-session'));
    const key = await sha256b64u('abc123-secret-session');
    expect(get).toHaveBeenCalledWith(key, expect.any(Number));
    expect(set).toHaveBeenCalledWith(key, expect.anything(), expect.any(Number));
    expect(JSON.stringify([...get.mock.calls, ...set.mock.calls])).not.toContain('abc123-secret-session');
  });

  it('is bounded: the least recently used person goes first, and refused sessions never push out people', () => {
    const cache = new IntrospectCache(3);
    const person = (sub: string): Answer => ({
      kind: 'person',
      identity: { sub, subject: sub, sid: sub, sessionHash: sub, source: 'introspect' },
    });
    for (const k of ['a', 'b', 'c']) cache.set(k, person(k), 100);
    expect(cache.get('a', 0)).toMatchObject({ kind: 'person' }); // a is now the most recently used
    cache.set('d', person('d'), 100);
    expect(cache.get('b', 0)).toBeUndefined();
    expect(['a', 'c', 'd'].map((k) => cache.get(k, 0)?.kind)).toEqual(['person', 'person', 'person']);
    for (let i = 0; i < 10; i++) cache.set(`bad${i}`, { kind: 'invalid' }, 100);
    expect(cache.size).toEqual({ known: 3, refused: 3, inflight: 0 });
    expect(cache.get('bad9', 0)).toEqual({ kind: 'invalid' });
    expect(cache.get('bad0', 0)).toBeUndefined();
    expect(cache.get('a', 200)).toBeUndefined(); // expired, and dropped
    expect(cache.size.known).toBe(2);
  });

  it('a client cannot grow it without bound', async () => {
    expect(INTROSPECT_CACHE_ENTRIES).toBe(10_000);
    const cache = new IntrospectCache(50);
    const identify = createIntrospectSource(base, dev, { fetch: async () => json({}, 401), cache });
    for (let i = 0; i < 200; i++) await identify(withCookie(`sessionid=guess${i}`));
    expect(cache.size).toEqual({ known: 0, refused: 50, inflight: 0 });
  });
});

describe('configuration', () => {
  it.each([
    ['no cookie', { source: 'introspect', url: URL_ME }, /cookie/],
    ['no url', { source: 'introspect', cookie: 's' }, /url/],
    ['a url that is not http(s)', { ...base, url: 'ftp://app.example/me' }, /url/],
    ['credentials in the url', { ...base, url: 'https://user:pw@app.example/me' }, /user name or password/],
    ['a cookie name with a space', { ...base, cookie: 'my session' }, /cookie/],
    ['a userField with an empty segment', { ...base, userField: 'user..id' }, /userField/],
    ['an empty userField', { ...base, userField: '' }, /userField/],
    ['cacheSeconds 0', { ...base, cacheSeconds: 0 }, /cacheSeconds/],
    ['cacheSeconds 301', { ...base, cacheSeconds: 301 }, /cacheSeconds/],
    ['cacheSeconds 1.5', { ...base, cacheSeconds: 1.5 }, /cacheSeconds/],
    ['timeoutMs 99', { ...base, timeoutMs: 99 }, /timeoutMs/],
    ['timeoutMs 10001', { ...base, timeoutMs: 10_001 }, /timeoutMs/],
    ['an unknown setting', { ...base, bearer: true }, /bearer|unrecognized/i],
    ['an absolute loginUrl', { ...base, loginUrl: 'https://evil.example/' }, /loginUrl/],
  ])('refuses %s', (_what, cfg, message) => {
    expect(() => createIdentitySource(cfg, dev)).toThrow(message);
  });

  it('https anywhere; plain http only for a loopback host in development', () => {
    expect(() => createIdentitySource({ ...base, cacheSeconds: 300, timeoutMs: 10_000, userField: 'a.b' }, {})).not.toThrow();
    expect(() => createIdentitySource({ ...base, url: 'http://127.0.0.1:8788/__demo/whoami' }, dev)).not.toThrow();
    expect(() => createIdentitySource({ ...base, url: 'http://localhost:8788/me' }, dev)).not.toThrow();
    expect(() => createIdentitySource({ ...base, url: 'http://127.0.0.1:8788/me' }, { ENVIRONMENT: 'production' })).toThrow(/https/);
    expect(() => createIdentitySource({ ...base, url: 'http://127.0.0.1:8788/me' }, {})).toThrow(/https/);
    expect(() => createIdentitySource({ ...base, url: 'http://app.example/me' }, dev)).toThrow(/https/);
  });

  it('production checks: the url must be public https', () => {
    const env = { ENVIRONMENT: 'production', STEPGATE_KEYS: undefined };
    const problems = (url: string) =>
      productionProblems({ ...env, IDENTITY: { ...base, url } }, { secrets: false }).filter((p) => p.setting === 'IDENTITY.url');
    expect(problems(URL_ME)).toEqual([]);
    expect(problems('http://app.example/api/me')).toMatchObject([{ problem: expect.stringMatching(/http:/) }]);
    expect(problems('http://127.0.0.1:8788/__demo/whoami')).toMatchObject([{ problem: expect.stringMatching(/loopback or private/) }]);
    expect(problems('https://10.0.0.5/api/me')).toMatchObject([{ problem: expect.stringMatching(/private/) }]);
  });
});

describe('the refusal', () => {
  it('unavailable → 503 ERR_IDENTITY_UNAVAILABLE, to retry shortly; never a login redirect', () => {
    const e = identityRefusal('unavailable');
    expect(e).toMatchObject({ code: ErrorCode.IdentityUnavailable, status: 503, headers: { 'retry-after': '5' } });
    expect(signInMayHelp('unavailable')).toBe(false);
    expect(signInMayHelp('ambiguous')).toBe(false);
    expect(signInMayHelp('missing')).toBe(true);
    expect(signInMayHelp('invalid')).toBe(true);
    expect(identityRefusal('invalid')).toMatchObject({ code: ErrorCode.IdentityRequired, status: 401 });
  });
});
