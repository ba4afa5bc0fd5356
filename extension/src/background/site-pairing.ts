/**
 * @module Paired sites: pair a site whose host permission was granted (only if it is Stepgate's),
 * keep the marker rules in step with the paired sites, finish a pairing whose page is gone, and
 * tell how each paired site is doing (permission, sign-in, factors, throttling).
 */
import { ErrorCode } from '../../../shared/errors';
import type { FactorList } from '../../../shared/wire-shapes';
import { ExtensionCode } from '../lib/extension-codes';
import type { Failure, PairedSite, Reply, SiteStatus } from '../lib/messages';
import { siteApi } from '../lib/site-api';
import { singleFlight } from '../lib/single-flight';
import { factorCounts } from '../lib/site-view';
import { markerRule, nextRuleId, permissionPattern, siteOrigin } from '../lib/sites';
import type { BackgroundState } from './background-state';
import type { Platform } from './platform';

/** A pairing the person started is finished by the background if the permission arrives within this time. */
export const PAIR_INTENT_MS = 2 * 60 * 1000;

export const fail = (code: string, message: string): Failure => ({ ok: false, code, message });

export interface SitePairing {
  /** Pair the site at `origin` (as a person typed it); one pairing per site at a time. */
  pair(origin: string): Promise<Reply<{ site: PairedSite }>>;
  /**
   * Host permissions were granted: finish a pairing the person started (`pairIntent` in
   * storage.session), in case the page that asked is gone.
   */
  permissionsAdded(origins: string[]): Promise<void>;
  /** Make the marker rules match the paired sites. */
  installRules(list: PairedSite[]): Promise<void>;
  /** How a paired site is doing, asked of the site now. */
  status(site: PairedSite, throttled: Record<string, number>): Promise<SiteStatus>;
}

export function sitePairing(p: Platform, state: BackgroundState): SitePairing {
  const { sites } = state;
  const onePairingPerSite = singleFlight<Reply<{ site: PairedSite }>>();

  async function installRules(list: PairedSite[]): Promise<void> {
    const installed = await p.rules.installed();
    await p.rules.update(list.map(markerRule), installed);
  }

  async function pairOnce(origin: string): Promise<Reply<{ site: PairedSite }>> {
    const pattern = permissionPattern(origin);
    if (!(await p.permissions.contains(pattern))) {
      return fail(
        ExtensionCode.PermissionRefused,
        `Not paired yet: Stepgate may not talk to ${new URL(origin).host}, because the browser's permission was not given.`,
      );
    }
    const list = await sites();
    const existing = list.find((s) => s.origin === origin);
    const wk = await siteApi<{ stepgate?: unknown; name?: unknown }>(origin, '/.well-known/stepgate', {}, p.fetch);
    if (!wk.ok || typeof wk.data.stepgate !== 'string') {
      // Leave nothing behind for a site that is not Stepgate (unless another paired site needs the permission).
      if (!existing && !list.some((s) => permissionPattern(s.origin) === pattern)) await p.permissions.remove(pattern);
      const host = new URL(origin).host;
      // Not Stepgate, or not answering: the person checks the address either way (the code says which, for programs).
      return fail(
        wk.ok ? ExtensionCode.NotStepgate : wk.code,
        `${host} could not be paired: it did not answer as a site protected by Stepgate. Check the address and try again.`,
      );
    }
    const site: PairedSite = existing ?? {
      origin,
      name: typeof wk.data.name === 'string' && wk.data.name.trim() ? wk.data.name.trim().slice(0, 80) : new URL(origin).host,
      pairedAt: p.now(),
      ruleId: nextRuleId(list, await p.rules.installed()),
    };
    const next = existing ? list : [...list, site];
    await state.saveSites(next);
    await installRules(next);
    return { ok: true, site };
  }

  async function pair(origin: string): Promise<Reply<{ site: PairedSite }>> {
    let o: string;
    try {
      o = siteOrigin(String(origin));
    } catch (e) {
      return fail(ExtensionCode.BadInput, (e as Error).message);
    }
    return onePairingPerSite(o, () => pairOnce(o));
  }

  return {
    pair,
    installRules,

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
      const r = await pair(origin);
      if (!r.ok) p.log(`stepgate: pairing ${origin} failed: ${r.message}`);
    },

    async status(site, throttled) {
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
      const r = await siteApi<Partial<FactorList>>(site.origin, '/.stepgate/api/factors', {}, p.fetch);
      if (r.ok) return { ...base, permission: true, signedIn: true, factors: factorCounts(r.data), problem: null };
      if (r.code === ErrorCode.IdentityRequired) return { ...base, permission: true, signedIn: false, factors: null, problem: null };
      return { ...base, permission: true, signedIn: null, factors: null, problem: r.message };
    },
  };
}
