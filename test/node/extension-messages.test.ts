/**
 * The extension's message handlers and background logic, with the browser replaced by fakes and a
 * site that signs prompts with a real Ed25519 key: pairing, unpairing, polling, prompt
 * verification (signature, typ, aud, expiry, id, host), one window per challenge, the badge.
 */
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { isMessage, type PairedSite } from '../../extension/src/lib/messages';
import type { VerifiedPrompt } from '../../shared/wire-shapes';
import { createBackground, type Background } from '../../extension/src/background/background-core';
import type { Area, Platform } from '../../extension/src/background/platform';
import { BURST_DURATION_MS, MAX_OPEN_WINDOWS } from '../../extension/src/background/prompt-polling';
import { markerRule, permissionPattern, siteOrigin } from '../../extension/src/lib/sites';
import { promptVerifier } from '../../extension/src/lib/verify-prompt';

const SITE = 'http://localhost:8787';
let now = Date.parse('2026-11-29T12:00:00Z');
let privateKey: CryptoKey;
let otherKey: CryptoKey;
let jwk: JWK;

beforeAll(async () => {
  const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  privateKey = pair.privateKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'sg-prompt-k1', alg: 'EdDSA' };
  otherKey = (await generateKeyPair('EdDSA', { crv: 'Ed25519' })).privateKey;
});

const payloadFor = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  rule: 'delete-project',
  bind: 'action',
  factors: ['webauthn', 'totp', 'recovery'],
  max_age: 300,
  action: {
    method: 'DELETE',
    host: 'localhost:8787',
    path: `/api/projects/${id.length}`,
    query: '',
    bodySha256: '47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU',
  },
  matched_method: 'DELETE',
  body: { kind: 'json', bytes: 14, fields: [{ name: 'reason', value: 'old' }], truncated: false },
  requested_from: { page: SITE, ip: null, user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0' },
  created_at: new Date(now).toISOString(),
  expires_at: new Date(now + 60_000).toISOString(),
  held: true,
  hold_until: new Date(now + 60_000).toISOString(),
  ...over,
});

const sign = (payload: Record<string, unknown>, opts: { key?: CryptoKey; typ?: string; aud?: string; exp?: number } = {}) =>
  new SignJWT(payload)
    .setProtectedHeader({ alg: 'EdDSA', kid: 'sg-prompt-k1', typ: opts.typ ?? 'stepgate-prompt+jwt' })
    .setIssuer('stepgate')
    .setAudience(opts.aud ?? 'localhost')
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(opts.exp ?? Math.floor(now / 1000) + 60)
    .sign(opts.key ?? privateKey);

/** A fake Stepgate site: what it answers, and what it was asked. */
interface FakeSite {
  signedIn: boolean;
  wellKnown: unknown;
  challenges: { id: string; prompt: string; held?: boolean; [k: string]: unknown }[];
  requests: string[];
}
let site: FakeSite;

const fakeFetch: typeof fetch = async (input) => {
  const url = new URL(String(input));
  site.requests.push(url.pathname);
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  if (url.origin !== SITE) throw new TypeError('Failed to fetch');
  switch (url.pathname) {
    case '/.well-known/stepgate':
      return json(200, site.wellKnown);
    case '/.well-known/stepgate/prompt-jwks.json':
      return json(200, { keys: [jwk] });
    case '/.stepgate/api/challenges':
      return site.signedIn
        ? json(200, { challenges: site.challenges })
        : json(401, { code: 'ERR_IDENTITY_REQUIRED', detail: 'Sign in to the application first.' });
    case `/.stepgate/api/challenges/${url.pathname.split('/')[4]}/deny`: {
      // Denying withdraws the challenge, as the edge does; a second denial finds nothing.
      const had = site.challenges.some((c) => c.id === url.pathname.split('/')[4]);
      site.challenges = site.challenges.filter((c) => c.id !== url.pathname.split('/')[4]);
      return had ? json(200, { denied: true }) : json(404, { code: 'ERR_CHALLENGE_NOT_FOUND', detail: 'No such challenge.' });
    }
    case '/.stepgate/api/factors':
      return site.signedIn
        ? json(200, { totp: [{ id: 't1' }], webauthn: [{ id: 'w1' }, { id: 'w2' }], recovery_codes_left: 9, enrolment: 'first-use' })
        : json(401, { code: 'ERR_IDENTITY_REQUIRED', detail: 'Sign in to the application first.' });
    default:
      return new Response('<html>not found</html>', { status: 404, headers: { 'content-type': 'text/html' } });
  }
};

