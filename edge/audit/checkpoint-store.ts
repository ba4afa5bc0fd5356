/**
 * @module The signed checkpoints in D1 (table `audit_checkpoints`): the one statement that stores
 * one (the sequencer's count and periodic checkpoints, retention's anchor), and the reads of them.
 */
import type { Keyring } from '../crypto/keyring';
import type { ChainPoint } from './audit-chain';
import { signCheckpoint, type CheckpointKind } from './checkpoint';

/** A checkpoint as stored: its position, why it was made, and the compact JWS. */
export interface StoredCheckpoint {
  seq: number;
  kind: string;
  jws: string;
}

/**
 * Sign a checkpoint of `head` with the primary key and return the statement that stores it, for
 * the caller's D1 batch (so it lands with the rows it vouches for, or with the pruning it anchors).
 * A checkpoint already at that sequence is replaced.
 */
export async function checkpointStatement(
  db: D1Database,
  ring: Keyring,
  tenant: string,
  head: ChainPoint,
  kind: CheckpointKind,
  now: number,
): Promise<D1PreparedStatement> {
  const jws = await signCheckpoint(ring, { tenant, seq: head.seq, hash: head.hash, time: new Date(now).toISOString(), kind });
  return db
    .prepare(
      'INSERT INTO audit_checkpoints (tenant, seq, ts, kind, kid, jws) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, seq) ' +
        'DO UPDATE SET ts = excluded.ts, kind = excluded.kind, kid = excluded.kid, jws = excluded.jws',
    )
    .bind(tenant, head.seq, now, kind, ring.primary, jws);
}

/** A tenant's checkpoints from `fromSeq` to `toSeq` (both inclusive), in chain order. */
export async function listCheckpoints(
  db: D1Database,
  tenant: string,
  fromSeq = 0,
  toSeq = Number.MAX_SAFE_INTEGER,
): Promise<StoredCheckpoint[]> {
  const { results } = await db
    .prepare('SELECT seq, kind, jws FROM audit_checkpoints WHERE tenant = ? AND seq >= ? AND seq <= ? ORDER BY seq')
    .bind(tenant, fromSeq, toSeq)
    .all<StoredCheckpoint>();
  return results;
}

/** The newest retention checkpoint: where the chain starts once older events were pruned, or null. */
export const latestRetentionCheckpoint = (db: D1Database, tenant: string): Promise<{ seq: number; jws: string } | null> =>
  db
    .prepare("SELECT seq, jws FROM audit_checkpoints WHERE tenant = ? AND kind = 'retention' ORDER BY seq DESC LIMIT 1")
    .bind(tenant)
    .first<{ seq: number; jws: string }>();

/** The sequence of the newest checkpoint of any kind, or null when there is none. */
export async function latestCheckpointSeq(db: D1Database, tenant: string): Promise<number | null> {
  const last = await db
    .prepare('SELECT MAX(seq) AS seq FROM audit_checkpoints WHERE tenant = ?')
    .bind(tenant)
    .first<{ seq: number | null }>();
  return last?.seq ?? null;
}
