/**
 * @module Reading an app's policy versions (`policy_versions`) and its active policy (`app_policies`):
 * one version, the list, and the active document with its version number — for the bundled app,
 * policy.json as version 1 until D1 holds a policy for it (bundled-policy.ts).
 */
import { canonicalJson } from '../audit/canonical-json';
import { open } from '../crypto/aead';
import { sha256b64u } from '../crypto/base64';
import { appPolicyEditorAad } from '../crypto/encryption-context';
import type { Keyring } from '../crypto/keyring';
import type { Policy } from '../policy/schema';
import { validatePolicy } from '../policy/validate-policy';
import { BUNDLED_FIRST_COMMENT, isBundledApp } from './bundled-policy';

export type VersionState = 'active' | 'superseded' | 'proposed' | 'rejected';

/** The most versions one list returns. */
export const MAX_VERSIONS_LISTED = 50;

export interface PolicyVersion {
  appId: string;
  version: number;
  policy: unknown;
  hash: string;
  comment: string;
  /** Who wrote it (null: taken over from the policy saved before versions, the bundled policy.json, or unreadable). */
  author: string | null;
  createdAt: number;
  state: VersionState;
  approvedBy: string | null;
}

/** Which app, and for the bundled app the deployment's policy.json (its version 1 while D1 holds none). */
export interface AppRef {
  orgId: string;
  appId: string;
  /** The deployment's policy.json; needed only for the bundled app (without it, its unseeded policy is unknown: null). */
  bundled?: Policy | null;
}

export interface VersionRow {
  app_id: string;
  version: number;
  document_json: string;
  hash: string;
  comment: string;
  author_sealed: string | null;
  created_at: number;
  state: VersionState;
  approved_by_sealed: string | null;
}

/**
 * The active policy of an app of `orgId` (app_policies, with its version number: 1 before any version
 * was made), or null. `policy` is null when the stored document no longer validates (every change
 * then counts as weakening). The bundled app without a policy in D1 answers policy.json (`o.bundled`).
 */
export async function activePolicy(db: D1Database, o: AppRef): Promise<{ version: number; policy: Policy | null; seeded: boolean } | null> {
  const r = await db
    .prepare(
      'SELECT p.document_json, v.version FROM apps a LEFT JOIN app_policies p ON p.app_id = a.id ' +
        "LEFT JOIN policy_versions v ON v.app_id = a.id AND v.state = 'active' WHERE a.id = ? AND a.org_id = ?",
    )
    .bind(o.appId, o.orgId)
    .first<{ document_json: string | null; version: number | null }>();
  if (!r) return null;
  if (r.document_json === null) {
    // Only the bundled app exists without a policy row: policy.json is its version 1 until the first write.
    if (!isBundledApp(o.orgId, o.appId) || !o.bundled) return null;
    return { version: 1, policy: o.bundled, seeded: false };
  }
  let policy: Policy | null = null;
  try {
    policy = validatePolicy(JSON.parse(r.document_json));
  } catch {
    policy = null; // an unreadable active policy: every change counts as weakening
  }
  return { version: r.version ?? 1, policy, seeded: true };
}

/** One version of an app of `orgId`, or null. */
export async function getVersion(db: D1Database, ring: Keyring, o: AppRef & { version: number }): Promise<PolicyVersion | null> {
  const r = await db
    .prepare('SELECT v.* FROM policy_versions v JOIN apps a ON a.id = v.app_id WHERE v.app_id = ? AND a.org_id = ? AND v.version = ?')
    .bind(o.appId, o.orgId, o.version)
    .first<VersionRow>();
  if (r) return versionOf(ring, r);
  const unseeded = o.version === 1 ? await activePolicy(db, o) : null;
  return unseeded && !unseeded.seeded ? bundledFirst(o.appId, unseeded.policy) : null;
}

/** The versions of an app of `orgId`, newest first, at most `limit` (≤ MAX_VERSIONS_LISTED). */
export async function listVersions(db: D1Database, ring: Keyring, o: AppRef & { limit: number }): Promise<PolicyVersion[]> {
  const { results } = await db
    .prepare(
      'SELECT v.* FROM policy_versions v JOIN apps a ON a.id = v.app_id WHERE v.app_id = ? AND a.org_id = ? ' +
        'ORDER BY v.version DESC LIMIT ?',
    )
    .bind(o.appId, o.orgId, Math.min(Math.max(1, o.limit), MAX_VERSIONS_LISTED))
    .all<VersionRow>();
  if (results.length === 0) {
    const unseeded = await activePolicy(db, o);
    if (unseeded && !unseeded.seeded) return [await bundledFirst(o.appId, unseeded.policy)];
  }
  return Promise.all(results.map((r) => versionOf(ring, r)));
}

/** The bundled app's policy.json shown as its active version 1 before D1 holds it (as the first write will seed it). */
const bundledFirst = async (appId: string, policy: Policy | null): Promise<PolicyVersion> => ({
  appId,
  version: 1,
  policy,
  hash: policy === null ? '' : await sha256b64u(canonicalJson(policy)),
  comment: BUNDLED_FIRST_COMMENT,
  author: null,
  createdAt: 0,
  state: 'active',
  approvedBy: null,
});

async function versionOf(ring: Keyring, r: VersionRow): Promise<PolicyVersion> {
  const opened = (s: string | null) =>
    s === null ? Promise.resolve(null) : open(ring, 'factor-metadata', s, appPolicyEditorAad(r.app_id, r.hash)).catch(() => null);
  return {
    appId: r.app_id,
    version: r.version,
    policy: JSON.parse(r.document_json) as unknown,
    hash: r.hash,
    comment: r.comment,
    author: await opened(r.author_sealed),
    createdAt: r.created_at,
    state: r.state,
    approvedBy: await opened(r.approved_by_sealed),
  };
}
