/**
 * Dual control in the extension's background (docs/extension.md, "Dual control"), with the browser
 * replaced by fakes and a fake Stepgate site signing prompts with a real Ed25519 key: approval
 * requests are asked for on the regular poll beside challenges, kept per site (awaiting you, yours),
 * counted on the badge with pending challenges, kept through a blip, cleared on sign-out and
 * unpairing, never asked again of an edge without dual control (404) until a restart; the
 * approver's own step-up challenge (`approval:<id>`) gets no challenge window of its own; Review
 * opens one approval window per request; nothing is fetched for an unpaired site or a malformed id.
 */
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBackground, type Background } from '../../extension/src/background/background-core';
import type { Area, Platform } from '../../extension/src/background/platform';
import { permissionPattern } from '../../extension/src/lib/sites';
import { promptVerifier } from '../../extension/src/lib/verify-prompt';
import { approval } from './extension-approvals-fixture';

const SITE = 'http://localhost:8787';
const SITE2 = 'http://localhost:8788';
const NOW = Date.parse('2026-12-01T12:00:00Z');
const A1 = 'apr_aaaaaaaaaaaaaaaaaaaa';
const A2 = 'apr_bbbbbbbbbbbbbbbbbbbb';

let privateKey: CryptoKey;
let jwk: JWK;
beforeAll(async () => {
  const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  privateKey = pair.privateKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'EdDSA' };
});

/** A signed challenge prompt of `origin` (rule `rule`). */
const challenge = async (origin: string, id: string, rule: string, held = true, host = new URL(origin).host) => {
  const payload = {
    id,
    rule,
    bind: 'action',
    factors: ['webauthn'],
    max_age: 300,
    action: { method: 'DELETE', host, path: '/api/projects/7', query: '', bodySha256: '47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU' },
    matched_method: 'DELETE',
    body: null,
    requested_from: null,
    created_at: new Date(NOW).toISOString(),
    expires_at: new Date(NOW + 60_000).toISOString(),
    held,
    hold_until: held ? new Date(NOW + 60_000).toISOString() : null,
  };
  const prompt = await new SignJWT(payload)
    .setProtectedHeader({ alg: 'EdDSA', kid: 'k1', typ: 'stepgate-prompt+jwt' })
    .setIssuer('stepgate')
    .setAudience('localhost')
    .setIssuedAt(Math.floor(NOW / 1000))
    .setExpirationTime(Math.floor(NOW / 1000) + 60)
    .sign(privateKey);
  return { ...payload, prompt };
};

interface FakeSite {
  /** `old`: an edge without dual control (404 for the approvals API). */
  mode: 'ok' | 'old' | 'down' | 'error' | 'busy' | 'signed-out';
  list: unknown;
  one: Record<string, unknown>;
  challenges: unknown[];
}
let sites: Record<string, FakeSite>;
let requests: string[];
let badge: string;
let windows: { site: string; id: string; mode: string | undefined; windowId: number }[];
let openWindows: Set<number>;
let logs: string[];
let session: Area & { data: Map<string, unknown> };
let local: Area & { data: Map<string, unknown> };

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const fakeFetch: typeof fetch = async (input, init) => {
  const url = new URL(String(input));
  const s = sites[url.origin];
  requests.push(`${init?.method ?? 'GET'} ${url.origin}${url.pathname}`);
  if (!s || s.mode === 'down') throw new TypeError('Failed to fetch');
  if (url.pathname === '/.well-known/stepgate') return json(200, { stepgate: '0.3.0', endpoints: {}, factors: ['webauthn'] });
  if (url.pathname === '/.well-known/stepgate/prompt-jwks.json') return json(200, { keys: [jwk] });
  if (s.mode === 'signed-out') return json(401, { code: 'ERR_IDENTITY_REQUIRED', detail: 'Sign in to the application first.' });
  if (url.pathname === '/.stepgate/api/challenges') return json(200, { challenges: s.challenges });
  if (url.pathname === '/.stepgate/api/me/notices') return json(200, { notices: [] });
  if (url.pathname.startsWith('/.stepgate/api/approvals')) {
    if (s.mode === 'old') return json(404, { code: 'ERR_NOT_FOUND', detail: 'No such Stepgate endpoint.' });
    if (s.mode === 'error') return json(503, { code: 'ERR_UNAVAILABLE', detail: 'Try again.' });
    if (s.mode === 'busy') return json(429, { code: 'ERR_RATE_LIMITED', detail: 'Slow down.' });
    if (url.pathname === '/.stepgate/api/approvals') return json(200, s.list);
    const id = decodeURIComponent(url.pathname.split('/').pop()!);
    return id in s.one ? json(200, s.one[id]) : json(404, { code: 'ERR_APPROVAL_NOT_FOUND', detail: 'No such approval request.' });
  }
  return json(404, { code: 'ERR_NOT_FOUND', detail: 'No such Stepgate endpoint.' });
};