const memoryArea = (): Area & { data: Map<string, unknown> } => {
  const data = new Map<string, unknown>();
  return {
    data,
    get: async <T>(k: string) => structuredClone(data.get(k)) as T | undefined,
    set: async (k, v) => void data.set(k, structuredClone(v)),
  };
};

let granted: Set<string>;
let rules: Map<number, unknown>;
let windows: { site: string; id: string; windowId: number }[];
let openWindows: Set<number>;
let badge: string;
let logs: string[];
let bg: Background;
let local: ReturnType<typeof memoryArea>;
let session: ReturnType<typeof memoryArea>;

beforeEach(() => {
  site = { signedIn: true, wellKnown: { stepgate: '0.1.0', endpoints: {}, factors: ['webauthn', 'totp'] }, challenges: [], requests: [] };
  granted = new Set([permissionPattern(SITE)]);
  rules = new Map();
  windows = [];
  openWindows = new Set();
  badge = '';
  logs = [];
  local = memoryArea();
  session = memoryArea();
  let nextWindow = 100;
  const platform: Platform = {
    version: '9.9.9',
    now: () => now,
    fetch: fakeFetch,
    local,
    session,
    permissions: { contains: async (p) => granted.has(p), remove: async (p) => granted.delete(p) },
    rules: {
      installed: async () => [...rules.keys()],
      update: async (add, remove) => {
        for (const id of remove) rules.delete(id);
        for (const r of add) rules.set(r.id, r);
      },
    },
    windows: {
      open: async (s, id) => {
        const windowId = nextWindow++;
        windows.push({ site: s, id, windowId });
        openWindows.add(windowId);
        return windowId;
      },
      focus: async (w) => openWindows.has(w),
    },
    badge: async (t) => {
      badge = t;
    },
    verifier: promptVerifier({ fetch: fakeFetch, now: () => now }),
    log: (m) => logs.push(m),
  };
  bg = createBackground(platform);
});
afterEach(() => vi.useRealTimers());

const pairSite = async () => {
  const r = await bg.handlers['sites/pair']({ origin: SITE });
  expect(r).toMatchObject({ ok: true });
  return r as { ok: true; site: PairedSite };
};

describe('message map', () => {
  it('narrows only known message keys', () => {
    const keys = Object.keys(bg.handlers);
    expect(keys.sort()).toEqual([
      'approval/get',
      'approval/settled',
      'approvals/list',
      'approvals/open',
      'notices/cancel',
      'notices/dismiss',
      'notices/list',
      'prompt/get',
      'prompt/settled',
      'prompts/open',
      'prompts/poll',
      'sites/list',
      'sites/pair',
      'sites/unpair',
      'status/get',
    ]);
    expect(isMessage({ type: 'sites/pair', payload: { origin: SITE } }, keys)).toBe(true);
    for (const m of [null, 'sites/pair', { type: 'tabs/steal' }, { type: 7 }, { payload: {} }]) expect(isMessage(m, keys)).toBe(false);
  });

  it('status/get reports the version, paired sites and pending prompts', async () => {
    expect(await bg.handlers['status/get']({})).toEqual({ version: '9.9.9', pairedSites: [], pending: [] });
    await pairSite();
    expect((await bg.handlers['status/get']({})).pairedSites).toEqual([SITE]);
  });
});

