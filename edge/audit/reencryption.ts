/**
 * @module Re-encryption under the primary key, a batch per maintenance run: each row is moved by
 * compare-and-swap, so it is safe against concurrent writers, and nothing becomes unreadable on the
 * way (old rows open under the old key until they are moved). `keyStatus` (key-status.ts) says
 * when a key id is no longer used.
 */
import { open, seal } from '../crypto/aead';
import { blindIndex } from '../crypto/blind-index';
import {
  apiTokenLabelAad,
  apiTokenOwnerAad,
  appPolicyEditorAad,
  ownerAad,
  passkeyNicknameAad,
  roleGrantGrantorAad,
  roleGrantPersonAad,
  totpSecretAad,
} from '../crypto/encryption-context';
import type { Keyring } from '../crypto/keyring';
import { openRow, sealedColumns, type AuditRow } from './audit-chain';
import { checkpointJwks, signCheckpoint, verifyCheckpoint } from './checkpoint';
import { sealedKidSql } from './key-status';
import { rekeyPolicyVersions } from './policy-version-reencryption';
import { rekeyBaselines } from './baseline-reencryption';
import { rekeyRecoveries } from './recovery-reencryption';
import { rekeyWebhooks } from './webhook-reencryption';
import { rekeyApprovals } from './approval-reencryption';

/** The stores re-encryption reads and writes. */
interface StoreDeps {
  db: D1Database;
  keys: Keyring;
}

/** Rows moved to the primary key per table per run. */
const REKEY_BATCH = 200;

/**
 * Move a batch of each table's rows to the primary key: audit events (and their blind indexes),
 * checkpoint signatures, TOTP secrets, passkey nicknames, recovery-code and token owners, role
 * grants (person and grantor) and who saved each app policy. Returns
 * the rows moved, per table.
 */
export async function reencryptBatch(rt: StoreDeps): Promise<Record<string, number>> {
  const { db, keys } = rt;
  const p = keys.primary;
  const out: Record<string, number> = {};

  // Only rows under a key id this keyring has: others cannot be opened, and must not fill the batch.
  const known = keys.kids.map((k) => `'${k}'`).join(', '); // key ids are [A-Za-z0-9_-]{1,32} (keyring.ts)
  // Audit events: same event, sealed under the primary key, blind indexes re-derived from it.
  // A row's kid and its blind indexes are always written together (here and by the sequencer),
  // so "under an old key" is exactly the kid column: an index seek, not a scan of the log.
  const old = keys.kids.filter((k) => k !== p).map((k) => `'${k}'`);
  const { results: events } = old.length
    ? await db
        .prepare(`SELECT * FROM audit_events WHERE kid IN (${old.join(', ')}) LIMIT ?`)
        .bind(REKEY_BATCH)
        .all<AuditRow>()
    : { results: [] as AuditRow[] };
  let n = 0;
  for (const r of events) {
    const e = await openRow(keys, r).catch(() => null);
    if (!e) continue; // tampered or unknown key: left for verify to report, never overwritten
    const c = await sealedColumns(keys, r.tenant, r.seq, e);
    const r2 = await db
      .prepare('UPDATE audit_events SET kid = ?, sealed = ?, actor_ref = ?, ip_ref = ? WHERE tenant = ? AND seq = ? AND sealed = ?')
      .bind(c.kid, c.sealed, c.actor_ref, c.ip_ref, r.tenant, r.seq, r.sealed)
      .run();
    n += r2.meta.changes;
  }
  out.audit_events = n;

  // Checkpoints: re-signed under the primary key after their old signature verifies.
  const jwks = await checkpointJwks(keys);
  const { results: cps } = await db
    .prepare(`SELECT tenant, seq, kid, jws FROM audit_checkpoints WHERE kid != ? AND kid IN (${known}) LIMIT ?`)
    .bind(p, REKEY_BATCH)
    .all<{ tenant: string; seq: number; kid: string; jws: string }>();
  n = 0;
  for (const c of cps) {
    const payload = await verifyCheckpoint(c.jws, jwks).catch(() => null);
    if (!payload) continue;
    const r2 = await db
      .prepare('UPDATE audit_checkpoints SET kid = ?, jws = ? WHERE tenant = ? AND seq = ? AND jws = ?')
      .bind(p, await signCheckpoint(keys, payload), c.tenant, c.seq, c.jws)
      .run();
    n += r2.meta.changes;
  }
  out.audit_checkpoints = n;

  out.totp_factors = await rekeyOwned(rt, known, 'totp_factors', 'id', 'secret_sealed', 'totp-secret', totpSecretAad);
  out.webauthn_credentials = await rekeyOwned(
    rt,
    known,
    'webauthn_credentials',
    'id',
    'nickname_sealed',
    'factor-metadata',
    passkeyNicknameAad,
  );
  out.recovery_codes = await rekeyOwned(rt, known, 'recovery_codes', 'code_hash', null, 'factor-metadata', () => '');
  out.api_tokens = await rekeyTokens(rt, known);
  out.role_grants = await rekeyRoleGrants(rt, known);
  out.app_policies = await rekeyPolicyEditors(rt, known);
  out.recoveries = await rekeyRecoveries(rt, known);
  out.policy_versions = await rekeyPolicyVersions(rt, known);
  out.org_policy_baselines = await rekeyBaselines(rt, known);
  out.org_webhooks = await rekeyWebhooks(rt, known);
  out.approval_requests = await rekeyApprovals(rt, known);
  return out;
}