const memoryArea = (): Area & { data: Map<string, unknown> } => {
  const data = new Map<string, unknown>();
  return {
    data,
    get: async <T>(k: string) => structuredClone(data.get(k)) as T | undefined,
    set: async (k, v) => void data.set(k, structuredClone(v)),
  };
};

/** The background as the browser starts it; `fresh`: a restart (the session area is emptied, local kept). */
const start = (fresh = false): Background => {
  if (fresh) session = memoryArea();
  let nextWindow = 100;
  const platform: Platform = {
    version: '9.9.9',
    now: () => NOW,
    fetch: fakeFetch,
    local,
    session,
    permissions: { contains: async (p) => p === permissionPattern(SITE), remove: async () => true },
    rules: { installed: async () => [], update: async () => undefined },
    windows: {
      open: async (site, id, mode) => {
        const windowId = nextWindow++;
        windows.push({ site, id, mode, windowId });
        openWindows.add(windowId);
        return windowId;
      },
      focus: async (w) => openWindows.has(w),
    },
    badge: async (t) => {
      badge = t;
    },
    verifier: promptVerifier({ fetch: fakeFetch, now: () => NOW }),
    log: (m) => logs.push(m),
  };
  return createBackground(platform);
};

let bg: Background;
beforeEach(async () => {
  const site = (): FakeSite => ({ mode: 'ok', list: { awaiting_you: [], yours: [] }, one: {}, challenges: [] });
  sites = { [SITE]: site(), [SITE2]: site() };
  requests = [];
  badge = '';
  windows = [];
  openWindows = new Set();
  logs = [];
  session = memoryArea();
  local = memoryArea();
  bg = start();
  for (const origin of [SITE, SITE2]) expect(await bg.handlers['sites/pair']({ origin })).toMatchObject({ ok: true });
  requests = [];
});

const approvalsAsked = (origin = SITE) => requests.filter((r) => r === `GET ${origin}/.stepgate/api/approvals`).length;

