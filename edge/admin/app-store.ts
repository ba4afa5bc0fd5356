/**
 * @module D1 queries for an organisation's apps (`apps`, `app_hosts`, `app_policies`): create (its
 * policy as version 1), change, delete, read. The bundled app's row ('bundled', migration 0016) is
 * the deployment's: never changed or deleted here, and read apart (`bundledAppOf`).
 */
import { BUNDLED_APP_ID } from '../apps/app-definition';
import { seal } from '../crypto/aead';
import { blindIndex } from '../crypto/blind-index';
import { appPolicyEditorAad } from '../crypto/encryption-context';
import type { Keyring } from '../crypto/keyring';
import { IdentityConfig } from '../identity/identity-config';
import type { Policy } from '../policy/schema';
import { validatePolicy } from '../policy/validate-policy';
import { AppInputError, checkHosts, checkIdentity, checkNewApp, checkOrigin, checkPolicyServes } from './app-input';
import { BUNDLED_REFUSAL, isBundledApp } from './bundled-policy';
import { checkName } from './org-store';
import { newId } from '../crypto/random-id';

/** The bundled app as listed with an organisation's apps: its hosts, identity and origin are the deployment's. */
export interface BundledAppRow {
  id: string;
  orgId: string;
  name: string;
  createdAt: number;
  updatedAt: number;
}

/** A refusal to change or delete the bundled app. */
export interface BundledRefusal {
  ok: false;
  code: 'bundled';
  reason: string;
}
const bundledRefusal: BundledRefusal = { ok: false, code: 'bundled', reason: BUNDLED_REFUSAL };

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

/** A conflict: hosts already served by another app (named only when it is of the same organisation). */
export interface HostConflict {
  ok: false;
  code: 'host-taken';
  hosts: { host: string; appId: string | null }[];
  reason: string;
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
  const { problems, name, hosts, originUrl, identity, policy } = await checkNewApp(o, o.development === true);
  if (problems.length || !identity || !policy) throw new AppInputError(problems);

  const id = newId();
  const sealed = await seal(ring, 'factor-metadata', o.createdBy, appPolicyEditorAad(id, policy.hash));
  const doc = JSON.stringify(policy.policy);
  try {
    await db.batch([
      db
        .prepare('INSERT INTO apps (id, org_id, name, origin_url, identity_json, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .bind(id, o.orgId, name, originUrl, JSON.stringify(identity), o.now, o.now),
      ...hosts.map((h) => db.prepare('INSERT INTO app_hosts (host, app_id) VALUES (?, ?)').bind(h, id)),
      db
        .prepare('INSERT INTO app_policies (app_id, document_json, hash, updated_at, updated_by_sealed) VALUES (?, ?, ?, ?, ?)')
        .bind(id, doc, policy.hash, o.now, sealed),
      // Its policy is version 1 from the start, written by whoever created the app (policy-versions.ts).
      db
        .prepare(
          'INSERT INTO policy_versions (app_id, version, document_json, hash, comment, author_ref, author_sealed, created_at, state) ' +
            "VALUES (?, 1, ?, ?, 'created with the app', ?, ?, ?, 'active')",
        )
        .bind(id, doc, policy.hash, await blindIndex(ring, 'user', o.createdBy), sealed, o.now),
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
): Promise<{ ok: true; app: App } | HostConflict | { ok: false; code: 'not-found' } | BundledRefusal> {
  // Why: the bundled app's hosts, identity and origin are the deployment's; D1 holds only its policy.
  if (isBundledApp(o.orgId, o.appId)) return bundledRefusal;
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

/** Delete an app of `orgId` with its hosts, policy and app-admin grants; false if there is no such app (or it is the bundled app). */
export async function deleteApp(db: D1Database, o: { orgId: string; appId: string }): Promise<boolean> {
  if (o.appId === BUNDLED_APP_ID) return false; // the deployment's: never deleted (app-routes.ts answers 409)
  const r = await db.batch([
    db.prepare('DELETE FROM role_grants WHERE org_id = ? AND app_id = ?').bind(o.orgId, o.appId),
    db.prepare(`DELETE FROM app_hosts WHERE app_id = ? AND ${inOrg}`).bind(o.appId, o.appId, o.orgId),
    db.prepare(`DELETE FROM app_policies WHERE app_id = ? AND ${inOrg}`).bind(o.appId, o.appId, o.orgId),
    db.prepare('DELETE FROM apps WHERE id = ? AND org_id = ?').bind(o.appId, o.orgId),
  ]);
  return r[3]!.meta.changes === 1;
}

/** One app of `orgId` in D1, or null (also when it is another organisation's, or the bundled app: `bundledAppOf`). */
export async function getApp(db: D1Database, orgId: string, appId: string): Promise<App | null> {
  const r = await db
    .prepare(`${APP_SELECT} WHERE a.id = ? AND a.org_id = ? AND a.id <> ?`)
    .bind(appId, orgId, BUNDLED_APP_ID)
    .first<AppRow>();
  return r ? toApp(r) : null;
}

/** The apps of `orgId` in D1, by name (without the bundled app: `bundledAppOf`). */
export async function listApps(db: D1Database, orgId: string): Promise<App[]> {
  const { results } = await db
    .prepare(`${APP_SELECT} WHERE a.org_id = ? AND a.id <> ? ORDER BY a.name, a.id`)
    .bind(orgId, BUNDLED_APP_ID)
    .all<AppRow>();
  return results.map(toApp);
}

/** The bundled app's row when `orgId` is the default organisation (and the migration made it), else null. */
export async function bundledAppOf(db: D1Database, orgId: string): Promise<BundledAppRow | null> {
  if (!isBundledApp(orgId, BUNDLED_APP_ID)) return null;
  const r = await db
    .prepare('SELECT id, org_id, name, created_at, updated_at FROM apps WHERE id = ? AND org_id = ?')
    .bind(BUNDLED_APP_ID, orgId)
    .first<{ id: string; org_id: string; name: string; created_at: number; updated_at: number }>();
  return r ? { id: r.id, orgId: r.org_id, name: r.name, createdAt: r.created_at, updatedAt: r.updated_at } : null;
}

/** The app served on `host` (any organisation: the gateway's lookup), or null. */
export async function appByHost(db: D1Database, host: string): Promise<App | null> {
  const r = await db
    .prepare(`${APP_SELECT} WHERE a.id = (SELECT app_id FROM app_hosts WHERE host = ?)`)
    .bind(host.toLowerCase())
    .first<AppRow>();
  return r ? toApp(r) : null;
}
