/**
 * @module Notices from paired sites (GET /.stepgate/api/me/notices): someone started recovering the
 * person's sign-in factors there (shown with a Cancel button), or an administrator removed them
 * (shown with a Dismiss button). Asked on every regular poll (the minute alarm, the popup), never
 * in the fast bursts of held requests; kept in `storage.session`, shown in the popup, and counted
 * on the badge ("!") when no approval is pending. What a site sends is not
 * trusted: only well-formed notices are kept, and only their checked members.
 */
import type { Notice } from '../../../shared/wire-shapes';
import { ExtensionCode } from '../lib/extension-codes';
import type { Reply, SiteNotice } from '../lib/messages';
import { siteApi } from '../lib/site-api';
import type { BackgroundState } from './background-state';
import type { Platform } from './platform';
import { fail } from './site-pairing';

export const NOTICES_PATH = '/.stepgate/api/me/notices';
/** Notices kept per site, at most (a site has one recovery of a person at a time). */
export const MAX_NOTICES_PER_SITE = 4;
const RECOVERY_ID = /^[A-Za-z0-9_-]{1,64}$/;

const isoOrNull = (v: unknown): v is string | null =>
  v === null || (typeof v === 'string' && v.length <= 40 && !Number.isNaN(Date.parse(v)));

/** A notice as a site sent it, checked; null when it is not one the extension can show and act on. */
export function checkNotice(x: unknown): Notice | null {
  if (typeof x !== 'object' || x === null) return null;
  const n = x as Record<string, unknown>;
  if (n.kind === 'factors-revoked') {
    if (n.id !== 'factors-revoked' || typeof n.revoked_at !== 'string' || !isoOrNull(n.revoked_at)) return null;
    if (typeof n.expires_at !== 'string' || !isoOrNull(n.expires_at)) return null;
    return { kind: 'factors-revoked', id: 'factors-revoked', revoked_at: n.revoked_at, expires_at: n.expires_at };
  }
  if (n.kind !== 'recovery' || typeof n.id !== 'string' || !RECOVERY_ID.test(n.id)) return null;
  if (n.state !== 'started' && n.state !== 'approved') return null;
  if (typeof n.started_at !== 'string' || !isoOrNull(n.started_at) || typeof n.expires_at !== 'string' || !isoOrNull(n.expires_at))
    return null;
  if (!isoOrNull(n.effective_at)) return null;
  return {
    kind: 'recovery',
    id: n.id,
    state: n.state,
    started_at: n.started_at,
    effective_at: n.effective_at,
    expires_at: n.expires_at,
    can_complete: n.can_complete === true,
  };
}

export interface NoticePolling {
  /** Ask one site for the person's notices; keep them; recount the badge. */
  pollSite(site: string): Promise<SiteNotice[]>;
  /** Ask every paired site. */
  pollAll(): Promise<SiteNotice[]>;
  /** Cancel the recovery a notice is about, on its site (POST /.stepgate/api/me/recoveries/{id}/cancel). */
  cancel(site: string, id: string): Promise<Reply>;
  /** Dismiss a revocation notice on its site (POST /.stepgate/api/me/notices/{id}/dismiss). */
  dismiss(site: string, id: string): Promise<Reply>;
  /** Keep only the notices `keep` accepts (a site unpaired). */
  keep(keep: (x: SiteNotice) => boolean): Promise<void>;
}

export function noticePolling(p: Platform, state: BackgroundState): NoticePolling {
  const { sites, withSession } = state;
  const all = async (): Promise<SiteNotice[]> => (await p.session.get<SiteNotice[]>('notices')) ?? [];
  const recount = async () => state.updateBadge(await state.pendingAll());

  async function keep(f: (x: SiteNotice) => boolean): Promise<void> {
    await withSession(async () => p.session.set('notices', (await all()).filter(f)));
    await recount();
  }

  async function pollSite(site: string): Promise<SiteNotice[]> {
    const r = await siteApi<{ notices?: unknown }>(site, NOTICES_PATH, {}, p.fetch);
    // Unreachable or failing: keep what we knew. Signed out, or a Stepgate without notices: none.
    if (!r.ok && (r.status === 0 || r.status >= 500)) return (await all()).filter((x) => x.site === site);
    const list = r.ok && Array.isArray(r.data.notices) ? r.data.notices.slice(0, MAX_NOTICES_PER_SITE) : [];
    const mine = list.map(checkNotice).flatMap((notice) => (notice ? [{ site, notice }] : []));
    await withSession(async () => {
      const known = new Set((await sites()).map((s) => s.origin));
      await p.session.set('notices', [
        ...(await all()).filter((x) => x.site !== site && known.has(x.site)),
        ...(known.has(site) ? mine : []),
      ]);
    });
    await recount();
    return mine;
  }

  return {
    pollSite,
    async pollAll() {
      await Promise.all((await sites()).map((s) => pollSite(s.origin)));
      return all();
    },
    async cancel(site, id) {
      if (!(await state.paired()).has(site)) return fail(ExtensionCode.BadInput, `${String(site)} is not paired.`);
      if (typeof id !== 'string' || !RECOVERY_ID.test(id)) return fail(ExtensionCode.BadInput, 'That is not a recovery this site named.');
      const r = await siteApi(site, `/.stepgate/api/me/recoveries/${encodeURIComponent(id)}/cancel`, { method: 'POST', body: {} }, p.fetch);
      if (!r.ok && r.status !== 404) return fail(r.code, r.message);
      // Cancelled now, or already ended (404): either way the notice no longer stands.
      await keep((x) => !(x.site === site && x.notice.id === id));
      return r.ok ? { ok: true } : fail(r.code, 'This recovery is no longer under way: it was cancelled, completed or has expired.');
    },
    async dismiss(site, id) {
      if (!(await state.paired()).has(site)) return fail(ExtensionCode.BadInput, `${String(site)} is not paired.`);
      if (id !== 'factors-revoked') return fail(ExtensionCode.BadInput, 'That is not a notice this site lets you dismiss.');
      const r = await siteApi(site, `${NOTICES_PATH}/${id}/dismiss`, { method: 'POST', body: {} }, p.fetch);
      if (!r.ok && r.status !== 404) return fail(r.code, r.message);
      // Dismissed now, or already gone (404): either way it is no longer shown.
      await keep((x) => !(x.site === site && x.notice.id === id));
      return { ok: true };
    },
    keep,
  };
}