describe('approval requests (dual control)', () => {
  it('are asked for on the regular poll, kept per site, and counted on the badge with pending challenges, summed over sites', async () => {
    sites[SITE]!.list = {
      awaiting_you: [approval({ id: A1 })],
      yours: [approval({ id: A2, you: { requester: true, can_approve: false } })],
    };
    sites[SITE2]!.list = { awaiting_you: [approval({ id: A2 }, SITE2)], yours: [] };
    sites[SITE]!.challenges = [await challenge(SITE, 'C'.repeat(22), 'delete-project')];
    await bg.pollAll();
    expect(approvalsAsked(SITE)).toBe(1);
    expect(approvalsAsked(SITE2)).toBe(1);
    const { approvals } = await bg.handlers['approvals/list']({});
    expect(approvals.find((x) => x.site === SITE)).toMatchObject({ awaiting_you: [{ id: A1 }], yours: [{ id: A2 }] });
    expect(approvals.find((x) => x.site === SITE2)).toMatchObject({ awaiting_you: [{ id: A2 }], yours: [] });
    // One challenge + two requests awaiting the person (their own request is not counted).
    expect(badge).toBe('3');
    sites[SITE]!.list = { awaiting_you: [], yours: [] };
    sites[SITE2]!.list = { awaiting_you: [], yours: [] };
    await bg.pollAll();
    expect(badge).toBe('1');
  });

  it('are not asked for in the fast bursts of a held request', async () => {
    await bg.pollSite(SITE);
    expect(approvalsAsked()).toBe(0);
  });

  it('a site without dual control (404) is not asked again until the extension restarts', async () => {
    sites[SITE]!.mode = 'old';
    await bg.pollAll();
    await bg.pollAll();
    await bg.handlers['approvals/list']({});
    expect(approvalsAsked(SITE)).toBe(1);
    // The other site is asked every time.
    expect(approvalsAsked(SITE2)).toBe(3);
    expect((await bg.handlers['approvals/list']({})).approvals.map((x) => x.site)).toEqual([SITE2]);
    // Upgraded, and the browser restarted: asked again.
    sites[SITE]!.mode = 'ok';
    sites[SITE]!.list = { awaiting_you: [approval({ id: A1 })], yours: [] };
    bg = start(true);
    await bg.pollAll();
    expect(approvalsAsked(SITE)).toBe(2);
    expect(badge).toBe('1');
  });

  it('are kept through a blip (network, 5xx, 429), cleared on sign-out and on unpairing', async () => {
    sites[SITE]!.list = { awaiting_you: [approval({ id: A1 })], yours: [] };
    await bg.pollAll();
    expect(badge).toBe('1');
    for (const mode of ['down', 'error', 'busy'] as const) {
      sites[SITE]!.mode = mode;
      await bg.pollAll();
      expect(badge).toBe('1');
    }
    sites[SITE]!.mode = 'signed-out';
    await bg.pollAll();
    expect(badge).toBe('');
    sites[SITE]!.mode = 'ok';
    await bg.pollAll();
    expect(badge).toBe('1');
    expect(await bg.handlers['sites/unpair']({ origin: SITE })).toEqual({ ok: true });
    expect((await bg.handlers['approvals/list']({})).approvals.map((x) => x.site)).toEqual([SITE2]);
    expect(badge).toBe('');
  });

  it('keep only well-formed requests, with only their known members, at most 50 per list', async () => {
    const bad = [
      approval({ id: '../../admin' }),
      approval({ state: 'maybe' as never }),
      approval({ page_url: 'https://evil.example/.stepgate/approvals/x' }),
      approval({ page_url: '//evil.example/.stepgate/approvals/x' }),
      approval({ page_url: '/api/projects/1' }),
      approval({ required: 'one admin' as never }),
      { ...approval(), you: null },
      null,
      'x',
    ];
    sites[SITE]!.list = { awaiting_you: [...bad, { ...approval({ id: A1 }), extra: '<script>' }], yours: [] };
    await bg.pollAll();
    const mine = (await bg.handlers['approvals/list']({})).approvals.find((x) => x.site === SITE)!;
    expect(mine.awaiting_you).toEqual([approval({ id: A1 })]);
    expect(badge).toBe('1');
    sites[SITE]!.list = { awaiting_you: Array.from({ length: 80 }, (_, i) => approval({ id: `apr_${i}` })), yours: [] };
    await bg.pollAll();
    expect(badge).toBe('50');
    sites[SITE]!.list = { awaiting_you: 'not a list', yours: [] };
    await bg.pollAll();
    expect(badge).toBe('');
    expect(logs.some((l) => l.includes('malformed'))).toBe(true);
  });

  it('past their expiry are not counted on the badge', async () => {
    sites[SITE]!.list = {
      awaiting_you: [approval({ id: A1, expires_at: new Date(NOW - 1).toISOString() }), approval({ id: A2 })],
      yours: [],
    };
    await bg.pollAll();
    expect(badge).toBe('1');
  });
});

