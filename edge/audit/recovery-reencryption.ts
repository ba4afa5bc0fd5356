/**
 * @module Re-encryption of factor recoveries (`recoveries`, migration 0011) under the primary key, a
 * batch per maintenance run (reencryption.ts calls it): the person, who started and who approved,
 * each re-sealed (the AAD names the row, not the index) with their blind indexes re-derived. Each
 * row is moved by compare-and-swap on its sealed values, so an approval racing it is never lost.
 */
import { open, seal } from '../crypto/aead';
import { blindIndex } from '../crypto/blind-index';
import { recoveryActorAad, recoveryPersonAad } from '../crypto/encryption-context';
import type { Keyring } from '../crypto/keyring';
import { sealedKidSql } from './key-status';

/** Rows moved per run. */
const BATCH = 200;

interface Row {
  id: string;
  org_id: string;
  person_sealed: string;
  started_by_sealed: string;
  approved_by_sealed: string | null;
}

/** Move a batch of recoveries to the primary key; `known` is the SQL list of the ring's key ids. Returns the rows moved. */
export async function rekeyRecoveries(rt: { db: D1Database; keys: Keyring }, known: string): Promise<number> {
  const { db, keys } = rt;
  const p = keys.primary;
  const { results } = await db
    .prepare(
      'SELECT id, org_id, person_sealed, started_by_sealed, approved_by_sealed FROM recoveries ' +
        `WHERE ${sealedKidSql('person_sealed')} IN (${known}) AND ${sealedKidSql('started_by_sealed')} IN (${known}) ` +
        `AND (approved_by_sealed IS NULL OR ${sealedKidSql('approved_by_sealed')} IN (${known})) ` +
        'AND (person_ref NOT LIKE ?1 OR started_by_ref NOT LIKE ?1 OR approved_by_ref NOT LIKE ?1 ' +
        'OR person_sealed NOT LIKE ?2 OR started_by_sealed NOT LIKE ?2 OR approved_by_sealed NOT LIKE ?2) LIMIT ?3',
    )
    .bind(`${p}.%`, `v1.${p}.%`, BATCH)
    .all<Row>();
  let n = 0;
  for (const r of results) {
    try {
      const person = await open(keys, 'factor-metadata', r.person_sealed, recoveryPersonAad(r.id, r.org_id));
      const starter = await open(keys, 'factor-metadata', r.started_by_sealed, recoveryActorAad(r.id, 'started-by'));
      const approver =
        r.approved_by_sealed === null
          ? null
          : await open(keys, 'factor-metadata', r.approved_by_sealed, recoveryActorAad(r.id, 'approved-by'));
      const moved = await db
        .prepare(
          'UPDATE recoveries SET person_ref = ?, person_sealed = ?, started_by_ref = ?, started_by_sealed = ?, ' +
            'approved_by_ref = ?, approved_by_sealed = ? ' +
            'WHERE id = ? AND person_sealed = ? AND started_by_sealed = ? AND approved_by_sealed IS ?',
        )
        .bind(
          await blindIndex(keys, 'user', person),
          await seal(keys, 'factor-metadata', person, recoveryPersonAad(r.id, r.org_id)),
          await blindIndex(keys, 'user', starter),
          await seal(keys, 'factor-metadata', starter, recoveryActorAad(r.id, 'started-by')),
          approver === null ? null : await blindIndex(keys, 'user', approver),
          approver === null ? null : await seal(keys, 'factor-metadata', approver, recoveryActorAad(r.id, 'approved-by')),
          r.id,
          r.person_sealed,
          r.started_by_sealed,
          r.approved_by_sealed,
        )
        .run();
      n += moved.meta.changes;
    } catch (err) {
      console.error('stepgate: re-encryption skipped a recoveries row:', err instanceof Error ? err.message : 'non-error');
    }
  }
  return n;
}
