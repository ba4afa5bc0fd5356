/**
 * @module The policies and requests of the rule-scaling bench (test/bench/policy-scale.ts): a policy
 * of N rules, ten per host, in the shapes app owners write (exact paths, `*`, `**`, globs inside a
 * segment, method lists, path lists, tenant wildcard hosts, a few rules for every host), and a
 * request mix over the same hosts with hits, `.json` variants, method misses, claimed methods,
 * unprotected routes and unknown hosts. Deterministic (seeded) and free of Node APIs, so the same
 * code runs under Node and inside workerd (policy-scale-worker.ts).
 */
import { type CanonicalRequest, canonicalizeRequest } from '../../edge/policy/canonical-request';
import type { CompiledPolicy } from '../../edge/policy/compile-policy';
import type { Policy, Rule } from '../../edge/policy/schema';
import { bodyMayClaimMethod, matchRule } from '../../edge/request-path/match-rule';
import { mulberry32 } from '../support/mulberry32';

/** A small seeded PRNG (mulberry32): the same policy and requests on every run. */
export const prng = mulberry32;

const RESOURCES = ['projects', 'users', 'invoices', 'orders', 'teams', 'repos', 'keys', 'tokens', 'webhooks', 'payments'];
export const hostOf = (h: number): string => `app${h}.example.com`;
const WRITES = ['POST', 'PUT', 'PATCH', 'DELETE'];

/** The ten rule shapes; rule k of a host takes shape k, with resources and numbers varied per host. */
function shape(k: number, h: number, rnd: () => number): { match: Omit<Rule['match'], 'host'>; host: 'exact' | 'tenant' | 'none' } {
  const res = RESOURCES[(h + k) % RESOURCES.length]!;
  const n = 1 + Math.floor(rnd() * 500);
  switch (k) {
    case 0:
      return { match: { methods: ['DELETE'], path: `/api/${res}/${n}` }, host: 'exact' };
    case 1:
      return { match: { methods: ['DELETE'], path: `/api/${res}/*` }, host: 'exact' };
    case 2:
      return { match: { methods: ['POST'], path: `/api/${res}/*/ban` }, host: 'exact' };
    case 3:
      return { match: { methods: WRITES, path: '/admin/**' }, host: 'exact' };
    case 4:
      return { match: { methods: ['GET'], path: [`/exports/${res}-*.csv`, '/reports/**/export'] }, host: 'exact' };
    case 5:
      return { match: { methods: ['PUT', 'DELETE'], path: `/api/v${1 + (n % 3)}/${res}/*/members/*` }, host: 'exact' };
    case 6:
      return { match: { path: ['/settings/security/**', `/billing/${res}/*/refund`] }, host: 'exact' };
    case 7:
      return { match: { methods: ['POST', 'PATCH'], path: `/api/${res}/*/transfer` }, host: 'tenant' };
    case 8:
      return { match: { methods: ['POST'], path: `/orgs/*/${res}/*/rotate` }, host: 'exact' };
    default:
      // One host in ten also has a rule for every host (an internal service path), the rest one of their own.
      return h % 10 === 0
        ? { match: { methods: WRITES, path: `/internal/svc${h}/**` }, host: 'none' }
        : { match: { methods: ['DELETE'], path: `/api/${res}/*/sessions/*` }, host: 'exact' };
  }
}

/** A policy of `rules` rules (a multiple of 10) over `rules / 10` hosts, valid by the schema. */
export function scalePolicy(rules: number, seed = 15): Policy {
  const rnd = prng(seed);
  const out: Rule[] = [];
  for (let i = 0; i < rules; i++) {
    const h = Math.floor(i / 10);
    const { match, host } = shape(i % 10, h, rnd);
    const hosts = host === 'exact' ? { host: hostOf(h) } : host === 'tenant' ? { host: [hostOf(h), `*.${hostOf(h)}`] } : {};
    out.push({
      id: `h${h}-r${i % 10}`,
      match: { ...match, ...hosts },
      require: i % 10 === 0 ? { factors: ['webauthn'], bind: 'action' } : { factors: ['webauthn', 'totp'], bind: 'session', maxAge: '5m' },
    });
  }
  return { version: 1, hosts: ['*.example.com'], rules: out };
}