describe("the approver's step-up challenge", () => {
  it('gets no challenge window, is not listed or counted, cannot be opened as a challenge; the approval window reads it', async () => {
    const stepUp = 'S'.repeat(22);
    sites[SITE]!.challenges = [
      await challenge(SITE, stepUp, `approval:${A1}`, true),
      await challenge(SITE, 'N'.repeat(22), 'delete-project', true),
    ];
    const pending = await bg.pollSite(SITE);
    expect(pending.map((x) => x.prompt.id)).toEqual(['N'.repeat(22)]);
    expect(windows.map((w) => w.id)).toEqual(['N'.repeat(22)]);
    expect(badge).toBe('1');
    expect(await bg.handlers['prompts/open']({ site: SITE, id: stepUp })).toMatchObject({ ok: false, code: 'ERR_CHALLENGE_NOT_FOUND' });
    expect(windows).toHaveLength(1);
    expect(await bg.handlers['prompt/get']({ site: SITE, id: stepUp })).toMatchObject({ ok: true, prompt: { rule: `approval:${A1}` } });
  });

  it("of a request of another app of the organisation is read with that app's host, and only a step-up may name another host", async () => {
    const stepUp = 'S'.repeat(22);
    const other = 'O'.repeat(22);
    sites[SITE]!.challenges = [
      await challenge(SITE, stepUp, `approval:${A1}`, false, 'billing.example'),
      await challenge(SITE, other, 'delete-project', false, 'billing.example'),
    ];
    expect(await bg.handlers['prompt/get']({ site: SITE, id: stepUp, actionHost: 'billing.example' })).toMatchObject({
      ok: true,
      prompt: { action: { host: 'billing.example' } },
    });
    // Without naming it, the site's own host is expected, as for every prompt.
    expect(await bg.handlers['prompt/get']({ site: SITE, id: stepUp })).toMatchObject({ ok: false, code: 'EXT_BAD_PROMPT' });
    // Any other challenge naming another host stays refused, even when asked with that host.
    expect(await bg.handlers['prompt/get']({ site: SITE, id: other, actionHost: 'billing.example' })).toMatchObject({
      ok: false,
      code: 'EXT_BAD_PROMPT',
      message: /not a step-up/,
    });
    // And polling shows neither.
    expect(await bg.pollSite(SITE)).toEqual([]);
    expect(windows).toEqual([]);
  });
});

