/**
 * @module What an app is written with, checked before anything is stored: its hosts, origin,
 * identity configuration and policy. Every problem is collected, each a sentence naming its field.
 */
import { canonicalJson } from '../audit/canonical-json';
import { sha256b64u } from '../crypto/base64';
import { IdentityConfig } from '../identity/identity-config';
import { isBaselineRuleId } from '../policy/baseline-merge';
import { compilePolicy } from '../policy/compile-policy';
import type { Policy } from '../policy/schema';
import { formatProblem, PolicyError, validatePolicy } from '../policy/validate-policy';
import { checkName } from './org-store';

/** Input that is not a valid app: every problem, each a sentence naming its field. */
export class AppInputError extends Error {
  override readonly name = 'AppInputError';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

const HOST_LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOST = new RegExp(`^(?=.{1,253}$)${HOST_LABEL}(?:\\.${HOST_LABEL})*$`);
export const MAX_HOSTS = 50;

/** Hosts as stored: lower case, each once; no port, wildcard, trailing dot or non-ASCII (use punycode). */
export function checkHosts(hosts: readonly string[], problems: string[]): string[] {
  const out = hosts.map((h) => h.trim().toLowerCase());
  if (out.length === 0) problems.push('hosts: at least one host name');
  if (out.length > MAX_HOSTS) problems.push(`hosts: at most ${MAX_HOSTS}`);
  for (const h of out) {
    if (!HOST.test(h))
      problems.push(`hosts: ${JSON.stringify(h).slice(0, 80)} is not a host name (lower case, no port, no "*", no trailing dot)`);
  }
  const dup = out.find((h, i) => out.indexOf(h) !== i);
  if (dup) problems.push(`hosts: ${dup} is listed twice`);
  return [...new Set(out)].sort();
}

export function checkOrigin(originUrl: string | null, development: boolean, problems: string[]): string | null {
  if (originUrl === null) return null;
  let u: URL;
  try {
    u = new URL(originUrl);
  } catch {
    problems.push('originUrl: not a URL');
    return null;
  }
  if (u.protocol !== 'https:' && !(development && u.protocol === 'http:')) {
    problems.push(`originUrl: must be https:${development ? ' or http:' : ''}`);
  }
  if (u.username || u.password || u.search || u.hash || (u.pathname !== '/' && u.pathname !== '')) {
    problems.push('originUrl: a bare origin such as "https://app.internal" (no path, query, fragment or credentials)');
  }
  return u.origin;
}

export function checkIdentity(identity: unknown, development: boolean, problems: string[]): IdentityConfig | null {
  const r = IdentityConfig.safeParse(identity);
  if (!r.success) {
    for (const i of r.error.issues) problems.push(`identity${i.path.length ? `.${i.path.join('.')}` : ''}: ${i.message}`);
    return null;
  }
  if (r.data.source === 'dev' && !development) problems.push('identity: the "dev" source is for development only');
  // Why: IDENTITY_JWT_SECRET belongs to the bundled app; another app verifying with it could mint its sessions
  // (the app registry, edge/apps/app-definition.ts, refuses to serve such an app).
  if (r.data.source === 'jwt' && !r.data.jwksUrl) problems.push('identity.jwksUrl: a jwt source of an app in D1 needs a jwksUrl');
  return r.data;
}

/** The validated policy and its hash, or problems. */
export async function checkPolicy(
  document: unknown,
  appName: string,
  problems: string[],
): Promise<{ policy: Policy; hash: string } | null> {
  try {
    const policy = validatePolicy(document, `policy of ${appName}`);
    // Why: a rule named like a baseline rule would be confused with it (edge/policy/baseline-merge.ts).
    const reserved = policy.rules.filter((r) => isBaselineRuleId(r.id));
    if (reserved.length) {
      const message = 'ids starting with "baseline." are reserved for the organisation baseline';
      throw new PolicyError(reserved.map((r) => ({ file: `policy of ${appName}`, rule: `"${r.id}"`, field: 'id', message })));
    }
    return { policy, hash: await sha256b64u(canonicalJson(policy)) };
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    problems.push(...e.problems.map(formatProblem));
    return null;
  }
}

/** Every host the policy must serve: a policy with `hosts` lists each of the app's hosts (or the app is not served). */
export function checkPolicyServes(policy: Policy, hosts: readonly string[], problems: string[]): void {
  const compiled = compilePolicy(policy);
  const outside = hosts.filter((h) => !compiled.servesHost(h));
  if (outside.length) problems.push(`policy: its "hosts" do not include ${outside.join(', ')}`);
}

/** How a person with no factor enrols the first under `policy` (a stored policy, or a document not yet validated). */
export function enrolmentOf(policy: unknown): unknown {
  // Own property only, as validatePolicy reads it; absent means the default, "first-use" (build-runtime.ts).
  if (policy !== null && typeof policy === 'object' && Object.hasOwn(policy, 'enrolment')) {
    const e = (policy as { enrolment?: unknown }).enrolment;
    return e === undefined ? 'first-use' : e;
  }
  return 'first-use';
}

/**
 * Whether replacing the policy `before` (null: none stored) with the document `after` changes how
 * people enrol (`enrolment`): only an owner or admin may (authorization.ts, `changesEnrolment`).
 */
export const changesEnrolment = (before: unknown, after: unknown): boolean => enrolmentOf(before) !== enrolmentOf(after);

/** A new app's input: what createApp (app-store.ts) writes an app with. */
export interface NewAppInput {
  name: string;
  hosts: readonly string[];
  originUrl: string | null;
  identity: unknown;
  policy: unknown;
}

/** A new app's input checked: every problem, and each part as it would be stored (null where it has a problem). */
export async function checkNewApp(
  o: NewAppInput,
  development: boolean,
): Promise<{
  problems: string[];
  name: string;
  hosts: string[];
  originUrl: string | null;
  identity: IdentityConfig | null;
  policy: { policy: Policy; hash: string } | null;
}> {
  const problems: string[] = [];
  let name = o.name;
  try {
    name = checkName(o.name, 'app');
  } catch (e) {
    problems.push((e as Error).message);
  }
  const hosts = checkHosts(o.hosts, problems);
  const originUrl = checkOrigin(o.originUrl, development, problems);
  const identity = checkIdentity(o.identity, development, problems);
  const policy = await checkPolicy(o.policy, name, problems);
  if (policy) checkPolicyServes(policy.policy, hosts, problems);
  return { problems, name, hosts, originUrl, identity, policy };
}

/**
 * Every problem of a new app's input, checked as createApp (app-store.ts) checks it, without
 * writing: so a caller that must create something else first (an organisation and its first app)
 * refuses bad input before anything is stored.
 */
export async function newAppProblems(o: NewAppInput, development: boolean): Promise<string[]> {
  return (await checkNewApp(o, development)).problems;
}
