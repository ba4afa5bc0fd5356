/**
 * @module A factor recovery's row (`recoveries`, migration 0011) as it is read: every sealed value
 * opened and checked against its blind index, or the row counts for nothing; an open recovery past
 * `expires_at` reads as expired. The read side of recovery-store.ts.
 */
import { open } from '../crypto/aead';
import { blindIndexes } from '../crypto/blind-index';
import { recoveryActorAad, recoveryPersonAad } from '../crypto/encryption-context';
import type { Keyring } from '../crypto/keyring';
import type { RecoveryState } from './recovery';

/** A recovery, opened. Times in ms. */
export interface Recovery {
  id: string;
  orgId: string;
  /** The person recovered (Identity.sub). */
  person: string;
  startedBy: string;
  approvedBy: string | null;
  /** As of the read: an open recovery past `expiresAt` reads as expired. */
  state: RecoveryState;
  startedAt: number;
  approvedAt: number | null;
  effectiveAt: number | null;
  expiresAt: number;
  endedAt: number | null;
  endedBy: 'person' | 'admin' | 'expiry' | 'completion' | null;
}

export interface RecoveryRow {
  id: string;
  org_id: string;
  person_ref: string;
  person_sealed: string;
  started_by_ref: string;
  started_by_sealed: string;
  approved_by_ref: string | null;
  approved_by_sealed: string | null;
  state: RecoveryState;
  started_at: number;
  approved_at: number | null;
  effective_at: number | null;
  expires_at: number;
  ended_at: number | null;
  ended_by: Recovery['endedBy'];
}

/** SQL: the row is open (started or approved). */
export const OPEN_SQL = "state IN ('started', 'approved')";

/** Open a sealed person and check it against its blind index; null when it does not open or match. */
async function openPerson(ring: Keyring, sealed: string, aad: string, ref: string): Promise<string | null> {
  const person = await open(ring, 'factor-metadata', sealed, aad);
  return (await blindIndexes(ring, 'user', person)).includes(ref) ? person : null;
}

/** The row, opened and checked; null when tampered with or under a key no longer held (it then counts for nothing). */
export async function openRecovery(ring: Keyring, r: RecoveryRow, now: number): Promise<Recovery | null> {
  try {
    const person = await openPerson(ring, r.person_sealed, recoveryPersonAad(r.id, r.org_id), r.person_ref);
    const startedBy = await openPerson(ring, r.started_by_sealed, recoveryActorAad(r.id, 'started-by'), r.started_by_ref);
    const approvedBy =
      r.approved_by_sealed === null || r.approved_by_ref === null
        ? null
        : await openPerson(ring, r.approved_by_sealed, recoveryActorAad(r.id, 'approved-by'), r.approved_by_ref);
    if (person === null || startedBy === null || (r.approved_by_sealed !== null && approvedBy === null)) return null;
    const lapsed = (r.state === 'started' || r.state === 'approved') && r.expires_at <= now;
    return {
      id: r.id,
      orgId: r.org_id,
      person,
      startedBy,
      approvedBy,
      state: lapsed ? 'expired' : r.state,
      startedAt: r.started_at,
      approvedAt: r.approved_at,
      effectiveAt: r.effective_at,
      expiresAt: r.expires_at,
      endedAt: lapsed ? r.expires_at : r.ended_at,
      endedBy: lapsed ? 'expiry' : r.ended_by,
    };
  } catch {
    return null;
  }
}

/** Every row that opens. */
export const openAll = async (ring: Keyring, rows: RecoveryRow[], now: number): Promise<Recovery[]> =>
  (await Promise.all(rows.map((r) => openRecovery(ring, r, now)))).filter((r): r is Recovery => r !== null);

/** Mark every open recovery past its time as expired (a statement to batch before a change). */
export const expireLapsed = (db: D1Database, now: number): D1PreparedStatement =>
  db
    .prepare(`UPDATE recoveries SET state = 'expired', ended_at = expires_at, ended_by = 'expiry' WHERE ${OPEN_SQL} AND expires_at <= ?`)
    .bind(now);
