/**
 * @module What `stepgate policy pull|diff|push` ask of the admin API: an app's active policy with its
 * version number, and a new version of it (PUT …/apps/:app/policy, the same path as the console,
 * so the gateway's validation, weakening rule and audit apply). Answers are checked before use: a
 * gateway that answers something else is an error, never a guess.
 */
import type { Policy } from '../../policy/schema';
import { formatProblem, PolicyError, validatePolicy } from '../../policy/validate-policy';
import { AdminError, type Connection, request, seg } from './admin-client';

/** The admin API path of an app. */
export const appPath = (org: string, app: string): string => `/.stepgate/api/admin/orgs/${seg(org)}/apps/${seg(app)}`;

/** The console page where a proposal is approved or a canary widened. */
export const consolePolicyUrl = (c: Connection, org: string, app: string): string =>
  `${c.base}/.stepgate/admin/orgs/${seg(org)}/apps/${seg(app)}/policy`;

/** An app's active policy. */
export interface ActivePolicy {
  /** The document as the gateway stores it. */
  document: unknown;
  /** The same, validated here (what the diff compares). */
  policy: Policy;
  /** Its version number; null when the gateway's answer did not name it (a version made meanwhile). */
  version: number | null;
  hash: string;
  updatedAt: string | null;
  updatedBy: string | null;
}

interface PolicyAnswer {
  policy?: unknown;
  hash?: unknown;
  version?: unknown;
  updated_at?: unknown;
  updated_by?: unknown;
}

const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The version number of the active policy: from the answer, else the active entry of the versions list with the same hash. */
async function activeVersion(c: Connection, org: string, app: string, a: PolicyAnswer, hash: string): Promise<number | null> {
  if (typeof a.version === 'number' && Number.isSafeInteger(a.version)) return a.version;
  const r = (await request(c, 'GET', `${appPath(org, app)}/policy/versions?limit=50`)) as { versions?: unknown };
  const list = Array.isArray(r?.versions) ? (r.versions as { version?: unknown; state?: unknown; hash?: unknown }[]) : [];
  // Matched by hash too: if a version became active between the two reads, no number is better than a wrong one.
  const hit = list.find((v) => v?.state === 'active' && v.hash === hash && typeof v.version === 'number');
  if (hit) return hit.version as number;
  // No version made yet: the saved policy is version 1 (docs/policy.md, "Versions").
  return list.length === 0 ? 1 : null;
}

/** The active policy of `app` in `org`. @throws {AdminError} in words */
export async function fetchActive(c: Connection, org: string, app: string): Promise<ActivePolicy> {
  const a = (await request(c, 'GET', `${appPath(org, app)}/policy`)) as PolicyAnswer | null;
  const hash = text(a?.hash);
  if (!a || a.policy === undefined || hash === null)
    throw new AdminError(`${c.base} did not answer with a policy: is it a Stepgate gateway?`);
  let policy: Policy;
  try {
    policy = validatePolicy(a.policy, `the active policy of app ${app}`);
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    // The gateway validated it when it was saved: a problem here means this CLI is older than the gateway.
    throw new AdminError(`${formatProblem(e.problems[0]!)} (is this stepgate older than the gateway?)`);
  }
  return {
    document: a.policy,
    policy,
    version: await activeVersion(c, org, app, a, hash),
    hash,
    updatedAt: text(a.updated_at),
    updatedBy: text(a.updated_by),
  };
}

/** What the gateway did with a pushed version. */
export interface PushOutcome {
  state: 'active' | 'proposed';
  version: number;
  hash: string;
  /** Why it weakens protection, as the gateway's classifier says (empty when it does not). */
  weakens: string[];
}

/** The body of PUT …/policy: `canary_percent` only when a canary is asked for. */
export interface PushBody {
  policy: unknown;
  comment: string;
  canary_percent?: number;
}

/**
 * Push a new version of `app`'s policy. @throws {AdminError} in words; for an invalid policy its
 * `body.problems` lists each problem the gateway found
 */
export async function pushVersion(c: Connection, org: string, app: string, body: PushBody): Promise<PushOutcome> {
  const r = (await request(c, 'PUT', `${appPath(org, app)}/policy`, body)) as {
    state?: unknown;
    version?: unknown;
    hash?: unknown;
    changes?: unknown;
  } | null;
  if (!r || (r.state !== 'active' && r.state !== 'proposed') || typeof r.version !== 'number' || typeof r.hash !== 'string')
    throw new AdminError(`${c.base} answered the push with something unexpected: is it a Stepgate gateway of this version?`);
  const changes = Array.isArray(r.changes) ? (r.changes as { kind?: unknown; message?: unknown }[]) : [];
  return {
    state: r.state,
    version: r.version,
    hash: r.hash,
    weakens: changes.filter((ch) => ch?.kind === 'weakens' && typeof ch.message === 'string').map((ch) => ch.message as string),
  };
}