describe('pairing', () => {
  it('normalizes what a person types and refuses what cannot be paired', () => {
    expect(siteOrigin('app.example.com/path?q')).toBe('https://app.example.com');
    expect(siteOrigin(' http://localhost:8787/x ')).toBe('http://localhost:8787');
    expect(() => siteOrigin('http://app.example.com')).toThrow(/Only https/);
    expect(() => siteOrigin('javascript:alert(1)')).toThrow(TypeError);
    expect(() => siteOrigin('https://u:p@example.com')).toThrow(/user name/);
    expect(() => siteOrigin('')).toThrow(/Enter the address/);
    expect(permissionPattern('http://localhost:8787')).toBe('http://localhost/*');
  });

  it('stores the site and installs the marker rule: this origin, its own pages, fetch/XHR only', async () => {
    const { site: s } = await pairSite();
    expect(s).toEqual({ origin: SITE, name: 'localhost:8787', pairedAt: now, ruleId: 1 });
    expect(local.data.get('sites')).toEqual([s]);
    expect(rules.get(1)).toEqual({
      id: 1,
      priority: 1,
      action: { type: 'modifyHeaders', requestHeaders: [{ header: 'Stepgate-Extension', operation: 'set', value: '1' }] },
      condition: { urlFilter: '|http://localhost:8787/', initiatorDomains: ['localhost'], resourceTypes: ['xmlhttprequest'] },
    });
    // Pairing again is harmless: same record, one rule.
    await pairSite();
    expect(local.data.get('sites')).toHaveLength(1);
    expect(rules.size).toBe(1);
  });

  it('refuses without the host permission (the page asks for it, with the person’s click)', async () => {
    granted.clear();
    expect(await bg.handlers['sites/pair']({ origin: SITE })).toMatchObject({ ok: false, code: 'EXT_PERMISSION_REFUSED' });
    expect(site.requests).toEqual([]);
  });

  it('refuses a site that is not Stepgate, and gives the permission back', async () => {
    site.wellKnown = { hello: 'world' };
    expect(await bg.handlers['sites/pair']({ origin: SITE })).toMatchObject({
      ok: false,
      code: 'EXT_NOT_STEPGATE',
      message: expect.stringContaining('did not answer as a site protected by Stepgate'),
    });
    expect(granted.size).toBe(0);
    expect(local.data.get('sites')).toBeUndefined();
    expect(rules.size).toBe(0);
  });

  it('refuses bad input with a sentence', async () => {
    expect(await bg.handlers['sites/pair']({ origin: 'ftp://x' })).toMatchObject({ ok: false, code: 'EXT_BAD_INPUT' });
  });

  it('lists paired sites with permission, sign-in and factor counts', async () => {
    await pairSite();
    expect((await bg.handlers['sites/list']({})).sites[0]).toMatchObject({
      permission: true,
      signedIn: true,
      factors: { webauthn: 2, totp: 1, recoveryCodesLeft: 9 },
      problem: null,
    });
    site.signedIn = false;
    expect((await bg.handlers['sites/list']({})).sites[0]).toMatchObject({ permission: true, signedIn: false, factors: null });
    granted.clear();
    expect((await bg.handlers['sites/list']({})).sites[0]).toMatchObject({
      permission: false,
      problem: expect.stringContaining('pair it again'),
    });
  });

  it('unpairing removes the site, its rule, its permission and its pending prompts', async () => {
    await pairSite();
    site.challenges = [{ id: 'a'.repeat(22), prompt: await sign(payloadFor('a'.repeat(22))) }];
    await bg.pollSite(SITE);
    expect(badge).toBe('1');
    expect(await bg.handlers['sites/unpair']({ origin: SITE })).toEqual({ ok: true });
    expect(local.data.get('sites')).toEqual([]);
    expect(rules.size).toBe(0);
    expect(granted.size).toBe(0);
    expect(badge).toBe('');
    expect(await bg.handlers['sites/unpair']({ origin: SITE })).toMatchObject({ ok: false });
  });

  it('finishes a pairing the person started when the permission arrives (the asking page may be gone)', async () => {
    await bg.permissionsAdded([permissionPattern(SITE)]);
    expect(local.data.get('sites')).toBeUndefined();
    await session.set('pairIntent', { origin: SITE, at: now - 1000 });
    await bg.permissionsAdded(['https://other.example/*']);
    expect(local.data.get('sites')).toBeUndefined();
    await bg.permissionsAdded([permissionPattern(SITE)]);
    expect(local.data.get('sites')).toEqual([expect.objectContaining({ origin: SITE })]);
    expect(await session.get('pairIntent')).toBeNull();
    // A stale intent is ignored.
    await session.set('pairIntent', { origin: 'http://localhost:9999', at: now - 10 * 60_000 });
    await bg.permissionsAdded([permissionPattern(SITE)]);
    expect(local.data.get('sites')).toHaveLength(1);
  });

  it('reconcile() reinstalls exactly the rules of the paired sites', async () => {
    await pairSite();
    rules.clear();
    rules.set(42, { stale: true });
    await bg.reconcile();
    expect([...rules.keys()]).toEqual([1]);
    expect(rules.get(1)).toEqual(markerRule({ origin: SITE, ruleId: 1 }));
  });
});

