/**
 * @module The background's logic, without the browser: pairing, the marker rules, polling paired
 * sites for pending approvals, opening one prompt window per challenge, the badge, and the
 * message handlers. Every browser API comes in through `Platform`, so tests run it in Node.
 */
import type { Failure, Handlers, PairedSite, PendingPrompt, SiteStatus, VerifiedPrompt } from '../../../shared/messages';
import { LocalCode, siteApi } from '../lib/site-api';
import { markerRule, nextRuleId, permissionPattern, siteOrigin, type MarkerRule } from '../lib/sites';
import { PromptVerificationError, type PromptVerifier } from '../lib/verify-prompt';

/** A key-value area (`storage.local` / `storage.session`). */
export interface Area {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
}

/** What the background needs from the browser. */
export interface Platform {
  version: string;
  now(): number;
  fetch: typeof fetch;
  /** Lasting state: the paired sites. */
  local: Area;
  /** State that dies with the browser session: pending prompts, opened windows, throttling. */
  session: Area;
  permissions: { contains(pattern: string): Promise<boolean>; remove(pattern: string): Promise<boolean> };
  rules: { installed(): Promise<number[]>; update(add: MarkerRule[], removeIds: number[]): Promise<void> };
  windows: {
    /** Open the prompt page for a challenge in its own small window; its id. */
    open(site: string, id: string): Promise<number | null>;
    /** Bring a window forward; false when it no longer exists. */
    focus(windowId: number): Promise<boolean>;
  };
  badge(text: string): Promise<void>;
  verifier: PromptVerifier;
  log(message: string): void;
}

/** The challenge list as the edge sends it: everything but `prompt` is unsigned and never shown. */
interface WireChallenge {
  id: string;
  prompt: string;
  held?: boolean;
}

/** Prompt windows open at once, at most: more pending approvals are counted on the badge and listed in the popup. */
export const MAX_OPEN_WINDOWS = 3;
/** After a marked request starts: poll every 500 ms for 15 s, so the prompt is up while the request is held. */
export const BURST_INTERVAL_MS = 500;
export const BURST_DURATION_MS = 15_000;
/** A GET that has not been answered after this long may be held: start polling. */
export const SLOW_REQUEST_MS = 600;
const THROTTLE_DEFAULT_MS = 60_000;
/** A pairing the person started is finished by the background if the permission arrives within this time. */
export const PAIR_INTENT_MS = 2 * 60 * 1000;

const keyOf = (site: string, id: string) => `${site} ${id}`;
const fail = (code: string, message: string): Failure => ({ ok: false, code, message });

type Opened = Record<string, { windowId: number | null; at: number }>;

export interface Background {
  handlers: Handlers;
  /** Ask one site for pending approvals; open windows for new held ones; recount the badge. */
  pollSite(origin: string): Promise<PendingPrompt[]>;
  pollAll(): Promise<PendingPrompt[]>;
  /** A fetch/XHR started (webRequest.onBeforeRequest): maybe a held one, so poll quickly for a while. */
  requestStarted(r: { requestId: string; url: string; method: string; initiator?: string | undefined }): void;
  /** A fetch/XHR ended (or failed): forget it; a 429 from the site means it refuses prompts for now. */
  requestEnded(r: { requestId: string; url: string; statusCode?: number; retryAfter?: string | null }): Promise<void>;
  /** A window closed: its challenge may be opened again from the popup. */
  windowClosed(windowId: number): Promise<void>;
  /**
   * Host permissions were granted: finish a pairing the person started (`pairIntent` in
   * storage.session), in case the page that asked is gone (Firefox may close the popup when its
   * permission prompt opens).
   */
  permissionsAdded(origins: string[]): Promise<void>;
  /** Make the marker rules match the paired sites (on install and start-up). */
  reconcile(): Promise<void>;
  /** Resolves when bursts started so far have ended (tests). */
  idle(): Promise<void>;
}

