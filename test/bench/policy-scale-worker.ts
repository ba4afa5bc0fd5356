/**
 * @module The rule-scaling bench inside workerd (policy-scale-workerd.ts drives it): the same
 * policies, requests and calls as in Node. workerd's clocks stand still while code runs, so this
 * Worker only does the work; the driver times each call from outside and subtracts an empty call.
 * `?rules=N&requests=R&mix=M&op=doc|compile|match|noop&n=K`: make and validate the N-rule policy
 * (doc, nothing compiled, so the next compile is the isolate's first), compile it K times, or match
 * R requests made for the M-rule policy (default N) K times.
 */
import { compilePolicy, type CompiledPolicy } from '../../edge/policy/compile-policy';
import type { CanonicalRequest } from '../../edge/policy/canonical-request';
import type { Policy } from '../../edge/policy/schema';
import { validatePolicy } from '../../edge/policy/validate-policy';
import { canonicalRequests, decideAll, scalePolicy, scaleRequests } from './policy-scale-fixture';

const docs = new Map<number, Policy>();
const compiled = new Map<number, CompiledPolicy>();
const requests = new Map<string, CanonicalRequest[]>();

const docOf = (rules: number): Policy => {
  let doc = docs.get(rules);
  if (!doc) {
    doc = validatePolicy(scalePolicy(rules));
    docs.set(rules, doc);
  }
  return doc;
};

export default {
  fetch(req: Request): Response {
    const q = new URL(req.url).searchParams;
    const [rules, count, n] = [Number(q.get('rules')), Number(q.get('requests')), Number(q.get('n') ?? 0)];
    const mix = Number(q.get('mix') ?? rules);
    const doc = docOf(rules);
    let sum = 0;
    if (q.get('op') === 'compile') for (let i = 0; i < n; i++) sum += compilePolicy(doc).rules.length;
    else if (q.get('op') === 'match') {
      let policy = compiled.get(rules);
      if (!policy) {
        policy = compilePolicy(doc);
        compiled.set(rules, policy);
      }
      const key = `${rules}/${count}/${mix}`;
      let asked = requests.get(key);
      if (!asked) {
        asked = canonicalRequests(scaleRequests(mix === rules ? doc : scalePolicy(mix), count));
        requests.set(key, asked);
      }
      for (let i = 0; i < n; i++) sum += decideAll(policy, asked);
    }
    return new Response(String(sum));
  },
};
