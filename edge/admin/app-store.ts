/**
 * @module D1 queries for apps (`apps`, `app_hosts`, `app_policies`): an organisation's apps, each
 * with the hosts it is served on, its origin, its identity configuration and its policy. Everything
 * is validated on write (IdentityConfig, validatePolicy). A host belongs to at most one app, held by
 * the primary key of `app_hosts`: a second claim, even a racing one, is a conflict and changes
 * nothing. Every query but the gateway's own lookup by host is scoped by the organisation.
 */
import { canonicalJson } from '../audit/canonical-json';
import { open, seal } from '../crypto/aead';
import { base64url, sha256b64u } from '../crypto/base64';
import { appPolicyEditorAad } from '../crypto/encryption-context';
import type { Keyring } from '../crypto/keyring';
import { IdentityConfig } from '../identity/identity-config';
import { compilePolicy } from '../policy/compile-policy';
import type { Policy } from '../policy/schema';
import { formatProblem, PolicyError, validatePolicy } from '../policy/validate-policy';
import { checkName } from './org-store';

export interface App {
  id: string;
  orgId: string;
  name: string;
  /** Exact lower-case host names, sorted. */
  hosts: string[];
  /** null: fetch(request), the Cloudflare-proxied origin. */
  originUrl: string | null;
  identity: IdentityConfig;
  createdAt: number;
  updatedAt: number;
}

export interface AppPolicy {
  appId: string;
  policy: Policy;
  /** SHA-256 (base64url) of the validated policy's canonical JSON: how the audit log names it. */
  hash: string;
  updatedAt: number;
  /** Who saved it; null when unknown (or it no longer opens). */
  updatedBy: string | null;
}