describe('the approval window', () => {
  it('Review opens one approval window per listed request, focusing it the second time; an unlisted one opens nothing', async () => {
    sites[SITE]!.list = { awaiting_you: [approval({ id: A1 })], yours: [] };
    await bg.pollAll();
    expect(await bg.handlers['approvals/open']({ site: SITE, id: A1 })).toEqual({ ok: true });
    expect(windows).toEqual([{ site: SITE, id: A1, mode: 'approval', windowId: 100 }]);
    expect(await bg.handlers['approvals/open']({ site: SITE, id: A1 })).toEqual({ ok: true });
    expect(windows).toHaveLength(1);
    // Closed by the person: Review opens it again.
    openWindows.clear();
    await bg.windowClosed(100);
    expect(await bg.handlers['approvals/open']({ site: SITE, id: A1 })).toEqual({ ok: true });
    expect(windows).toHaveLength(2);
    for (const [site, id] of [
      [SITE, A2],
      [SITE2, A1],
      ['https://evil.example', A1],
    ] as const) {
      expect(await bg.handlers['approvals/open']({ site, id })).toMatchObject({ ok: false, code: 'ERR_APPROVAL_NOT_FOUND' });
    }
    expect(windows).toHaveLength(2);
  });

  it('closing it withdraws the step-up that window opened, and nothing else; the request is not decided', async () => {
    sites[SITE]!.list = { awaiting_you: [approval({ id: A1 })], yours: [] };
    await bg.pollAll();
    const mine = 'S'.repeat(22);
    const otherApproval = 'T'.repeat(22);
    const theirs = 'U'.repeat(22);
    // Same request, same session, started on the site's approval page in a tab: not the window's to withdraw.
    const inTab = 'V'.repeat(22);
    sites[SITE]!.challenges = [
      { ...(await challenge(SITE, mine, `approval:${A1}`, false)), other_session: false },
      { ...(await challenge(SITE, otherApproval, `approval:${A2}`, false)), other_session: false },
      // Another session's (never this window's to withdraw).
      { ...(await challenge(SITE, theirs, `approval:${A1}`, false)), other_session: true },
      { ...(await challenge(SITE, inTab, `approval:${A1}`, false)), other_session: false },
    ];
    expect(await bg.handlers['approvals/open']({ site: SITE, id: A1 })).toEqual({ ok: true });
    // The window opens its step-up and asks for its prompt (as approval-page.ts does).
    expect(await bg.handlers['prompt/get']({ site: SITE, id: mine, actionHost: new URL(SITE).host })).toMatchObject({ ok: true });
    requests = [];
    openWindows.clear();
    await bg.windowClosed(100);
    expect(requests.filter((r) => r.startsWith('POST'))).toEqual([`POST ${SITE}/.stepgate/api/challenges/${mine}/deny`]);
    expect(requests.some((r) => r.includes('/approvals/'))).toBe(false);
  });

  it('approval/get fetches the request afresh and checks it; nothing is fetched for an unpaired site or a malformed id', async () => {
    sites[SITE]!.one = {
      [A1]: { ...approval({ id: A1 }), extra: 1 },
      [A2]: approval({ id: A1 }),
      bad: approval({ id: 'bad', page_url: 'https://evil.example/' }),
    };
    expect(await bg.handlers['approval/get']({ site: SITE, id: A1 })).toEqual({ ok: true, approval: approval({ id: A1 }) });
    // Another request than asked, or one that is not well formed: refused.
    expect(await bg.handlers['approval/get']({ site: SITE, id: A2 })).toMatchObject({ ok: false, code: 'EXT_NOT_STEPGATE' });
    expect(await bg.handlers['approval/get']({ site: SITE, id: 'bad' })).toMatchObject({ ok: false, code: 'EXT_NOT_STEPGATE' });
    // The site's refusal, by its code.
    expect(await bg.handlers['approval/get']({ site: SITE, id: 'apr_gone' })).toMatchObject({ ok: false, code: 'ERR_APPROVAL_NOT_FOUND' });
    requests = [];
    expect(await bg.handlers['approval/get']({ site: 'https://evil.example', id: A1 })).toMatchObject({ ok: false, code: 'EXT_BAD_INPUT' });
    expect(await bg.handlers['approval/get']({ site: SITE, id: '../../me/factors' })).toMatchObject({ ok: false, code: 'EXT_BAD_INPUT' });
    expect(await bg.handlers['approval/get']({ site: SITE, id: 'a/b' })).toMatchObject({ ok: false, code: 'EXT_BAD_INPUT' });
    expect(requests).toEqual([]);
  });

  it('approval/settled asks the site again, so a decided request leaves the badge at once', async () => {
    sites[SITE]!.list = { awaiting_you: [approval({ id: A1 })], yours: [] };
    await bg.pollAll();
    expect(badge).toBe('1');
    sites[SITE]!.list = { awaiting_you: [], yours: [] };
    expect(await bg.handlers['approval/settled']({ site: SITE, id: A1 })).toEqual({ ok: true });
    expect(badge).toBe('');
    expect(await bg.handlers['approval/settled']({ site: 'https://evil.example', id: A1 })).toMatchObject({
      ok: false,
      code: 'EXT_BAD_INPUT',
    });
  });

  it('concurrent polls of two sites never overwrite each other', async () => {
    sites[SITE]!.list = { awaiting_you: [approval({ id: A1 })], yours: [] };
    sites[SITE2]!.list = { awaiting_you: [approval({ id: A2 }, SITE2)], yours: [] };
    await Promise.all([bg.handlers['approvals/list']({}), bg.handlers['approvals/list']({}), bg.pollAll()]);
    expect(((await session.get<unknown[]>('approvals')) ?? []).length).toBe(2);
    expect(badge).toBe('2');
  });
});
