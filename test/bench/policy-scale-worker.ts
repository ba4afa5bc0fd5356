/**
 * @module The rule-scaling bench inside workerd (policy-scale-workerd.ts drives it): the same
 * policies, requests and calls as in Node. workerd's clocks stand still while code runs, so this
 * Worker only does the work; the driver times each call from outside and subtracts an empty call.
 * `?rules=N&requests=R&mix=M&op=compile|match|noop&n=K`: compile the N-rule policy K times, or match
 * R requests made for the M-rule policy (default N) K times.
 */
import { compilePolicy, type CompiledPolicy } from '../../edge/policy/compile-policy';
import type { CanonicalRequest } from '../../edge/policy/canonical-request';
import type { Policy } from '../../edge/policy/schema';
import { validatePolicy } from '../../edge/policy/validate-policy';
import { canonicalRequests, decideAll, scalePolicy, scaleRequests } from './policy-scale-fixture';

const prepared = new Map<string, { doc: Policy; compiled: CompiledPolicy; requests: CanonicalRequest[] }>();

export default {
  fetch(req: Request): Response {
    const q = new URL(req.url).searchParams;
    const [rules, count, n] = [Number(q.get('rules')), Number(q.get('requests')), Number(q.get('n') ?? 0)];
    const mix = Number(q.get('mix') ?? rules);
    const key = `${rules}/${count}/${mix}`;
    let p = prepared.get(key);
    if (!p) {
      const doc = validatePolicy(scalePolicy(rules));
      p = { doc, compiled: compilePolicy(doc), requests: canonicalRequests(scaleRequests(mix === rules ? doc : scalePolicy(mix), count)) };
      prepared.set(key, p);
    }
    let sum = 0;
    if (q.get('op') === 'compile') for (let i = 0; i < n; i++) sum += compilePolicy(p.doc).rules.length;
    else if (q.get('op') === 'match') for (let i = 0; i < n; i++) sum += decideAll(p.compiled, p.requests);
    return new Response(String(sum));
  },
};
