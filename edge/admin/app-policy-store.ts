/** @module D1 queries for an app's policy (`app_policies`): validated on write, the editor sealed beside it. */
import { open, seal } from '../crypto/aead';
import { appPolicyEditorAad } from '../crypto/encryption-context';
import type { Keyring } from '../crypto/keyring';
import { validatePolicy } from '../policy/validate-policy';
import { AppInputError, checkPolicy, checkPolicyServes } from './app-input';
import { type AppPolicy, getApp } from './app-store';

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
