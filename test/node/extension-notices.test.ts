/**
 * The extension's notices (docs/extension.md, "Notices"), with the browser replaced by fakes and a
 * fake Stepgate site: a recovery of the person's factors is fetched on the regular poll (never in
 * the fast bursts), kept only when well formed, shown on the badge when nothing else is pending,
 * cancelled with one message (the site's cancel endpoint, same JSON POST as the pages), and dropped
 * when the site no longer names it, when the person signs out, or when the site is unpaired. A
 * notice that an administrator removed the person's factors is kept the same way and dismissed (not cancelled).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createBackground, type Background } from '../../extension/src/background/background-core';
import { checkNotice, MAX_NOTICES_PER_SITE } from '../../extension/src/background/notice-polling';
import type { Area } from '../../extension/src/background/platform';
import { permissionPattern } from '../../extension/src/lib/sites';
import type { PromptVerifier } from '../../extension/src/lib/verify-prompt';
import type { RecoveryNotice, RevocationNotice } from '../../shared/wire-shapes';

const SITE = 'http://localhost:8787';
const ID = 'r3c0v3ry-id_1';
const notice = (over: Partial<RecoveryNotice> = {}): RecoveryNotice => ({
  kind: 'recovery',
  id: ID,
  state: 'started',
  started_at: '2026-11-29T12:00:00.000Z',
  effective_at: null,
  expires_at: '2026-12-02T12:00:00.000Z',
  can_complete: false,
  ...over,
});
const revoked: RevocationNotice = {
  kind: 'factors-revoked',
  id: 'factors-revoked',
  revoked_at: '2026-11-29T12:00:00.000Z',
  expires_at: '2026-12-29T12:00:00.000Z',
};

let site: { signedIn: boolean; notices: unknown; failing: boolean; requests: string[]; cancelled: string[] };
let badge: string;
let session: Area & { data: Map<string, unknown> };
let bg: Background;

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const fakeFetch: typeof fetch = async (input, init) => {
  const url = new URL(String(input));
  site.requests.push(`${init?.method ?? 'GET'} ${url.pathname}`);
  if (site.failing) throw new TypeError('Failed to fetch');
  if (url.pathname === '/.well-known/stepgate') return json(200, { stepgate: '0.2.0', endpoints: {}, factors: ['totp'] });
  if (!site.signedIn) return json(401, { code: 'ERR_IDENTITY_REQUIRED', detail: 'Sign in to the application first.' });
  if (url.pathname === '/.stepgate/api/challenges') return json(200, { challenges: [] });
  if (url.pathname === '/.stepgate/api/me/notices') return json(200, { notices: site.notices });
  if (url.pathname === '/.stepgate/api/me/notices/factors-revoked/dismiss' && init?.method === 'POST') {
    const had = Array.isArray(site.notices) && site.notices.length > 0;
    site.notices = [];
    return had ? json(200, { dismissed: true, id: 'factors-revoked' }) : json(404, { code: 'ERR_NOT_FOUND', detail: 'No such notice.' });
  }
  const cancel = /^\/\.stepgate\/api\/me\/recoveries\/([^/]+)\/cancel$/.exec(url.pathname);
  if (cancel && init?.method === 'POST') {
    if (decodeURIComponent(cancel[1]!) !== ID) return json(404, { code: 'ERR_NOT_FOUND', detail: 'No such recovery under way for you.' });
    site.cancelled.push(cancel[1]!);
    site.notices = [];
    return json(200, { cancelled: true, id: ID });
  }
  return json(404, { code: 'ERR_NOT_FOUND', detail: 'No such Stepgate endpoint.' });
};

const memoryArea = (): Area & { data: Map<string, unknown> } => {
  const data = new Map<string, unknown>();
  return { data, get: async <T>(k: string) => structuredClone(data.get(k)) as T | undefined, set: async (k, v) => void data.set(k, v) };
};

beforeEach(async () => {
  site = { signedIn: true, notices: [], failing: false, requests: [], cancelled: [] };
  badge = '';
  session = memoryArea();
  const granted = new Set([permissionPattern(SITE)]);
  bg = createBackground({
    version: '9.9.9',
    now: () => Date.parse('2026-11-29T12:00:00Z'),
    fetch: fakeFetch,
    local: memoryArea(),
    session,
    permissions: { contains: async (p) => granted.has(p), remove: async (p) => granted.delete(p) },
    rules: { installed: async () => [], update: async () => undefined },
    windows: { open: async () => 1, focus: async () => true },
    badge: async (t) => {
      badge = t;
    },
    verifier: { verify: async () => Promise.reject(new Error('no prompts here')) } as unknown as PromptVerifier,
    log: () => undefined,
  });
  expect(await bg.handlers['sites/pair']({ origin: SITE })).toMatchObject({ ok: true });
  site.requests = [];
});

describe('notices', () => {
  it('are fetched on the regular poll, shown on the badge, and gone once the site no longer names them', async () => {
    site.notices = [notice()];
    await bg.pollAll();
    expect(site.requests).toContain('GET /.stepgate/api/me/notices');
    expect(badge).toBe('!');
    expect((await bg.handlers['notices/list']({})).notices).toEqual([{ site: SITE, notice: notice() }]);
    site.notices = [notice({ state: 'approved', effective_at: '2026-11-30T12:00:00.000Z' })];
    expect((await bg.handlers['notices/list']({})).notices[0]!.notice).toMatchObject({ state: 'approved' });
    site.notices = [];
    await bg.pollAll();
    expect(badge).toBe('');
  });

  it('are not asked for in the fast bursts of a held request', async () => {
    await bg.pollSite(SITE);
    expect(site.requests).toEqual(['GET /.stepgate/api/challenges']);
  });

  it('are kept through a network blip, dropped when the person signs out or the site is unpaired', async () => {
    site.notices = [notice()];
    await bg.pollAll();
    site.failing = true;
    expect((await bg.handlers['notices/list']({})).notices).toHaveLength(1);
    site.failing = false;
    site.signedIn = false;
    expect((await bg.handlers['notices/list']({})).notices).toEqual([]);
    site.signedIn = true;
    await bg.pollAll();
    expect(await bg.handlers['sites/unpair']({ origin: SITE })).toEqual({ ok: true });
    expect(session.data.get('notices')).toEqual([]);
    expect(badge).toBe('');
  });

  it('are cancelled on their site with one message; a recovery already gone is said so', async () => {
    site.notices = [notice()];
    await bg.pollAll();
    expect(await bg.handlers['notices/cancel']({ site: SITE, id: ID })).toEqual({ ok: true });
    expect(site.cancelled).toEqual([ID]);
    expect(site.requests).toContain(`POST /.stepgate/api/me/recoveries/${ID}/cancel`);
    expect(session.data.get('notices')).toEqual([]);
    expect(badge).toBe('');
    expect(await bg.handlers['notices/cancel']({ site: SITE, id: 'other' })).toMatchObject({ ok: false, message: /no longer under way/ });
    // Nothing is sent for a site that is not paired, or an id that is not one.
    site.requests = [];
    expect(await bg.handlers['notices/cancel']({ site: 'https://evil.example', id: ID })).toMatchObject({
      ok: false,
      code: 'EXT_BAD_INPUT',
    });
    expect(await bg.handlers['notices/cancel']({ site: SITE, id: '../../admin' })).toMatchObject({ ok: false, code: 'EXT_BAD_INPUT' });
    expect(site.requests).toEqual([]);
  });

  it('of a revocation are kept, shown on the badge, and dismissed on their site (never cancelled)', async () => {
    site.notices = [revoked];
    await bg.pollAll();
    expect(badge).toBe('!');
    expect((await bg.handlers['notices/list']({})).notices).toEqual([{ site: SITE, notice: revoked }]);
    expect(await bg.handlers['notices/dismiss']({ site: SITE, id: 'factors-revoked' })).toEqual({ ok: true });
    expect(site.requests).toContain('POST /.stepgate/api/me/notices/factors-revoked/dismiss');
    expect(session.data.get('notices')).toEqual([]);
    expect(badge).toBe('');
    // Already gone on the site (404): still no longer shown.
    expect(await bg.handlers['notices/dismiss']({ site: SITE, id: 'factors-revoked' })).toEqual({ ok: true });
    // Nothing is sent for a site that is not paired, or a notice that is not dismissable.
    site.requests = [];
    expect(await bg.handlers['notices/dismiss']({ site: 'https://evil.example', id: 'factors-revoked' })).toMatchObject({
      ok: false,
      code: 'EXT_BAD_INPUT',
    });
    expect(await bg.handlers['notices/dismiss']({ site: SITE, id: ID })).toMatchObject({ ok: false, code: 'EXT_BAD_INPUT' });
    expect(site.requests).toEqual([]);
  });

  it('keep only well-formed notices, with only their known members, a few per site', async () => {
    expect(checkNotice(notice())).toEqual(notice());
    expect(checkNotice({ ...notice(), extra: '<script>' })).toEqual(notice());
    expect(checkNotice({ ...revoked, state: 'started', extra: 1 })).toEqual(revoked);
    for (const bad of [
      { ...revoked, id: 'other' },
      { ...revoked, revoked_at: 'never' },
      { ...revoked, expires_at: 3 },
    ]) {
      expect(checkNotice(bad)).toBeNull();
    }
    for (const bad of [null, 'x', { ...notice(), kind: 'other' }, { ...notice(), id: 'a/b' }, { ...notice(), state: 'done' }]) {
      expect(checkNotice(bad)).toBeNull();
    }
    expect(checkNotice({ ...notice(), started_at: 'yesterday' })).toBeNull();
    site.notices = Array.from({ length: 50 }, (_, i) => notice({ id: `id-${i}` }));
    expect((await bg.handlers['notices/list']({})).notices).toHaveLength(MAX_NOTICES_PER_SITE);
    site.notices = 'not a list';
    expect((await bg.handlers['notices/list']({})).notices).toEqual([]);
  });
});