/**
 * Move a user-owned row to the primary key: its blind index re-derived from the sealed user id,
 * its sealed value (AAD bound to the id and blind index) re-sealed to match. Rows written before
 * the user id was sealed beside them cannot be re-indexed; `keyStatus` counts them.
 */
async function rekeyOwned(
  rt: StoreDeps,
  known: string,
  table: 'totp_factors' | 'webauthn_credentials' | 'recovery_codes',
  idCol: string,
  sealedCol: string | null,
  purpose: 'totp-secret' | 'factor-metadata',
  aad: (id: string, ref: string) => string,
): Promise<number> {
  const { db, keys } = rt;
  const p = keys.primary;
  const sealedCond = sealedCol ? ` OR (${sealedCol} IS NOT NULL AND ${sealedCol} NOT LIKE ?1)` : '';
  const { results } = await db
    .prepare(
      `SELECT * FROM ${table} WHERE sub_sealed IS NOT NULL AND ${sealedKidSql('sub_sealed')} IN (${known}) ` +
        `AND (user_ref NOT LIKE ?2 OR sub_sealed NOT LIKE ?1${sealedCond}) LIMIT ?3`,
    )
    .bind(`v1.${p}.%`, `${p}.%`, REKEY_BATCH)
    .all<Record<string, string | null>>();
  let n = 0;
  for (const row of results) {
    const id = row[idCol]!;
    const oldRef = row.user_ref!;
    try {
      const sub = await open(keys, 'factor-metadata', row.sub_sealed!, ownerAad(table, id));
      const ref = await blindIndex(keys, 'user', sub);
      const value = sealedCol && row[sealedCol] ? await open(keys, purpose, row[sealedCol]!, aad(id, oldRef)) : null;
      const sets = ['user_ref = ?', 'sub_sealed = ?'];
      const args: (string | null)[] = [ref, await seal(keys, 'factor-metadata', sub, ownerAad(table, id))];
      if (sealedCol) {
        sets.push(`${sealedCol} = ?`);
        args.push(value === null ? null : await seal(keys, purpose, value, aad(id, ref)));
      }
      const r = await db
        .prepare(`UPDATE ${table} SET ${sets.join(', ')} WHERE ${idCol} = ? AND user_ref = ? AND sub_sealed = ?`)
        .bind(...args, id, oldRef, row.sub_sealed)
        .run();
      n += r.meta.changes;
    } catch (err) {
      console.error(`stepgate: re-encryption skipped a ${table} row:`, err instanceof Error ? err.message : 'non-error');
    }
  }
  return n;
}

async function rekeyTokens(rt: StoreDeps, known: string): Promise<number> {
  const { db, keys } = rt;
  const p = keys.primary;
  const { results } = await db
    .prepare(
      `SELECT id, user_ref, sub_sealed, label FROM api_tokens WHERE ${sealedKidSql('sub_sealed')} IN (${known}) ` +
        `AND ${sealedKidSql('label')} IN (${known}) AND (user_ref NOT LIKE ?1 ` +
        `OR sub_sealed NOT LIKE ?2 OR label NOT LIKE ?2) LIMIT ?3`,
    )
    .bind(`${p}.%`, `v1.${p}.%`, REKEY_BATCH)
    .all<{ id: string; user_ref: string; sub_sealed: string; label: string }>();
  let n = 0;
  for (const t of results) {
    try {
      const sub = await open(keys, 'factor-metadata', t.sub_sealed, apiTokenOwnerAad(t.id));
      const label = await open(keys, 'factor-metadata', t.label, apiTokenLabelAad(t.id));
      const r = await db
        .prepare('UPDATE api_tokens SET user_ref = ?, sub_sealed = ?, label = ? WHERE id = ? AND sub_sealed = ?')
        .bind(
          await blindIndex(keys, 'user', sub),
          await seal(keys, 'factor-metadata', sub, apiTokenOwnerAad(t.id)),
          await seal(keys, 'factor-metadata', label, apiTokenLabelAad(t.id)),
          t.id,
          t.sub_sealed,
        )
        .run();
      n += r.meta.changes;
    } catch (err) {
      console.error('stepgate: re-encryption skipped an api_tokens row:', err instanceof Error ? err.message : 'non-error');
    }
  }
  return n;
}

