/** @module Rejecting a proposed policy version (policy-versions.ts): it stays listed, never active. */
import { pruneStatement } from './policy-version-batches';
import type { AppRef, VersionState } from './policy-version-reads';

/**
 * Reject proposal `n` (its author may withdraw it too): it stays listed as 'rejected' and never
 * becomes active. Old rejected and superseded versions are pruned in the same batch, so propose →
 * reject loops cannot grow storage (KEPT_VERSIONS). Nothing else changes.
 */
export async function rejectVersion(
  db: D1Database,
  o: AppRef & { version: number },
): Promise<{ ok: true; version: number; hash: string } | { ok: false; code: 'not-found' | 'wrong-state'; reason: string }> {
  const [rejected] = await db.batch([
    db
      .prepare(
        "UPDATE policy_versions SET state = 'rejected' WHERE app_id = ?1 AND version = ?2 AND state = 'proposed' " +
          'AND EXISTS (SELECT 1 FROM apps WHERE id = ?1 AND org_id = ?3) RETURNING hash',
      )
      .bind(o.appId, o.version, o.orgId),
    pruneStatement(db, o.appId),
  ]);
  const r = (rejected as D1Result<{ hash: string }>).results[0];
  if (r) return { ok: true, version: o.version, hash: r.hash };
  const now = await db
    .prepare('SELECT v.state FROM policy_versions v JOIN apps a ON a.id = v.app_id WHERE v.app_id = ? AND a.org_id = ? AND v.version = ?')
    .bind(o.appId, o.orgId, o.version)
    .first<{ state: VersionState }>();
  if (!now) return { ok: false, code: 'not-found', reason: 'no such version' };
  return { ok: false, code: 'wrong-state', reason: `version ${o.version} is ${now.state}, not a proposal` };
}