export function createBackground(p: Platform): Background {
  const sites = async (): Promise<PairedSite[]> => (await p.local.get<PairedSite[]>('sites')) ?? [];
  const saveSites = (list: PairedSite[]) => p.local.set('sites', list);
  const pendingAll = async (): Promise<PendingPrompt[]> => (await p.session.get<PendingPrompt[]>('pending')) ?? [];
  /** Paired origins, in memory for the hot webRequest path; refreshed on every change. */
  let pairedCache: Set<string> | null = null;
  const paired = async () => (pairedCache ??= new Set((await sites()).map((s) => s.origin)));

  const verifiedCache = new Map<string, VerifiedPrompt>();
  const inFlightPolls = new Map<string, Promise<PendingPrompt[]>>();
  const inFlightPairs = new Map<string, Promise<Failure | { ok: true; site: PairedSite }>>();
  const opening = new Set<string>();
  const bursts = new Map<string, { until: number; done: Promise<void> }>();
  const slow = new Map<string, ReturnType<typeof setTimeout>>();
  // Why: storage writes from concurrent polls of different sites must not overwrite each other.
  let sessionQueue: Promise<unknown> = Promise.resolve();
  const withSession = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = sessionQueue.then(fn, fn);
    sessionQueue = run.catch(() => undefined);
    return run;
  };

  const updateBadge = async (pending: PendingPrompt[]) => p.badge(pending.length ? String(pending.length) : '');

  async function openWindow(site: string, id: string, force: boolean): Promise<void> {
    const key = keyOf(site, id);
    if (opening.has(key)) return;
    opening.add(key);
    try {
      const opened = (await p.session.get<Opened>('opened')) ?? {};
      const had = opened[key];
      if (had) {
        // One window per challenge, ever: a closed one is reopened only when the person asks.
        if (had.windowId !== null && (await p.windows.focus(had.windowId))) return;
        if (!force) return;
      } else if (!force && Object.values(opened).filter((o) => o.windowId !== null).length >= MAX_OPEN_WINDOWS) {
        return;
      }
      const windowId = await p.windows.open(site, id);
      await withSession(async () => {
        const now = (await p.session.get<Opened>('opened')) ?? {};
        now[key] = { windowId, at: p.now() };
        await p.session.set('opened', now);
      });
    } finally {
      opening.delete(key);
    }
  }

  async function verifyAll(site: string, list: WireChallenge[]): Promise<VerifiedPrompt[]> {
    const out: VerifiedPrompt[] = [];
    for (const c of list) {
      if (typeof c?.id !== 'string' || typeof c.prompt !== 'string') continue;
      const cacheKey = `${site} ${c.prompt}`;
      let v = verifiedCache.get(cacheKey);
      if (!v) {
        try {
          v = await p.verifier.verify(site, c.prompt, c.id);
          verifiedCache.set(cacheKey, v);
        } catch (e) {
          // Not shown, not counted: an unverifiable prompt is not an approval anyone can act on.
          p.log(`stepgate: prompt ${c.id} from ${site} refused: ${(e as Error).message}`);
          continue;
        }
      }
      if (Date.parse(v.expires_at) > p.now()) out.push(v);
    }
    return out;
  }

  async function pollSiteOnce(site: string): Promise<PendingPrompt[]> {
    const r = await siteApi<{ challenges?: WireChallenge[] }>(site, '/.stepgate/api/challenges', {}, p.fetch);
    let verified: VerifiedPrompt[] = [];
    if (r.ok && Array.isArray(r.data.challenges)) verified = await verifyAll(site, r.data.challenges);
    else if (!r.ok && r.status !== 401) {
      // Unreachable or failing: keep what we knew rather than clear the badge on a blip.
      return (await pendingAll()).filter((x) => x.site === site);
    }
    const mine = verified.map((prompt) => ({ site, prompt }));
    const all = await withSession(async () => {
      const known = new Set((await sites()).map((s) => s.origin));
      const next = [
        ...(await pendingAll()).filter((x) => x.site !== site && known.has(x.site) && Date.parse(x.prompt.expires_at) > p.now()),
        ...(known.has(site) ? mine : []),
      ];
      await p.session.set('pending', next);
      return next;
    });
    await updateBadge(all);
    // Why: a window opens by itself only for this browser's own held fetch; a request of another
    // browser (number matching) waits on the badge and in the popup until the person opens it.
    for (const { prompt } of mine) if (prompt.held && !prompt.other_session) await openWindow(site, prompt.id, false);
    return mine;
  }

  const pollSite = (site: string): Promise<PendingPrompt[]> => {
    const running = inFlightPolls.get(site);
    if (running) return running;
    const run = pollSiteOnce(site).finally(() => inFlightPolls.delete(site));
    inFlightPolls.set(site, run);
    return run;
  };

  const pollAll = async (): Promise<PendingPrompt[]> => {
    await Promise.all((await sites()).map((s) => pollSite(s.origin)));
    return pendingAll();
  };

  function burst(site: string): void {
    const until = p.now() + BURST_DURATION_MS;
    const running = bursts.get(site);
    if (running) {
      running.until = until;
      return;
    }
    const state = { until, done: Promise.resolve() };
    state.done = (async () => {
      try {
        while (p.now() < state.until) {
          await pollSite(site);
          await new Promise((r) => setTimeout(r, BURST_INTERVAL_MS));
        }
      } finally {
        bursts.delete(site);
      }
    })();
    bursts.set(site, state);
  }

  async function installRules(list: PairedSite[]): Promise<void> {
    const installed = await p.rules.installed();
    await p.rules.update(list.map(markerRule), installed);
  }

  async function pair(origin: string): Promise<Failure | { ok: true; site: PairedSite }> {
    const pattern = permissionPattern(origin);
    if (!(await p.permissions.contains(pattern))) {
      return fail(LocalCode.PermissionRefused, `The extension may not talk to ${new URL(origin).host}: the permission was not granted.`);
    }
    const list = await sites();
    const existing = list.find((s) => s.origin === origin);
    const wk = await siteApi<{ stepgate?: unknown; name?: unknown }>(origin, '/.well-known/stepgate', {}, p.fetch);
    if (!wk.ok || typeof wk.data.stepgate !== 'string') {
      // Leave nothing behind for a site that is not Stepgate (unless another paired site needs the permission).
      if (!existing && !list.some((s) => permissionPattern(s.origin) === pattern)) await p.permissions.remove(pattern);
      const why = wk.ok ? 'its /.well-known/stepgate does not describe a Stepgate gateway' : wk.message;
      return fail(wk.ok ? LocalCode.NotStepgate : wk.code, `${new URL(origin).host} is not protected by Stepgate: ${why}`);
    }
    const site: PairedSite = existing ?? {
      origin,
      name: typeof wk.data.name === 'string' && wk.data.name.trim() ? wk.data.name.trim().slice(0, 80) : new URL(origin).host,
      pairedAt: p.now(),
      ruleId: nextRuleId(list, await p.rules.installed()),
    };
    const next = existing ? list : [...list, site];
    await saveSites(next);
    pairedCache = null;
    await installRules(next);
    return { ok: true, site };
  }

  async function status(site: PairedSite, throttled: Record<string, number>): Promise<SiteStatus> {
    const base = { ...site, throttledUntil: (throttled[site.origin] ?? 0) > p.now() ? throttled[site.origin]! : null };
    if (!(await p.permissions.contains(permissionPattern(site.origin)))) {
      return {
        ...base,
        permission: false,
        signedIn: null,
        factors: null,
        problem: 'The permission for this site was removed in the browser; pair it again.',
      };
    }
    const r = await siteApi<{ totp?: unknown[]; webauthn?: unknown[]; recovery_codes_left?: number }>(
      site.origin,
      '/.stepgate/api/factors',
      {},
      p.fetch,
    );
    if (r.ok) {
      const factors = {
        webauthn: r.data.webauthn?.length ?? 0,
        totp: r.data.totp?.length ?? 0,
        recoveryCodesLeft: r.data.recovery_codes_left ?? 0,
      };
      return { ...base, permission: true, signedIn: true, factors, problem: null };
    }
    if (r.status === 401) return { ...base, permission: true, signedIn: false, factors: null, problem: null };
    return { ...base, permission: true, signedIn: null, factors: null, problem: r.message };
  }

  const handlers: Handlers = {
    'status/get': async () => ({ version: p.version, pairedSites: (await sites()).map((s) => s.origin), pending: await pendingAll() }),

    'sites/list': async () => {
      const throttled = (await p.session.get<Record<string, number>>('throttled')) ?? {};
      return { sites: await Promise.all((await sites()).map((s) => status(s, throttled))) };
    },

    'sites/pair': async ({ origin }) => {
      let o: string;
      try {
        o = siteOrigin(String(origin));
      } catch (e) {
        return fail(LocalCode.BadInput, (e as Error).message);
      }
      const running = inFlightPairs.get(o);
      if (running) return running;
      const run = pair(o).finally(() => inFlightPairs.delete(o));
      inFlightPairs.set(o, run);
      return run;
    },

    'sites/unpair': async ({ origin }) => {
      const list = await sites();
      const site = list.find((s) => s.origin === origin);
      if (!site) return fail(LocalCode.BadInput, `${String(origin)} is not paired.`);
      const rest = list.filter((s) => s !== site);
      await saveSites(rest);
      pairedCache = null;
      await p.rules.update([], [site.ruleId]);
      const pattern = permissionPattern(site.origin);
      if (!rest.some((s) => permissionPattern(s.origin) === pattern)) await p.permissions.remove(pattern);
      const pending = await withSession(async () => {
        const next = (await pendingAll()).filter((x) => x.site !== site.origin);
        await p.session.set('pending', next);
        return next;
      });
      await updateBadge(pending);
      return { ok: true };
    },

    'prompts/poll': async () => ({ pending: await pollAll() }),

    'prompts/open': async ({ site, id }) => {
      const known = (await pendingAll()).some((x) => x.site === site && x.prompt.id === id);
      if (!known) return fail('ERR_CHALLENGE_NOT_FOUND', 'This approval is no longer pending.');
      await openWindow(site, id, true);
      return { ok: true };
    },

    'prompt/get': async ({ site, id }) => {
      if (!(await paired()).has(site)) return fail(LocalCode.BadInput, `${String(site)} is not paired.`);
      const r = await siteApi<{ challenges?: WireChallenge[] }>(site, '/.stepgate/api/challenges', {}, p.fetch);
      if (!r.ok) return fail(r.code, r.message);
      const c = (r.data.challenges ?? []).find((x) => x?.id === id);
      if (!c || typeof c.prompt !== 'string')
        return fail('ERR_CHALLENGE_NOT_FOUND', 'This request was already answered, has expired, or was withdrawn.');
      try {
        return { ok: true, prompt: await p.verifier.verify(site, c.prompt, id) };
      } catch (e) {
        const code = e instanceof PromptVerificationError ? e.code : LocalCode.BadPrompt;
        return fail(code, `This prompt is not shown: ${(e as Error).message}`);
      }
    },

    'prompt/settled': async ({ site, id }) => {
      const pending = await withSession(async () => {
        const next = (await pendingAll()).filter((x) => !(x.site === site && x.prompt.id === id));
        await p.session.set('pending', next);
        return next;
      });
      await updateBadge(pending);
      return { ok: true };
    },
  };

  return {
    handlers,
    pollSite,
    pollAll,

    requestStarted({ requestId, url, method, initiator }) {
      void (async () => {
        let u: URL;
        try {
          u = new URL(url);
        } catch {
          return;
        }
        // Our own calls (the extension's origin) and Stepgate's endpoints are never held.
        if (!(await paired()).has(u.origin) || (initiator && !/^https?:/.test(initiator))) return;
        if (/^\/(\.stepgate|\.well-known\/stepgate)(\/|$)/i.test(u.pathname)) return;
        if (!['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase())) {
          burst(u.origin);
          return;
        }
        // Why: most GETs are answered at once; only one still open after a moment may be held.
        slow.set(
          requestId,
          setTimeout(() => {
            slow.delete(requestId);
            burst(u.origin);
          }, SLOW_REQUEST_MS),
        );
      })();
    },

    async requestEnded({ requestId, url, statusCode, retryAfter }) {
      const t = slow.get(requestId);
      if (t) clearTimeout(t);
      slow.delete(requestId);
      if (statusCode !== 429) return;
      let origin: string;
      try {
        origin = new URL(url).origin;
      } catch {
        return;
      }
      if (!(await paired()).has(origin)) return;
      const secs = Number(retryAfter);
      const until = p.now() + (Number.isFinite(secs) && secs > 0 ? Math.min(secs, 3600) * 1000 : THROTTLE_DEFAULT_MS);
      await withSession(async () => {
        const t = (await p.session.get<Record<string, number>>('throttled')) ?? {};
        t[origin] = until;
        await p.session.set('throttled', t);
      });
    },

    async windowClosed(windowId) {
      await withSession(async () => {
        const opened = (await p.session.get<Opened>('opened')) ?? {};
        let changed = false;
        for (const o of Object.values(opened)) {
          if (o.windowId === windowId) {
            o.windowId = null;
            changed = true;
          }
        }
        if (changed) await p.session.set('opened', opened);
      });
    },

    async permissionsAdded(origins) {
      const intent = await p.session.get<{ origin: string; at: number }>('pairIntent');
      if (!intent || p.now() - intent.at > PAIR_INTENT_MS) return;
      let origin: string;
      try {
        origin = siteOrigin(intent.origin);
      } catch {
        return;
      }
      if (!origins.includes(permissionPattern(origin))) return;
      await p.session.set('pairIntent', null);
      const r = await handlers['sites/pair']({ origin });
      if (!r.ok) p.log(`stepgate: pairing ${origin} failed: ${r.message}`);
    },

    async reconcile() {
      pairedCache = null;
      await installRules(await sites());
    },

    async idle() {
      while (bursts.size) await Promise.all([...bursts.values()].map((b) => b.done));
    },
  };
}
