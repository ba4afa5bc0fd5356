/**
 * @module testRequest(): which rule of a policy takes `METHOD URL`, and what would happen, in a plain
 * sentence — the console's tester and the replay of recorded routes (policy-replay.ts). Pure: it
 * canonicalizes the request as the gateway does (canonical-request.ts) and asks the compiled policy,
 * without headers or a body (so no override header and no `_method` in a body is seen; a `_method`
 * query parameter is).
 */
import { StepgateError } from '../http/stepgate-error';
import { canonicalizeRequest } from './canonical-request';
import { approverSourceWords } from './approval-change';
import type { CompiledApproval, CompiledPolicy } from './compile-policy';

/** What would happen to the request. */
export type TestOutcome = 'pass' | 'step-up' | 'approve-action' | 'report-only' | 'refused';

export interface PolicyTestResult {
  /** The rule that decides (or, for `report-only`, the report rule that would count it); null when none. */
  rule: string | null;
  mode: 'enforce' | 'report' | null;
  outcome: TestOutcome;
  /** A plain sentence: what happens and why. */
  text: string;
}

export interface TestOptions {
  /**
   * The hosts the app serves (a D1 app's hosts); a request for another host is not this app's.
   * Empty or absent: the policy's `hosts` alone decide (the bundled app).
   */
  appHosts?: readonly string[];
}

/** The host a path-only URL (`/api/projects/7`) is tested on: the app's first host, else the policy's first exact host. */
export function defaultHost(policy: CompiledPolicy, o: TestOptions = {}): string {
  return o.appHosts?.[0] ?? policy.policy.hosts?.find((h) => !h.startsWith('*.')) ?? 'app.invalid';
}

/** An absolute URL for a path-only one; an absolute http(s) URL as it is. */
export function absoluteUrl(url: string, host: string): string {
  return /^https?:\/\//i.test(url) ? url : `https://${host}${url.startsWith('/') ? '' : '/'}${url}`;
}

const factorsText = (factors: readonly string[]): string => factors.join(' or ');
const durationText = (s: number): string => (s % 3600 === 0 ? `${s / 3600} h` : s % 60 === 0 ? `${s / 60} min` : `${s} s`);

/**
 * What `method url` meets under `policy`. `url` is absolute (`https://host/path?query`) or a path,
 * tested on defaultHost.
 */
export function testRequest(policy: CompiledPolicy, method: string, url: string, o: TestOptions = {}): PolicyTestResult {
  let c: ReturnType<typeof canonicalizeRequest>;
  try {
    c = canonicalizeRequest(method, absoluteUrl(url, defaultHost(policy, o)), new Headers(), {
      caseSensitive: policy.caseSensitive,
      allowPathInfo: policy.policy.allowPathInfo ?? false,
    });
  } catch (e) {
    if (!(e instanceof StepgateError)) throw e;
    return refused(`The gateway refuses it (${e.status}) before matching any rule: ${e.message}.`);
  }
  const target = `${c.method} ${c.hostname}${c.path}`;
  if (o.appHosts?.length && !o.appHosts.includes(c.hostname))
    return refused(`${c.hostname} is not one of this app's hosts (${o.appHosts.join(', ')}): this app never sees ${target}.`);
  if (!policy.servesHost(c.hostname))
    return refused(`The policy's "hosts" do not include ${c.hostname}: the gateway answers 421 and forwards nothing.`);
  const hit = policy.match(c.hostname, c.methods, c.matchSegments);
  if (hit) {
    const r = hit.rule;
    const as = hit.method !== c.method ? ` (matched as ${hit.method})` : '';
    const text =
      r.bind === 'action'
        ? `Rule "${r.id}" applies to ${target}${as}: the person approves this exact request with ${factorsText(r.factors)}; ` +
          'one approval covers this one request, once.'
        : `Rule "${r.id}" applies to ${target}${as}: the person steps up with ${factorsText(r.factors)} first; ` +
          `one step-up covers the rule for ${durationText(r.maxAgeSeconds)} in this app session.`;
    return {
      rule: r.id,
      mode: 'enforce',
      outcome: r.bind === 'action' ? 'approve-action' : 'step-up',
      text: text + approvalText(r.approval),
    };
  }
  const report = policy.reportMatches(c.hostname, c.methods, c.matchSegments)[0];
  if (report) {
    return {
      rule: report.rule.id,
      mode: 'report',
      outcome: 'report-only',
      text:
        `No rule enforces on ${target}: it passes through to the origin, and the report-only rule "${report.rule.id}" ` +
        `counts it as a request it would have challenged${report.rule.approval ? ' and held for approval' : ''}.`,
    };
  }
  return { rule: null, mode: null, outcome: 'pass', text: `No rule matches ${target}: it passes through to the origin without a step-up.` };
}

/** What dual control adds (`require.approval`): who must approve before the request is forwarded. */
const approvalText = (a: CompiledApproval | null): string => {
  if (!a) return '';
  const groups = a.approvers.map((g) => `${g.count} of ${approverSourceWords(g.from)}`).join(' and ');
  const first = a.requesterStepUp ? 'After that step-up' : 'Without a step-up of the requester';
  return (
    ` ${first}, the request waits (up to ${durationText(a.expiresSeconds)}) until ${groups} approve it; ` +
    'it is forwarded once, after that.'
  );
};

const refused = (text: string): PolicyTestResult => ({ rule: null, mode: null, outcome: 'refused', text });
