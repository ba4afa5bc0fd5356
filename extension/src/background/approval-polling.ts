/**
 * @module Dual control: ask each paired site for approval requests (GET /.stepgate/api/approvals),
 * keep per site those awaiting the person's decision and the person's own (checked,
 * lib/approval-check.ts), count the awaiting ones on the badge, fetch one for the approval window,
 * and open that window when the person asks (Review). Asked on the regular poll, beside challenges
 * and notices; a site that answers 404 (an edge without dual control) is not asked again until the
 * extension restarts (`approvalsUnsupported` in storage.session).
 */
import { ErrorCode } from '../../../shared/errors';
import { APPROVAL_ID, checkApproval, checkApprovalList } from '../lib/approval-check';
import { ExtensionCode } from '../lib/extension-codes';
import type { Reply, SiteApprovals } from '../lib/messages';
import type { ApprovalJson } from '../../../shared/wire-shapes';
import { siteApi } from '../lib/site-api';
import { singleFlight } from '../lib/single-flight';
import type { BackgroundState } from './background-state';
import type { Platform } from './platform';
import type { PromptPolling } from './prompt-polling';
import { fail } from './site-pairing';

export const APPROVALS_PATH = '/.stepgate/api/approvals';

export interface ApprovalPolling {
  /** Ask one site; keep what it said (or what we knew, when it failed); recount the badge. Null when the site has no dual control. */
  pollSite(site: string): Promise<SiteApprovals | null>;
  /** Ask every paired site that has dual control. */
  pollAll(): Promise<SiteApprovals[]>;
  /** One request, fetched from the site and checked (for the approval window). */
  get(site: string, id: string): Promise<Reply<{ approval: ApprovalJson }>>;
  /** Open (or focus) the approval window of a request the site listed. */
  open(site: string, id: string): Promise<Reply>;
  /** Keep only the sites `keep` accepts (a site unpaired); recount the badge. */
  keep(keep: (x: SiteApprovals) => boolean): Promise<void>;
}

export function approvalPolling(p: Platform, state: BackgroundState, prompts: PromptPolling): ApprovalPolling {
  const { sites, withSession } = state;
  const all = async (): Promise<SiteApprovals[]> => (await p.session.get<SiteApprovals[]>('approvals')) ?? [];
  const unsupported = async (): Promise<string[]> => (await p.session.get<string[]>('approvalsUnsupported')) ?? [];
  const recount = async () => state.updateBadge(await state.pendingAll());
  const onePollPerSite = singleFlight<SiteApprovals | null>();

  /** Store `mine` for `site` (null: nothing for it), dropping sites no longer paired. */
  async function store(site: string, mine: SiteApprovals | null): Promise<void> {
    await withSession(async () => {
      const known = new Set((await sites()).map((s) => s.origin));
      await p.session.set('approvals', [
        ...(await all()).filter((x) => x.site !== site && known.has(x.site)),
        ...(mine && known.has(site) ? [mine] : []),
      ]);
    });
    await recount();
  }

  async function pollSiteOnce(site: string): Promise<SiteApprovals | null> {
    if ((await unsupported()).includes(site)) return null;
    const r = await siteApi<unknown>(site, APPROVALS_PATH, {}, p.fetch);
    if (!r.ok && r.status === 404) {
      // Why: an older edge has no dual control; asking it every minute would only fill its logs.
      await withSession(async () => p.session.set('approvalsUnsupported', [...new Set([...(await unsupported()), site])]));
      await store(site, null);
      return null;
    }
    // Unreachable, failing or busy: keep what we knew rather than clear the badge on a blip.
    if (!r.ok && (r.status === 0 || r.status === 429 || r.status >= 500)) return (await all()).find((x) => x.site === site) ?? null;
    // Signed out (401) or refused: nothing awaits this person here.
    const list = r.ok ? checkApprovalList(r.data, site) : null;
    if (r.ok && !list) p.log(`stepgate: the approval list from ${site} is malformed; nothing is shown`);
    const mine: SiteApprovals = { site, awaiting_you: list?.awaiting_you ?? [], yours: list?.yours ?? [] };
    await store(site, mine);
    return mine;
  }

  const pollSite = (site: string) => onePollPerSite(site, () => pollSiteOnce(site));

  return {
    pollSite,

    async pollAll() {
      await Promise.all((await sites()).map((s) => pollSite(s.origin)));
      return all();
    },

    async get(site, id) {
      if (!(await state.paired()).has(site)) return fail(ExtensionCode.BadInput, `${String(site)} is not paired.`);
      if (typeof id !== 'string' || !APPROVAL_ID.test(id))
        return fail(ExtensionCode.BadInput, 'That is not an approval request this site named.');
      const r = await siteApi<unknown>(site, `${APPROVALS_PATH}/${encodeURIComponent(id)}`, {}, p.fetch);
      if (!r.ok) return fail(r.code, r.message);
      const approval = checkApproval(r.data, site);
      if (!approval || approval.id !== id)
        return fail(ExtensionCode.NotStepgate, 'The site sent an approval request the extension cannot show.');
      return { ok: true, approval };
    },

    async open(site, id) {
      const listed = (await all()).find((x) => x.site === site);
      const known = listed && [...listed.awaiting_you, ...listed.yours].some((a) => a.id === id);
      if (!known) return fail(ErrorCode.ApprovalNotFound, 'This request is no longer listed; refresh and try again.');
      await prompts.openWindow(site, id, true, 'approval');
      return { ok: true };
    },

    async keep(f) {
      await withSession(async () => p.session.set('approvals', (await all()).filter(f)));
      await recount();
    },
  };
}