describe('prompts', () => {
  const id1 = 'A'.repeat(22);
  const id2 = 'B'.repeat(22);

  it('opens one window per held challenge, never a second for the same one, and counts them on the badge', async () => {
    await pairSite();
    site.challenges = [
      { id: id1, prompt: await sign(payloadFor(id1)) },
      { id: id2, prompt: await sign(payloadFor(id2, { held: false })) },
    ];
    const pending = await bg.pollSite(SITE);
    expect(pending.map((p) => p.prompt.id)).toEqual([id1, id2]);
    expect(windows).toEqual([{ site: SITE, id: id1, windowId: 100 }]);
    expect(badge).toBe('2');
    await Promise.all([bg.pollSite(SITE), bg.pollSite(SITE), bg.pollAll()]);
    expect(windows).toHaveLength(1);
    // A window the person closed is not reopened by polling, only when they ask (popup "Review").
    expect(await bg.handlers['prompts/open']({ site: SITE, id: id2 })).toEqual({ ok: true });
    expect(windows).toHaveLength(2);
    // (Settled first: closing an unanswered prompt denies it, see "closing a prompt window".)
    await bg.handlers['prompt/settled']({ site: SITE, id: id2, outcome: 'expired' });
    openWindows.delete(101);
    await bg.windowClosed(101);
    await bg.pollSite(SITE);
    expect(windows).toHaveLength(2);
    expect(await bg.handlers['prompts/open']({ site: SITE, id: id2 })).toEqual({ ok: true });
    expect(windows).toHaveLength(3);
    expect(await bg.handlers['prompts/open']({ site: SITE, id: 'Z'.repeat(22) })).toMatchObject({
      ok: false,
      code: 'ERR_CHALLENGE_NOT_FOUND',
    });
  });

  it(`opens at most ${MAX_OPEN_WINDOWS} windows at once against push bombing; the rest wait on the badge`, async () => {
    await pairSite();
    const ids = [...'CDEFG'].map((c) => c.repeat(22));
    site.challenges = await Promise.all(ids.map(async (id) => ({ id, prompt: await sign(payloadFor(id)) })));
    await bg.pollSite(SITE);
    expect(windows).toHaveLength(MAX_OPEN_WINDOWS);
    expect(badge).toBe('5');
  });

  it('shows only prompts whose signature and claims verify', async () => {
    await pairSite();
    const bad: [string, Promise<string>][] = [
      ['another key', sign(payloadFor('H'.repeat(22)), { key: otherKey })],
      ['wrong typ', sign(payloadFor('I'.repeat(22)), { typ: 'JWT' })],
      ['another site (aud)', sign(payloadFor('J'.repeat(22)), { aud: 'evil.example' })],
      ['expired', sign(payloadFor('K'.repeat(22)), { exp: Math.floor(now / 1000) - 120 })],
      [
        'another action host',
        sign(payloadFor('L'.repeat(22), { action: { method: 'DELETE', host: 'evil.example', path: '/', query: '', bodySha256: '' } })),
      ],
      ['malformed body', sign(payloadFor('M'.repeat(22), { body: { kind: 'json', fields: 'x' } }))],
      ['malformed origin', sign(payloadFor('P'.repeat(22), { requested_from: { page: 7 } }))],
    ];
    site.challenges = await Promise.all(bad.map(async ([, p], i) => ({ id: 'HIJKLMP'[i]!.repeat(22), prompt: await p })));
    // The unsigned fields beside a prompt are ignored: this one claims another request.
    site.challenges.push({
      id: 'N'.repeat(22),
      prompt: await sign(payloadFor('O'.repeat(22))),
      action: { method: 'GET', path: '/harmless' },
    });
    expect(await bg.pollSite(SITE)).toEqual([]);
    expect(windows).toEqual([]);
    expect(badge).toBe('');
    expect(logs).toHaveLength(8);
    expect(logs.join('\n')).toMatch(/aud/);
    expect(logs.join('\n')).toMatch(/for challenge O+, expected N+/);
  });

  it('prompt/get returns the verified payload, fetched afresh, and nothing else', async () => {
    await pairSite();
    site.challenges = [{ id: id1, prompt: await sign(payloadFor(id1)), action: { method: 'GET', host: 'x', path: '/lies' } }];
    const r = await bg.handlers['prompt/get']({ site: SITE, id: id1 });
    expect(r.ok).toBe(true);
    const p = (r as { prompt: VerifiedPrompt }).prompt;
    expect(p.action).toMatchObject({ method: 'DELETE', path: '/api/projects/22' });
    expect(p.body?.fields).toEqual([{ name: 'reason', value: 'old' }]);
    expect(p.requested_from).toEqual({ page: SITE, ip: null, user_agent: expect.stringContaining('Chrome/156') });
    expect(await bg.handlers['prompt/get']({ site: SITE, id: id2 })).toMatchObject({ ok: false, code: 'ERR_CHALLENGE_NOT_FOUND' });
    expect(await bg.handlers['prompt/get']({ site: 'https://unpaired.example', id: id1 })).toMatchObject({
      ok: false,
      code: 'EXT_BAD_INPUT',
    });
    site.challenges = [{ id: id1, prompt: await sign(payloadFor(id1), { key: otherKey }) }];
    expect(await bg.handlers['prompt/get']({ site: SITE, id: id1 })).toMatchObject({
      ok: false,
      code: 'EXT_BAD_PROMPT',
      message: expect.stringContaining('not shown'),
    });
  });

  it('prompt/settled takes the prompt off the badge; signing out clears the site’s prompts', async () => {
    await pairSite();
    site.challenges = [
      { id: id1, prompt: await sign(payloadFor(id1)) },
      { id: id2, prompt: await sign(payloadFor(id2)) },
    ];
    await bg.pollSite(SITE);
    expect(badge).toBe('2');
    await bg.handlers['prompt/settled']({ site: SITE, id: id1, outcome: 'approved' });
    expect(badge).toBe('1');
    site.signedIn = false;
    await bg.pollSite(SITE);
    expect(badge).toBe('');
  });

  it(
    'number matching: older edges’ prompts are this session’s; another session’s opens no window by itself, ' +
      'and nothing kept names the number (an older edge’s choices, a number beside or inside the prompt)',
    async () => {
      await pairSite();
      const own = 'Q'.repeat(22);
      const theirs = 'R'.repeat(22);
      const heldTheirs = 'S'.repeat(22);
      site.challenges = [
        // An older edge says nothing about sessions.
        { id: own, prompt: await sign(payloadFor(own)) },
        {
          id: theirs,
          // An older edge signed three choices: dropped, never shown.
          prompt: await sign(payloadFor(theirs, { other_session: true, number_choices: [86, 17, 42], held: false, hold_until: null })),
          number: 427,
        },
        // Held by the extension of the other browser, say: still not this browser's window to open.
        { id: heldTheirs, prompt: await sign(payloadFor(heldTheirs, { other_session: true, number: 512 })) },
      ];
      const pending = await bg.pollSite(SITE);
      expect(pending.map((p) => [p.prompt.id, p.prompt.other_session])).toEqual([
        [own, false],
        [theirs, true],
        [heldTheirs, true],
      ]);
      for (const p of pending) {
        expect(p.prompt).not.toHaveProperty('number_choices');
        expect(p.prompt).not.toHaveProperty('number');
      }
      expect(windows).toEqual([{ site: SITE, id: own, windowId: 100 }]);
      expect(badge).toBe('3');
      // The popup's Review opens it.
      expect(await bg.handlers['prompts/open']({ site: SITE, id: theirs })).toEqual({ ok: true });
      expect(windows.map((w) => w.id)).toEqual([own, theirs]);
      const r = await bg.handlers['prompt/get']({ site: SITE, id: theirs });
      expect(r).toMatchObject({ ok: true, prompt: { other_session: true } });
      expect(JSON.stringify(r)).not.toMatch(/427|number/);
    },
  );

  it('number matching: refuses other_session that is not a boolean, and a session grant across sessions', async () => {
    await pairSite();
    const cases: [string, Record<string, unknown>][] = [
      ['other_session not boolean', { other_session: 'yes' }],
      ['a session grant from another session', { other_session: true, bind: 'session' }],
    ];
    const ids = cases.map((_, i) => String.fromCharCode(97 + i).repeat(22));
    site.challenges = await Promise.all(cases.map(async ([, over], i) => ({ id: ids[i]!, prompt: await sign(payloadFor(ids[i]!, over)) })));
    // Unsigned fields beside the prompt cannot make a prompt another session's.
    const plain = 'T'.repeat(22);
    site.challenges.push({ id: plain, prompt: await sign(payloadFor(plain, { other_session: false })), other_session: true });
    const pending = await bg.pollSite(SITE);
    expect(pending.map((p) => [p.prompt.id, p.prompt.other_session])).toEqual([[plain, false]]);
    expect(logs).toHaveLength(cases.length);
    expect(logs.join('\n')).toMatch(/"other_session" must be true or false/);
    expect(logs.join('\n')).toMatch(/must be a one-time approval/);
  });

  it('prompts past their time are dropped', async () => {
    await pairSite();
    site.challenges = [{ id: id1, prompt: await sign(payloadFor(id1, { expires_at: new Date(now - 1).toISOString() })) }];
    expect(await bg.pollSite(SITE)).toEqual([]);
  });
});