/** A concrete path a pattern matches (`*` an id, `**` zero to two segments, `a-*.csv` filled in). */
function instantiate(pattern: string, rnd: () => number): string {
  const segs = pattern.split('/').filter((s) => s !== '');
  const out: string[] = [];
  for (const s of segs) {
    if (s === '**') for (let i = Math.floor(rnd() * 3); i > 0; i--) out.push(`d${Math.floor(rnd() * 100)}`);
    else out.push(s.replaceAll('*', String(1 + Math.floor(rnd() * 9999))));
  }
  return `/${out.join('/')}`;
}

const UNPROTECTED = ['/', '/static/app.js', '/api/projects', '/api/users/42', '/assets/img/logo.png', '/api/orders/17/items', '/login'];

/** One request of the mix, as the gateway sees it before matching (method, URL, override header). */
export interface ScaleRequest {
  method: string;
  url: string;
  override?: string;
  kind: 'hit' | 'extension' | 'method-miss' | 'claimed' | 'unprotected' | 'unknown-host';
}

/**
 * `count` requests over the hosts of `policy`: 40 % a path some rule of the host covers, 10 % the
 * same with `.json`, 10 % a covered path under a method no rule covers, 5 % a POST claiming DELETE,
 * 30 % unprotected routes, 5 % a host the policy serves but no rule names.
 */
export function scaleRequests(policy: Policy, count: number, seed = 51): ScaleRequest[] {
  const rnd = prng(seed);
  const hostCount = Math.max(1, Math.floor(policy.rules.length / 10));
  const out: ScaleRequest[] = [];
  for (let i = 0; i < count; i++) {
    const h = Math.floor(rnd() * hostCount);
    const rule = policy.rules[h * 10 + Math.floor(rnd() * 10)]!;
    const paths = Array.isArray(rule.match.path) ? rule.match.path : [rule.match.path];
    const path = instantiate(paths[Math.floor(rnd() * paths.length)]!, rnd);
    const method = rule.match.methods?.[Math.floor(rnd() * rule.match.methods.length)] ?? 'DELETE';
    const host = rule.match.host === undefined ? hostOf(h) : rule.match.host.length === 2 && rnd() < 0.5 ? `t9.${hostOf(h)}` : hostOf(h);
    const r = rnd();
    const at = (m: string, p: string, kind: ScaleRequest['kind'], hostname = host): ScaleRequest => ({
      method: m,
      url: `https://${hostname}${p}`,
      kind,
    });
    if (r < 0.4) out.push(at(method, path, 'hit'));
    else if (r < 0.5) out.push(at(method, `${path}.json`, 'extension'));
    else if (r < 0.6) out.push(at(method === 'GET' ? 'DELETE' : 'GET', path, 'method-miss'));
    else if (r < 0.65) out.push({ ...at('POST', path, 'claimed'), override: 'DELETE' });
    else if (r < 0.95) out.push(at(rnd() < 0.7 ? 'GET' : 'POST', UNPROTECTED[Math.floor(rnd() * UNPROTECTED.length)]!, 'unprotected'));
    else out.push(at(method, path, 'unknown-host', `other${h}.example.com`));
  }
  return out;
}

/** The requests canonicalized as the gateway does before matching (done before timing: matching is measured). */
export const canonicalRequests = (requests: readonly ScaleRequest[]): CanonicalRequest[] =>
  requests.map((q) => canonicalizeRequest(q.method, q.url, new Headers(q.override ? { 'x-http-method-override': q.override } : {})));

/** What decideRequest asks the policy for each request; the sum keeps the work from being optimised away. */
export function decideAll(policy: CompiledPolicy, requests: readonly CanonicalRequest[]): number {
  let sum = 0;
  for (const c of requests) {
    const m = matchRule(policy, c);
    sum += (m ? m.rule.index + 1 : 0) + (bodyMayClaimMethod(policy, c) ? 1 : 0);
  }
  return sum;
}
