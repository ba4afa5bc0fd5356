/**
 * @module Re-encryption of organisation baselines (`org_policy_baselines`, migration 0016) under the
 * primary key, a batch per maintenance run (reencryption.ts calls it): who saved the baseline and who
 * proposed its waiting change, re-sealed (AAD: the organisation and that document's hash), and the
 * proposer's blind index re-derived. Each row is moved by compare-and-swap on its sealed values and
 * hashes, so a save or approval racing it is never lost.
 */
import { open, seal } from '../crypto/aead';
import { blindIndex } from '../crypto/blind-index';
import { baselineEditorAad } from '../crypto/encryption-context';
import type { Keyring } from '../crypto/keyring';
import { sealedKidSql } from './key-status';

/** Rows moved per run. */
const BATCH = 200;

interface Row {
  org_id: string;
  hash: string;
  updated_by_sealed: string | null;
  proposed_hash: string | null;
  proposed_by_ref: string | null;
  proposed_by_sealed: string | null;
}

/** Move a batch of baselines to the primary key; `known` is the SQL list of the ring's key ids. Returns the rows moved. */
export async function rekeyBaselines(rt: { db: D1Database; keys: Keyring }, known: string): Promise<number> {
  const { db, keys } = rt;
  const p = keys.primary;
  const { results } = await db
    .prepare(
      'SELECT org_id, hash, updated_by_sealed, proposed_hash, proposed_by_ref, proposed_by_sealed FROM org_policy_baselines ' +
        `WHERE (updated_by_sealed IS NULL OR ${sealedKidSql('updated_by_sealed')} IN (${known})) ` +
        `AND (proposed_by_sealed IS NULL OR ${sealedKidSql('proposed_by_sealed')} IN (${known})) ` +
        'AND (updated_by_sealed NOT LIKE ?2 OR proposed_by_ref NOT LIKE ?1 OR proposed_by_sealed NOT LIKE ?2) LIMIT ?3',
    )
    .bind(`${p}.%`, `v1.${p}.%`, BATCH)
    .all<Row>();
  let n = 0;
  for (const r of results) {
    try {
      const saved = baselineEditorAad(r.org_id, r.hash, 'saved-by');
      const proposed = r.proposed_hash === null ? null : baselineEditorAad(r.org_id, r.proposed_hash, 'proposed-by');
      const reseal = async (s: string | null, aad: string | null) =>
        s === null || aad === null ? s : seal(keys, 'factor-metadata', await open(keys, 'factor-metadata', s, aad), aad);
      const proposer =
        r.proposed_by_sealed === null || proposed === null ? null : await open(keys, 'factor-metadata', r.proposed_by_sealed, proposed);
      const moved = await db
        .prepare(
          'UPDATE org_policy_baselines SET updated_by_sealed = ?, proposed_by_ref = ?, proposed_by_sealed = ? ' +
            'WHERE org_id = ? AND hash = ? AND proposed_hash IS ? AND updated_by_sealed IS ? AND proposed_by_sealed IS ?',
        )
        .bind(
          await reseal(r.updated_by_sealed, saved),
          r.proposed_by_ref === null || proposer === null ? r.proposed_by_ref : await blindIndex(keys, 'user', proposer),
          await reseal(r.proposed_by_sealed, proposed),
          r.org_id,
          r.hash,
          r.proposed_hash,
          r.updated_by_sealed,
          r.proposed_by_sealed,
        )
        .run();
      n += moved.meta.changes;
    } catch (err) {
      console.error('stepgate: re-encryption skipped an org_policy_baselines row:', err instanceof Error ? err.message : 'non-error');
    }
  }
  return n;
}