describe('closing a prompt window', () => {
  const held = 'H'.repeat(22);
  const denyPath = (id: string) => `/.stepgate/api/challenges/${id}/deny`;

  it('before answering denies the request at once: the site withdraws it, the badge drops it', async () => {
    await pairSite();
    site.challenges = [{ id: held, prompt: await sign(payloadFor(held)) }];
    await bg.pollSite(SITE);
    expect(windows).toEqual([{ site: SITE, id: held, windowId: 100 }]);
    expect(badge).toBe('1');
    openWindows.delete(100);
    await bg.windowClosed(100);
    expect(site.requests.filter((r) => r === denyPath(held))).toHaveLength(1);
    expect(site.challenges).toEqual([]);
    expect(badge).toBe('');
    // Another window's close (not ours) denies nothing.
    await bg.windowClosed(999);
    expect(site.requests.filter((r) => r.endsWith('/deny'))).toHaveLength(1);
    expect(logs).toEqual([]);
  });

  it('after the prompt was answered or expired denies nothing; after it failed (a lock, say) it still denies', async () => {
    await pairSite();
    const answered = 'J'.repeat(22);
    const failed = 'K'.repeat(22);
    site.challenges = await Promise.all([held, answered, failed].map(async (id) => ({ id, prompt: await sign(payloadFor(id)) })));
    await bg.pollSite(SITE);
    expect(windows.map((w) => w.windowId)).toEqual([100, 101, 102]);
    await bg.handlers['prompt/settled']({ site: SITE, id: held, outcome: 'approved' });
    await bg.handlers['prompt/settled']({ site: SITE, id: answered, outcome: 'expired' });
    await bg.handlers['prompt/settled']({ site: SITE, id: failed, outcome: 'gone' });
    for (const w of [100, 101, 102]) await bg.windowClosed(w);
    expect(site.requests.filter((r) => r.endsWith('/deny'))).toEqual([denyPath(failed)]);
  });

  it('a denial the site no longer needs (answered elsewhere meanwhile) is quiet', async () => {
    await pairSite();
    site.challenges = [{ id: held, prompt: await sign(payloadFor(held)) }];
    await bg.pollSite(SITE);
    site.challenges = [];
    await bg.windowClosed(100);
    expect(site.requests.filter((r) => r === denyPath(held))).toHaveLength(1);
    expect(logs).toEqual([]);
  });
});