/** Input that is not a valid app: every problem, each a sentence naming its field. */
export class AppInputError extends Error {
  override readonly name = 'AppInputError';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/** A conflict: hosts already served by another app (named only when it is of the same organisation). */
export interface HostConflict {
  ok: false;
  code: 'host-taken';
  hosts: { host: string; appId: string | null }[];
  reason: string;
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

function checkOrigin(originUrl: string | null, development: boolean, problems: string[]): string | null {
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

function checkIdentity(identity: unknown, development: boolean, problems: string[]): IdentityConfig | null {
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
async function checkPolicy(document: unknown, appName: string, problems: string[]): Promise<{ policy: Policy; hash: string } | null> {
  try {
    const policy = validatePolicy(document, `policy of ${appName}`);
    return { policy, hash: await sha256b64u(canonicalJson(policy)) };
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    problems.push(...e.problems.map(formatProblem));
    return null;
  }
}

/** Every host the policy must serve: a policy with `hosts` lists each of the app's hosts (or the app is not served). */
function checkPolicyServes(policy: Policy, hosts: readonly string[], problems: string[]): void {
  const compiled = compilePolicy(policy);
  const outside = hosts.filter((h) => !compiled.servesHost(h));
  if (outside.length) problems.push(`policy: its "hosts" do not include ${outside.join(', ')}`);
}

interface AppRow {
  id: string;
  org_id: string;
  name: string;
  origin_url: string | null;
  identity_json: string;
  created_at: number;
  updated_at: number;
  hosts: string | null; // group_concat
}
const APP_SELECT =
  "SELECT a.*, (SELECT group_concat(host, ' ') FROM (SELECT host FROM app_hosts h WHERE h.app_id = a.id ORDER BY host)) AS hosts " +
  'FROM apps a';
const toApp = (r: AppRow): App => ({
  id: r.id,
  orgId: r.org_id,
  name: r.name,
  hosts: r.hosts ? r.hosts.split(' ') : [],
  originUrl: r.origin_url,
  identity: IdentityConfig.parse(JSON.parse(r.identity_json)),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** After a write failed: which of `hosts` another app holds (named only within `orgId`), if any. */
async function hostConflict(db: D1Database, orgId: string, hosts: string[], except: string): Promise<HostConflict | null> {
  const { results } = await db
    .prepare(
      `SELECT h.host, h.app_id, a.org_id FROM app_hosts h JOIN apps a ON a.id = h.app_id ` +
        `WHERE h.host IN (${hosts.map(() => '?').join(', ')}) AND h.app_id <> ? ORDER BY h.host`,
    )
    .bind(...hosts, except)
    .all<{ host: string; app_id: string; org_id: string }>();
  if (results.length === 0) return null;
  return {
    ok: false,
    code: 'host-taken',
    // Another organisation's app is not named: its existence is all that is said.
    hosts: results.map((r) => ({ host: r.host, appId: r.org_id === orgId ? r.app_id : null })),
    reason: `already served by another app: ${results.map((r) => r.host).join(', ')}`,
  };
}

const inOrg = 'EXISTS (SELECT 1 FROM apps WHERE id = ? AND org_id = ?)';

/**
 * Create an app of `orgId` with its hosts, identity configuration and policy, all or nothing.
 * `development` allows the dev identity source and an http: origin.
 *
 * @throws {AppInputError} listing every problem of the input
 */
export async function createApp(
  db: D1Database,
  ring: Keyring,
  o: {
    orgId: string;
    name: string;
    hosts: readonly string[];
    originUrl: string | null;
    identity: unknown;
    policy: unknown;
    createdBy: string;
    now: number;
    development?: boolean;
  },
): Promise<{ ok: true; app: App; policyHash: string } | HostConflict | { ok: false; code: 'no-such-org'; reason: string }> {
  const problems: string[] = [];
  let name = o.name;
  try {
    name = checkName(o.name, 'app');
  } catch (e) {
    problems.push((e as Error).message);
  }
  const hosts = checkHosts(o.hosts, problems);
  const originUrl = checkOrigin(o.originUrl, o.development === true, problems);
  const identity = checkIdentity(o.identity, o.development === true, problems);
  const policy = await checkPolicy(o.policy, name, problems);
  if (policy) checkPolicyServes(policy.policy, hosts, problems);
  if (problems.length || !identity || !policy) throw new AppInputError(problems);

  const id = base64url(crypto.getRandomValues(new Uint8Array(12)));
  try {
    await db.batch([
      db
        .prepare('INSERT INTO apps (id, org_id, name, origin_url, identity_json, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .bind(id, o.orgId, name, originUrl, JSON.stringify(identity), o.now, o.now),
      ...hosts.map((h) => db.prepare('INSERT INTO app_hosts (host, app_id) VALUES (?, ?)').bind(h, id)),
      db
        .prepare('INSERT INTO app_policies (app_id, document_json, hash, updated_at, updated_by_sealed) VALUES (?, ?, ?, ?, ?)')
        .bind(
          id,
          JSON.stringify(policy.policy),
          policy.hash,
          o.now,
          await seal(ring, 'factor-metadata', o.createdBy, appPolicyEditorAad(id, policy.hash)),
        ),
    ]);
  } catch (e) {
    const conflict = await hostConflict(db, o.orgId, hosts, id);
    if (conflict) return conflict;
    if (!(await db.prepare('SELECT 1 FROM orgs WHERE id = ?').bind(o.orgId).first())) {
      return { ok: false, code: 'no-such-org', reason: 'no such organisation' };
    }
    throw e;
  }
  return {
    ok: true,
    app: { id, orgId: o.orgId, name, hosts, originUrl, identity, createdAt: o.now, updatedAt: o.now },
    policyHash: policy.hash,
  };
}

/**
 * Change an app of `orgId`: any of its name, hosts (replaced as a whole), origin and identity
 * configuration, all or nothing.
 *
 * @throws {AppInputError} listing every problem of the input
 */
export async function updateApp(
  db: D1Database,
  o: {
    orgId: string;
    appId: string;
    name?: string;
    hosts?: readonly string[];
    originUrl?: string | null;
    identity?: unknown;
    now: number;
    development?: boolean;
  },
): Promise<{ ok: true; app: App } | HostConflict | { ok: false; code: 'not-found' }> {
  const problems: string[] = [];
  const sets: string[] = ['updated_at = ?'];
  const args: (string | number | null)[] = [o.now];
  if (o.name !== undefined) {
    try {
      sets.push('name = ?');
      args.push(checkName(o.name, 'app'));
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  if (o.originUrl !== undefined) {
    sets.push('origin_url = ?');
    args.push(checkOrigin(o.originUrl, o.development === true, problems));
  }
  if (o.identity !== undefined) {
    const identity = checkIdentity(o.identity, o.development === true, problems);
    sets.push('identity_json = ?');
    args.push(JSON.stringify(identity));
  }
  const hosts = o.hosts === undefined ? null : checkHosts(o.hosts, problems);
  if (hosts && problems.length === 0) {
    const current = await db
      .prepare('SELECT p.document_json FROM app_policies p JOIN apps a ON a.id = p.app_id WHERE p.app_id = ? AND a.org_id = ?')
      .bind(o.appId, o.orgId)
      .first<{ document_json: string }>();
    if (current) checkPolicyServes(validatePolicy(JSON.parse(current.document_json)), hosts, problems);
  }
  if (problems.length) throw new AppInputError(problems);

  const statements = [db.prepare(`UPDATE apps SET ${sets.join(', ')} WHERE id = ? AND org_id = ?`).bind(...args, o.appId, o.orgId)];
  if (hosts) {
    statements.push(db.prepare(`DELETE FROM app_hosts WHERE app_id = ? AND ${inOrg}`).bind(o.appId, o.appId, o.orgId));
    for (const h of hosts) {
      statements.push(db.prepare(`INSERT INTO app_hosts (host, app_id) SELECT ?, ? WHERE ${inOrg}`).bind(h, o.appId, o.appId, o.orgId));
    }
  }
  let changed: number;
  try {
    changed = (await db.batch(statements))[0]!.meta.changes;
  } catch (e) {
    const conflict = hosts ? await hostConflict(db, o.orgId, hosts, o.appId) : null;
    if (conflict) return conflict;
    throw e;
  }
  if (changed !== 1) return { ok: false, code: 'not-found' };
  const app = await getApp(db, o.orgId, o.appId);
  return app ? { ok: true, app } : { ok: false, code: 'not-found' };
}

/** Delete an app of `orgId` with its hosts, policy and app-admin grants; false if there is no such app. */
export async function deleteApp(db: D1Database, o: { orgId: string; appId: string }): Promise<boolean> {
  const r = await db.batch([
    db.prepare('DELETE FROM role_grants WHERE org_id = ? AND app_id = ?').bind(o.orgId, o.appId),
    db.prepare(`DELETE FROM app_hosts WHERE app_id = ? AND ${inOrg}`).bind(o.appId, o.appId, o.orgId),
    db.prepare(`DELETE FROM app_policies WHERE app_id = ? AND ${inOrg}`).bind(o.appId, o.appId, o.orgId),
    db.prepare('DELETE FROM apps WHERE id = ? AND org_id = ?').bind(o.appId, o.orgId),
  ]);
  return r[3]!.meta.changes === 1;
}

/** One app of `orgId`, or null (also when it is another organisation's). */
export async function getApp(db: D1Database, orgId: string, appId: string): Promise<App | null> {
  const r = await db.prepare(`${APP_SELECT} WHERE a.id = ? AND a.org_id = ?`).bind(appId, orgId).first<AppRow>();
  return r ? toApp(r) : null;
}

/** The apps of `orgId`, by name. */
export async function listApps(db: D1Database, orgId: string): Promise<App[]> {
  const { results } = await db.prepare(`${APP_SELECT} WHERE a.org_id = ? ORDER BY a.name, a.id`).bind(orgId).all<AppRow>();
  return results.map(toApp);
}

/** The app served on `host` (any organisation: the gateway's lookup), or null. */
export async function appByHost(db: D1Database, host: string): Promise<App | null> {
  const r = await db
    .prepare(`${APP_SELECT} WHERE a.id = (SELECT app_id FROM app_hosts WHERE host = ?)`)
    .bind(host.toLowerCase())
    .first<AppRow>();
  return r ? toApp(r) : null;
}

/**
 * Replace the policy of an app of `orgId` (validated; `by` is sealed beside it).
 *
 * @throws {AppInputError} listing every problem of the policy
 */
export async function setAppPolicy(
  db: D1Database,
  ring: Keyring,
  o: { orgId: string; appId: string; policy: unknown; by: string; now: number },
): Promise<{ ok: true; hash: string } | { ok: false; code: 'not-found' }> {
  const problems: string[] = [];
  const checked = await checkPolicy(o.policy, o.appId, problems);
  if (checked) {
    const app = await getApp(db, o.orgId, o.appId);
    if (!app) return { ok: false, code: 'not-found' };
    checkPolicyServes(checked.policy, app.hosts, problems);
  }
  if (!checked || problems.length) throw new AppInputError(problems);
  const r = await db
    .prepare(
      'INSERT INTO app_policies (app_id, document_json, hash, updated_at, updated_by_sealed) ' +
        `SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM apps WHERE id = ?1 AND org_id = ?6) ` +
        'ON CONFLICT (app_id) DO UPDATE SET document_json = excluded.document_json, hash = excluded.hash, ' +
        'updated_at = excluded.updated_at, updated_by_sealed = excluded.updated_by_sealed',
    )
    .bind(
      o.appId,
      JSON.stringify(checked.policy),
      checked.hash,
      o.now,
      await seal(ring, 'factor-metadata', o.by, appPolicyEditorAad(o.appId, checked.hash)),
      o.orgId,
    )
    .run();
  return r.meta.changes === 1 ? { ok: true, hash: checked.hash } : { ok: false, code: 'not-found' };
}

/** The policy of an app of `orgId`, or null. */
export async function getAppPolicy(db: D1Database, ring: Keyring, o: { orgId: string; appId: string }): Promise<AppPolicy | null> {
  const r = await db
    .prepare('SELECT p.* FROM app_policies p JOIN apps a ON a.id = p.app_id WHERE p.app_id = ? AND a.org_id = ?')
    .bind(o.appId, o.orgId)
    .first<{ app_id: string; document_json: string; hash: string; updated_at: number; updated_by_sealed: string | null }>();
  if (!r) return null;
  return {
    appId: r.app_id,
    policy: validatePolicy(JSON.parse(r.document_json)),
    hash: r.hash,
    updatedAt: r.updated_at,
    updatedBy:
      r.updated_by_sealed === null
        ? null
        : await open(ring, 'factor-metadata', r.updated_by_sealed, appPolicyEditorAad(r.app_id, r.hash)).catch(() => null),
  };
}
