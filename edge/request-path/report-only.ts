/**
 * @module countReportOnly(): count what the policy's report-only rules would have challenged, without
 * changing what happens to the request. Called by decideRequest only when the policy has report
 * rules; it returns at once, and everything else — who is asking, the person's hash, the count and
 * the flush to D1 — runs after the answer (`waitUntil`). No audit event is written per hit: report
 * rules are counted in aggregate only (edge/policy/report-counter.ts).
 */
import type { Runtime } from '../deployment/runtime';
import type { CanonicalRequest } from '../policy/canonical-request';
import type { RuleMatch } from '../policy/compile-policy';
import { reportCounter, reportPersonHash, reportRoute } from '../policy/report-counter';
import { executionContextOf, type StepgateHonoContext } from './hono-context';

/**
 * The report rules that would take this request (by its method, override headers and query; a
 * report rule never causes a body to be read), counted in the background.
 */
export function countReportOnly(c: StepgateHonoContext, rt: Runtime, canonical: CanonicalRequest, request: Request): void {
  try {
    const hits = rt.policy.reportMatches(canonical.hostname, canonical.methods, canonical.matchSegments);
    if (hits.length === 0) return;
    const work = countHits(rt, canonical, request, hits);
    executionContextOf(c)?.waitUntil(work);
  } catch (err) {
    // Never the request's failure: it goes on as if no report rule existed.
    console.warn('stepgate: report-only match failed:', err instanceof Error ? err.message : 'non-error');
  }
}

async function countHits(rt: Runtime, canonical: CanonicalRequest, request: Request, hits: readonly RuleMatch[]): Promise<void> {
  try {
    const now = rt.now();
    // Who would have been challenged. Nobody (no session, or one that does not verify) is counted as
    // anonymous: an enforce rule would have refused them, not challenged them.
    const who = await rt.identify(request);
    const person = who.ok ? await reportPersonHash(rt.keys, rt.app.id, who.identity.sub) : '';
    for (const h of hits) {
      reportCounter.add({ appId: rt.app.id, ruleId: h.rule.id, route: reportRoute(h.method, canonical.path), person, now });
    }
    await reportCounter.flushSoon(rt.db);
  } catch (err) {
    // Counting never decides a request: the request already went on.
    console.warn('stepgate: report-only count failed:', err instanceof Error ? err.message : 'non-error');
  }
}