describe('noticing held requests', () => {
  it('a non-GET fetch to a paired site starts a burst of polling; Stepgate’s own and the extension’s calls do not', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    await pairSite();
    const polls = () => site.requests.filter((p) => p === '/.stepgate/api/challenges').length;
    bg.requestStarted({ requestId: '1', url: `${SITE}/.stepgate/api/factors`, method: 'POST', initiator: SITE });
    bg.requestStarted({ requestId: '2', url: `${SITE}/api/projects/1`, method: 'DELETE', initiator: 'chrome-extension://abc' });
    bg.requestStarted({ requestId: '3', url: 'https://unpaired.example/api/x', method: 'DELETE', initiator: 'https://unpaired.example' });
    await vi.advanceTimersByTimeAsync(2000);
    expect(polls()).toBe(0);

    bg.requestStarted({ requestId: '4', url: `${SITE}/api/projects/1`, method: 'DELETE', initiator: SITE });
    await vi.advanceTimersByTimeAsync(2000);
    expect(polls()).toBeGreaterThanOrEqual(4);
    now += BURST_DURATION_MS + 1;
    await vi.advanceTimersByTimeAsync(1000);
    await bg.idle();
    const after = polls();
    await vi.advanceTimersByTimeAsync(5000);
    expect(polls()).toBe(after);
  });

  it('a GET starts polling only when it is still unanswered after a moment', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    await pairSite();
    const polls = () => site.requests.filter((p) => p === '/.stepgate/api/challenges').length;
    bg.requestStarted({ requestId: 'fast', url: `${SITE}/api/projects`, method: 'GET', initiator: SITE });
    await vi.advanceTimersByTimeAsync(10);
    await bg.requestEnded({ requestId: 'fast', url: `${SITE}/api/projects`, statusCode: 200 });
    await vi.advanceTimersByTimeAsync(2000);
    expect(polls()).toBe(0);
    bg.requestStarted({ requestId: 'slow', url: `${SITE}/api/report`, method: 'GET', initiator: SITE });
    await vi.advanceTimersByTimeAsync(2000);
    expect(polls()).toBeGreaterThan(0);
    now += BURST_DURATION_MS + 1;
    await vi.advanceTimersByTimeAsync(1000);
    await bg.idle();
  });

  it('a 429 from a paired site pauses its prompts (shown in the popup) until Retry-After', async () => {
    await pairSite();
    await bg.requestEnded({ requestId: '9', url: `${SITE}/api/projects/2`, statusCode: 429, retryAfter: '42' });
    expect((await bg.handlers['sites/list']({})).sites[0]!.throttledUntil).toBe(now + 42_000);
    await bg.requestEnded({ requestId: '10', url: 'https://unpaired.example/x', statusCode: 429, retryAfter: '42' });
    now += 43_000;
    expect((await bg.handlers['sites/list']({})).sites[0]!.throttledUntil).toBeNull();
  });
});
