/**
 * @module Re-encryption of policy versions (`policy_versions`, migration 0015) under the primary key,
 * a batch per maintenance run (reencryption.ts calls it): the author and who approved, re-sealed
 * (AAD: the app and the document's hash), and the author's blind index re-derived. Each row is moved
 * by compare-and-swap on its sealed values, so an approval racing it is never lost.
 */
import { open, seal } from '../crypto/aead';
import { blindIndex } from '../crypto/blind-index';
import { appPolicyEditorAad } from '../crypto/encryption-context';
import type { Keyring } from '../crypto/keyring';
import { sealedKidSql } from './key-status';

/** Rows moved per run. */
const BATCH = 200;

interface Row {
  app_id: string;
  version: number;
  hash: string;
  author_ref: string | null;
  author_sealed: string | null;
  approved_by_sealed: string | null;
}

/** Move a batch of policy versions to the primary key; `known` is the SQL list of the ring's key ids. Returns the rows moved. */
export async function rekeyPolicyVersions(rt: { db: D1Database; keys: Keyring }, known: string): Promise<number> {
  const { db, keys } = rt;
  const p = keys.primary;
  const { results } = await db
    .prepare(
      'SELECT app_id, version, hash, author_ref, author_sealed, approved_by_sealed FROM policy_versions ' +
        `WHERE (author_sealed IS NULL OR ${sealedKidSql('author_sealed')} IN (${known})) ` +
        `AND (approved_by_sealed IS NULL OR ${sealedKidSql('approved_by_sealed')} IN (${known})) ` +
        'AND (author_ref NOT LIKE ?1 OR author_sealed NOT LIKE ?2 OR approved_by_sealed NOT LIKE ?2) LIMIT ?3',
    )
    .bind(`${p}.%`, `v1.${p}.%`, BATCH)
    .all<Row>();
  let n = 0;
  for (const r of results) {
    try {
      const aad = appPolicyEditorAad(r.app_id, r.hash);
      const reseal = async (s: string | null) =>
        s === null ? null : seal(keys, 'factor-metadata', await open(keys, 'factor-metadata', s, aad), aad);
      const author = r.author_sealed === null ? null : await open(keys, 'factor-metadata', r.author_sealed, aad);
      const moved = await db
        .prepare(
          'UPDATE policy_versions SET author_ref = ?, author_sealed = ?, approved_by_sealed = ? ' +
            'WHERE app_id = ? AND version = ? AND author_sealed IS ? AND approved_by_sealed IS ?',
        )
        .bind(
          r.author_ref === null || author === null ? r.author_ref : await blindIndex(keys, 'user', author),
          await reseal(r.author_sealed),
          await reseal(r.approved_by_sealed),
          r.app_id,
          r.version,
          r.author_sealed,
          r.approved_by_sealed,
        )
        .run();
      n += moved.meta.changes;
    } catch (err) {
      console.error('stepgate: re-encryption skipped a policy_versions row:', err instanceof Error ? err.message : 'non-error');
    }
  }
  return n;
}
