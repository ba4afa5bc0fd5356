/** @module The background's answers to the typed messages of the popup, the options page and the prompt window (shared/messages.ts). */
import { ErrorCode } from '../../../shared/errors';
import { APPROVAL_RULE_PREFIX, isApprovalStepUp } from '../lib/approval-check';
import type { Handlers } from '../lib/messages';
import { ExtensionCode } from '../lib/extension-codes';
import { siteApi } from '../lib/site-api';
import { permissionPattern } from '../lib/sites';
import { PromptVerificationError } from '../lib/verify-prompt';
import type { ApprovalPolling } from './approval-polling';
import type { BackgroundState } from './background-state';
import type { Platform } from './platform';
import type { NoticePolling } from './notice-polling';
import type { PromptPolling, UncheckedChallengeList } from './prompt-polling';
import { fail, type SitePairing } from './site-pairing';

/** The background's parts the handlers call. */
export interface HandlerDeps {
  prompts: PromptPolling;
  pairing: SitePairing;
  notices: NoticePolling;
  approvals: ApprovalPolling;
}

export function messageHandlers(p: Platform, state: BackgroundState, { prompts, pairing, notices, approvals }: HandlerDeps): Handlers {
  const { sites, pendingAll, paired } = state;
  return {
    'status/get': async () => ({ version: p.version, pairedSites: (await sites()).map((s) => s.origin), pending: await pendingAll() }),

    'sites/list': async () => {
      const throttled = (await p.session.get<Record<string, number>>('throttled')) ?? {};
      return { sites: await Promise.all((await sites()).map((s) => pairing.status(s, throttled))) };
    },

    'sites/pair': ({ origin }) => pairing.pair(origin),

    'sites/unpair': async ({ origin }) => {
      const list = await sites();
      const site = list.find((s) => s.origin === origin);
      if (!site) return fail(ExtensionCode.BadInput, `${String(origin)} is not paired.`);
      const rest = list.filter((s) => s !== site);
      await state.saveSites(rest);
      await p.rules.update([], [site.ruleId]);
      const pattern = permissionPattern(site.origin);
      if (!rest.some((s) => permissionPattern(s.origin) === pattern)) await p.permissions.remove(pattern);
      await state.keepPending((x) => x.site !== site.origin);
      await notices.keep((x) => x.site !== site.origin);
      await approvals.keep((x) => x.site !== site.origin);
      return { ok: true };
    },

    'prompts/poll': async () => ({ pending: await prompts.pollAll() }),

    'notices/list': async () => ({ notices: await notices.pollAll() }),

    'notices/cancel': ({ site, id }) => notices.cancel(site, id),

    'notices/dismiss': ({ site, id }) => notices.dismiss(site, id),

    'prompts/open': async ({ site, id }) => {
      const known = (await pendingAll()).some((x) => x.site === site && x.prompt.id === id);
      if (!known) return fail(ErrorCode.ChallengeNotFound, 'This approval is no longer pending.');
      await prompts.openWindow(site, id, true);
      return { ok: true };
    },

    'prompt/get': async ({ site, id, actionHost }) => {
      if (!(await paired()).has(site)) return fail(ExtensionCode.BadInput, `${String(site)} is not paired.`);
      const r = await siteApi<UncheckedChallengeList>(site, '/.stepgate/api/challenges', {}, p.fetch);
      if (!r.ok) return fail(r.code, r.message);
      const c = (r.data.challenges ?? []).find((x) => x?.id === id);
      if (!c || typeof c.prompt !== 'string')
        return fail(ErrorCode.ChallengeNotFound, 'This request was already answered, has expired, or was withdrawn.');
      try {
        const prompt = await p.verifier.verify(site, c.prompt, id, typeof actionHost === 'string' ? { actionHost } : {});
        // Why: another host than the site's is accepted only for an approver's step-up, which the
        // approval window checks binds the exact request it shows.
        if (typeof actionHost === 'string' && !isApprovalStepUp(prompt))
          return fail(ExtensionCode.BadPrompt, 'This prompt is not shown: it is not a step-up for an approval request.');
        // The approval window asks for the step-up it just opened: remember it, so closing that window withdraws it (and only it).
        if (typeof actionHost === 'string') await prompts.approverStepUpOpened(site, prompt.rule.slice(APPROVAL_RULE_PREFIX.length), id);
        return { ok: true, prompt };
      } catch (e) {
        const code = e instanceof PromptVerificationError ? e.code : ExtensionCode.BadPrompt;
        // The verifier's reason names keys and claims: logged for developers; the person reads what to do.
        p.log(`stepgate: prompt ${id} from ${site} not shown: ${(e as Error).message}`);
        return fail(
          code,
          'This request is not shown: the extension could not confirm that it comes from this site. ' +
            'Deny it on the site, or ask its administrator.',
        );
      }
    },

    'prompt/settled': async ({ site, id, outcome }) => {
      // Answered or expired: closing its window now denies nothing. A prompt that failed (the
      // request may still be pending at the site: a lock, a pause) is still denied when closed.
      if (outcome !== 'gone') await prompts.settled(site, id);
      await state.keepPending((x) => !(x.site === site && x.prompt.id === id));
      return { ok: true };
    },

    'approvals/list': async () => ({ approvals: await approvals.pollAll() }),

    'approvals/open': ({ site, id }) => approvals.open(site, id),

    'approval/get': ({ site, id }) => approvals.get(site, id),

    'approval/settled': async ({ site }) => {
      if (!(await paired()).has(site)) return fail(ExtensionCode.BadInput, `${String(site)} is not paired.`);
      // The person's vote changed the site's lists: ask it again, which recounts the badge.
      await approvals.pollSite(site);
      return { ok: true };
    },
  };
}