/**
 * Role grants: the person's blind index re-derived from the sealed person, which is re-sealed (its
 * AAD names the row, organisation, app and role, not the index), and the grantor re-sealed.
 */
async function rekeyRoleGrants(rt: StoreDeps, known: string): Promise<number> {
  const { db, keys } = rt;
  const p = keys.primary;
  const { results } = await db
    .prepare(
      `SELECT id, org_id, app_id, role, person_ref, person_sealed, granted_by_sealed FROM role_grants ` +
        `WHERE ${sealedKidSql('person_sealed')} IN (${known}) ` +
        `AND (granted_by_sealed IS NULL OR ${sealedKidSql('granted_by_sealed')} IN (${known})) ` +
        'AND (person_ref NOT LIKE ?1 OR person_sealed NOT LIKE ?2 OR granted_by_sealed NOT LIKE ?2) LIMIT ?3',
    )
    .bind(`${p}.%`, `v1.${p}.%`, REKEY_BATCH)
    .all<{
      id: string;
      org_id: string;
      app_id: string;
      role: string;
      person_ref: string;
      person_sealed: string;
      granted_by_sealed: string | null;
    }>();
  let n = 0;
  for (const g of results) {
    try {
      const sub = await open(keys, 'factor-metadata', g.person_sealed, roleGrantPersonAad(g.id, g.org_id, g.app_id, g.role));
      const by = g.granted_by_sealed === null ? null : await open(keys, 'factor-metadata', g.granted_by_sealed, roleGrantGrantorAad(g.id));
      const r = await db
        .prepare(
          'UPDATE role_grants SET person_ref = ?, person_sealed = ?, granted_by_sealed = ? ' +
            'WHERE id = ? AND person_sealed = ? AND granted_by_sealed IS ?',
        )
        .bind(
          await blindIndex(keys, 'user', sub),
          await seal(keys, 'factor-metadata', sub, roleGrantPersonAad(g.id, g.org_id, g.app_id, g.role)),
          by === null ? null : await seal(keys, 'factor-metadata', by, roleGrantGrantorAad(g.id)),
          g.id,
          g.person_sealed,
          g.granted_by_sealed,
        )
        .run();
      n += r.meta.changes;
    } catch (err) {
      console.error('stepgate: re-encryption skipped a role_grants row:', err instanceof Error ? err.message : 'non-error');
    }
  }
  return n;
}

/** App policies: who saved each one, re-sealed (AAD: the app and the document's hash). */
async function rekeyPolicyEditors(rt: StoreDeps, known: string): Promise<number> {
  const { db, keys } = rt;
  const { results } = await db
    .prepare(
      `SELECT app_id, hash, updated_by_sealed FROM app_policies WHERE updated_by_sealed IS NOT NULL ` +
        `AND ${sealedKidSql('updated_by_sealed')} IN (${known}) AND updated_by_sealed NOT LIKE ?1 LIMIT ?2`,
    )
    .bind(`v1.${keys.primary}.%`, REKEY_BATCH)
    .all<{ app_id: string; hash: string; updated_by_sealed: string }>();
  let n = 0;
  for (const a of results) {
    try {
      const by = await open(keys, 'factor-metadata', a.updated_by_sealed, appPolicyEditorAad(a.app_id, a.hash));
      const r = await db
        .prepare('UPDATE app_policies SET updated_by_sealed = ? WHERE app_id = ? AND updated_by_sealed = ?')
        .bind(await seal(keys, 'factor-metadata', by, appPolicyEditorAad(a.app_id, a.hash)), a.app_id, a.updated_by_sealed)
        .run();
      n += r.meta.changes;
    } catch (err) {
      console.error('stepgate: re-encryption skipped an app_policies row:', err instanceof Error ? err.message : 'non-error');
    }
  }
  return n;
}
