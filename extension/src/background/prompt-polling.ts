/**
 * @module Pending approvals: ask a paired site for them, verify each signed prompt, keep the verified
 * ones (and the badge) up to date, open one prompt window per challenge, and poll quickly for a
 * while when a page of the site may be waiting for an answer.
 */
import type { PendingPrompt } from '../lib/messages';
import { ErrorCode } from '../../../shared/errors';
import type { PendingChallengeList, VerifiedPrompt } from '../../../shared/wire-shapes';
import { isApprovalStepUp } from '../lib/approval-check';
import { siteApi } from '../lib/site-api';
import { singleFlight } from '../lib/single-flight';
import type { BackgroundState } from './background-state';
import type { Platform } from './platform';

/** Prompt windows open at once, at most: more pending approvals are counted on the badge and listed in the popup. */
export const MAX_OPEN_WINDOWS = 3;
/** After a marked request starts: poll every 500 ms for 15 s, so the prompt is up while the request is held. */
export const BURST_INTERVAL_MS = 500;
export const BURST_DURATION_MS = 15_000;

/**
 * The challenge list as the edge sends it, not trusted: everything but `prompt` is unsigned and
 * never shown, and even `id` and `prompt` are checked before use.
 */
export type UncheckedChallengeList = Partial<PendingChallengeList>;

/** One window per challenge, and one per approval request (ids of both are base64url: no ':' in a challenge's). */
const keyOf = (site: string, id: string, mode: WindowMode = 'challenge') =>
  mode === 'approval' ? `${site} approval:${id}` : `${site} ${id}`;

type WindowMode = 'challenge' | 'approval';

/**
 * The windows opened, by key: `windowId` null once closed; `site`, `id`, `mode` name what it was
 * for (entries from before they were recorded have none); `settled`: its prompt was answered;
 * `stepUps`: for an approval window, the approver's step-up challenges it opened itself.
 */
type Opened = Record<
  string,
  { windowId: number | null; at: number; site?: string; id?: string; mode?: WindowMode; settled?: boolean; stepUps?: string[] }
>;

/** Step-ups remembered per approval window (each Approve after a refusal may open one): old ones have expired by then. */
const MAX_STEP_UPS_PER_WINDOW = 5;

export interface PromptPolling {
  /** Ask one site for pending approvals; open windows for new held ones; recount the badge. */
  pollSite(origin: string): Promise<PendingPrompt[]>;
  pollAll(): Promise<PendingPrompt[]>;
  /**
   * Open (or focus) the window of a challenge, or of an approval request (`mode: 'approval'`);
   * `force`: reopen one the person closed, past the limit of open windows.
   */
  openWindow(site: string, id: string, force: boolean, mode?: WindowMode): Promise<void>;
  /**
   * A window closed. Closing a challenge's prompt before answering it denies it, at once (the page
   * waiting on it stops waiting); closing an approval window withdraws the approver's own step-up
   * opened from it, if any (the request itself still awaits their decision).
   */
  windowClosed(windowId: number): Promise<void>;
  /**
   * The approval window of `approvalId` opened the approver's step-up `challengeId` (it asked for
   * its prompt): closing that window withdraws this challenge, and no other.
   */
  approverStepUpOpened(site: string, approvalId: string, challengeId: string): Promise<void>;
  /** The prompt of `id` was answered (or ended): closing its window denies nothing. */
  settled(site: string, id: string): Promise<void>;
  /** Poll `site` every BURST_INTERVAL_MS for BURST_DURATION_MS (extended if already running). */
  burst(site: string): void;
  /** Resolves when bursts started so far have ended (tests). */
  idle(): Promise<void>;
}

