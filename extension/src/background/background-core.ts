/**
 * @module The background's logic, without the browser: puts together its stored state, the
 * polling of paired sites for pending approvals (prompt-polling.ts), notices (notice-polling.ts) and
 * dual control's approval requests (approval-polling.ts),
 * pairing (site-pairing.ts) and the message handlers (message-handlers.ts), and watches the paired
 * sites' requests: one that may be held starts a burst of polls, a 429 pauses prompts. Every
 * browser API comes in through `Platform`, so tests run it in Node.
 */
import type { Handlers, PendingPrompt } from '../lib/messages';
import { approvalPolling } from './approval-polling';
import { backgroundState } from './background-state';
import { messageHandlers } from './message-handlers';
import type { Platform } from './platform';
import { noticePolling } from './notice-polling';
import { promptPolling } from './prompt-polling';
import { sitePairing } from './site-pairing';

/** A GET that has not been answered after this long may be held: start polling. */
export const SLOW_REQUEST_MS = 600;
const THROTTLE_DEFAULT_MS = 60_000;

export interface Background {
  handlers: Handlers;
  /** Ask one site for pending approvals; open windows for new held ones; recount the badge. */
  pollSite(origin: string): Promise<PendingPrompt[]>;
  /** Ask every paired site for pending approvals, the person's notices (notice-polling.ts) and approval requests (approval-polling.ts). */
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
  const state = backgroundState(p);
  const { paired, withSession } = state;
  const prompts = promptPolling(p, state);
  const notices = noticePolling(p, state);
  const pairing = sitePairing(p, state);
  const approvals = approvalPolling(p, state, prompts);
  const slow = new Map<string, ReturnType<typeof setTimeout>>();

  return {
    handlers: messageHandlers(p, state, { prompts, pairing, notices, approvals }),
    pollSite: prompts.pollSite,
    // The regular poll (alarm, start-up) also asks for notices and approval requests; bursts for
    // held requests do not: they exist to put this browser's held request up at once, and an
    // approval request is never held in this browser.
    async pollAll() {
      const [pending] = await Promise.all([prompts.pollAll(), notices.pollAll(), approvals.pollAll()]);
      return pending;
    },

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
          prompts.burst(u.origin);
          return;
        }
        // Why: most GETs are answered at once; only one still open after a moment may be held.
        slow.set(
          requestId,
          setTimeout(() => {
            slow.delete(requestId);
            prompts.burst(u.origin);
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

    windowClosed: prompts.windowClosed,
    permissionsAdded: pairing.permissionsAdded,

    async reconcile() {
      state.forgetPaired();
      await pairing.installRules(await state.sites());
    },

    idle: prompts.idle,
  };
}
