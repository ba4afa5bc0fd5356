/**
 * @module The background's stored state: the paired sites (`storage.local`), the pending approvals
 * (`storage.session`) and the badge that counts them with the approval requests awaiting the person
 * (dual control, approval-polling.ts), or shows "!" for a notice (notice-polling.ts).
 * Writes to the session area are queued, so concurrent polls of different sites never overwrite each other.
 */
import type { PairedSite, PendingPrompt, SiteApprovals } from '../lib/messages';
import type { Platform } from './platform';

export interface BackgroundState {
  sites(): Promise<PairedSite[]>;
  /** Store the paired sites; the in-memory set of paired origins is read afresh next time. */
  saveSites(list: PairedSite[]): Promise<void>;
  /** Paired origins, in memory for the hot webRequest path; refreshed on every change. */
  paired(): Promise<Set<string>>;
  /** Read the paired origins afresh next time (the sites may have changed elsewhere). */
  forgetPaired(): void;
  pendingAll(): Promise<PendingPrompt[]>;
  /** Run `fn` after every session write queued before it (a read-modify-write of `storage.session`). */
  withSession<T>(fn: () => Promise<T>): Promise<T>;
  /** Keep only the pending approvals `keep` accepts, and recount the badge. */
  keepPending(keep: (x: PendingPrompt) => boolean): Promise<void>;
  updateBadge(pending: PendingPrompt[]): Promise<void>;
}

export function backgroundState(p: Platform): BackgroundState {
  const sites = async (): Promise<PairedSite[]> => (await p.local.get<PairedSite[]>('sites')) ?? [];
  const pendingAll = async (): Promise<PendingPrompt[]> => (await p.session.get<PendingPrompt[]>('pending')) ?? [];
  let pairedCache: Set<string> | null = null;
  // Why: storage writes from concurrent polls of different sites must not overwrite each other.
  let sessionQueue: Promise<unknown> = Promise.resolve();
  const withSession = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = sessionQueue.then(fn, fn);
    sessionQueue = run.catch(() => undefined);
    return run;
  };
  // Pending challenges and the requests awaiting the person's approval (not past their expiry) are
  // counted; with none, a notice (a recovery of the person's factors) shows as "!".
  const updateBadge = async (pending: PendingPrompt[]) => {
    const approvals = (await p.session.get<SiteApprovals[]>('approvals')) ?? [];
    const awaiting = approvals.reduce((n, s) => n + s.awaiting_you.filter((a) => Date.parse(a.expires_at) > p.now()).length, 0);
    const count = pending.length + awaiting;
    await p.badge(count ? String(count) : ((await p.session.get<unknown[]>('notices')) ?? []).length ? '!' : '');
  };

  return {
    sites,
    async saveSites(list) {
      await p.local.set('sites', list);
      pairedCache = null;
    },
    paired: async () => (pairedCache ??= new Set((await sites()).map((s) => s.origin))),
    forgetPaired() {
      pairedCache = null;
    },
    pendingAll,
    withSession,
    async keepPending(keep) {
      const pending = await withSession(async () => {
        const next = (await pendingAll()).filter(keep);
        await p.session.set('pending', next);
        return next;
      });
      await updateBadge(pending);
    },
    updateBadge,
  };
}