export function promptPolling(p: Platform, state: BackgroundState): PromptPolling {
  const { sites, pendingAll, withSession } = state;
  const verifiedCache = new Map<string, VerifiedPrompt>();
  const onePollPerSite = singleFlight<PendingPrompt[]>();
  const opening = new Set<string>();
  const bursts = new Map<string, { until: number; done: Promise<void> }>();

  async function openWindow(site: string, id: string, force: boolean, mode: WindowMode = 'challenge'): Promise<void> {
    const key = keyOf(site, id, mode);
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
      const windowId = await p.windows.open(site, id, mode);
      await withSession(async () => {
        const now = (await p.session.get<Opened>('opened')) ?? {};
        now[key] = { windowId, at: p.now(), site, id, mode };
        await p.session.set('opened', now);
      });
    } finally {
      opening.delete(key);
    }
  }

  async function verifyAll(site: string, list: NonNullable<UncheckedChallengeList['challenges']>): Promise<VerifiedPrompt[]> {
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
      // Why: an approver's step-up (rule `approval:<id>`) is answered in the approval window that
      // asked for it, which shows who asked and why; a challenge window would show another person's
      // request as if it were the approver's own. Not listed, not counted, no window of its own.
      if (Date.parse(v.expires_at) > p.now() && !isApprovalStepUp(v)) out.push(v);
    }
    return out;
  }

  async function pollSiteOnce(site: string): Promise<PendingPrompt[]> {
    const r = await siteApi<UncheckedChallengeList>(site, '/.stepgate/api/challenges', {}, p.fetch);
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
    await state.updateBadge(all);
    // Why: a window opens by itself only for this browser's own held fetch; a request of another
    // browser (number matching) waits on the badge and in the popup until the person opens it.
    for (const { prompt } of mine) if (prompt.held && !prompt.other_session) await openWindow(site, prompt.id, false);
    return mine;
  }

  const pollSite = (site: string): Promise<PendingPrompt[]> => onePollPerSite(site, () => pollSiteOnce(site));

  /**
   * Closing an unanswered prompt is a denial (docs/extension.md): the site withdraws the challenge
   * and refuses the page's held request now, rather than at the end of the hold. A challenge that
   * was answered meanwhile is simply not found.
   */
  async function denyClosed(site: string, id: string): Promise<void> {
    const r = await siteApi(site, `/.stepgate/api/challenges/${encodeURIComponent(id)}/deny`, { body: {} }, p.fetch);
    if (!r.ok && r.code !== ErrorCode.ChallengeNotFound)
      p.log(`stepgate: closing the prompt of ${id} on ${site} did not deny it: ${r.detail ?? r.message}`);
    await state.keepPending((x) => !(x.site === site && x.prompt.id === id));
  }

  /**
   * An approval window closed: the step-ups that window opened itself are withdrawn (answered ones
   * are simply not found); the approval request is not decided by a close. Why only those: the
   * approver may be confirming the same request on the site's approval page in a tab, a challenge
   * with the same rule in the same session, which a closed window must not deny.
   */
  async function withdrawApproverStepUp(site: string, stepUps: readonly string[]): Promise<void> {
    for (const id of stepUps) await siteApi(site, `/.stepgate/api/challenges/${encodeURIComponent(id)}/deny`, { body: {} }, p.fetch);
  }

  return {
    pollSite,

    async pollAll() {
      await Promise.all((await sites()).map((s) => pollSite(s.origin)));
      return pendingAll();
    },

    openWindow,

    async windowClosed(windowId) {
      const closed = await withSession(async () => {
        const opened = (await p.session.get<Opened>('opened')) ?? {};
        const were = Object.values(opened).filter((o) => o.windowId === windowId);
        for (const o of were) o.windowId = null;
        if (were.length) await p.session.set('opened', opened);
        return were.filter((o) => !o.settled).map((o) => ({ ...o }));
      });
      for (const o of closed) {
        if (!o.site || !o.id) continue;
        if (o.mode === 'approval') await withdrawApproverStepUp(o.site, o.stepUps ?? []);
        else await denyClosed(o.site, o.id);
      }
    },

    async approverStepUpOpened(site, approvalId, challengeId) {
      await withSession(async () => {
        const opened = (await p.session.get<Opened>('opened')) ?? {};
        const o = opened[keyOf(site, approvalId, 'approval')];
        // Only a window the extension opened for this request records step-ups (and only while open).
        if (!o || o.windowId === null) return;
        o.stepUps = [...(o.stepUps ?? []).filter((x) => x !== challengeId), challengeId].slice(-MAX_STEP_UPS_PER_WINDOW);
        await p.session.set('opened', opened);
      });
    },

    async settled(site, id) {
      await withSession(async () => {
        const opened = (await p.session.get<Opened>('opened')) ?? {};
        const o = opened[keyOf(site, id)];
        if (!o) return;
        o.settled = true;
        await p.session.set('opened', opened);
      });
    },

    burst(site) {
      const until = p.now() + BURST_DURATION_MS;
      const running = bursts.get(site);
      if (running) {
        running.until = until;
        return;
      }
      const run = { until, done: Promise.resolve() };
      run.done = (async () => {
        try {
          while (p.now() < run.until) {
            await pollSite(site);
            await new Promise((r) => setTimeout(r, BURST_INTERVAL_MS));
          }
        } finally {
          bursts.delete(site);
        }
      })();
      bursts.set(site, run);
    },

    async idle() {
      while (bursts.size) await Promise.all([...bursts.values()].map((b) => b.done));
    },
  };
}
