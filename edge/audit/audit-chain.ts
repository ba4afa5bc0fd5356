/**
 * @module The audit hash chain: each row's hash is an HMAC (keyring purpose `chain-mac`) over the
 * previous hash and the row's own fields, so modifying, deleting, inserting or reordering any row
 * breaks the chain at exactly that sequence number.
 */
import { base64url } from '../../shared/canonical-action';
import type { Keyring } from '../crypto/keyring';

/** The fields of a stored audit row that the chain covers. */
export interface AuditRow {
  tenant: string;
  seq: number;
  ts: number;
  type: string;
  outcome: string;
  actor_ref: string | null;
  kid: string;
  sealed: string;
  prev_hash: string;
  hash: string;
}

/** The hash of the empty chain of a tenant. */
export const GENESIS = 'genesis';

const enc = new TextEncoder();

/** The chain hash of a row, given the previous row's hash. */
export async function chainHash(ring: Keyring, row: Omit<AuditRow, 'hash'>): Promise<string> {
  const material = JSON.stringify([row.tenant, row.seq, row.ts, row.type, row.outcome, row.actor_ref, row.kid, row.sealed, row.prev_hash]);
  const mac = await crypto.subtle.sign('HMAC', await ring.hmac('chain-mac', row.kid), enc.encode(material));
  return base64url(mac);
}

export type VerifyResult =
  | { ok: true; rows: number; head: string }
  | { ok: false; seq: number; problem: 'modified' | 'deleted' | 'inserted' | 'reordered' | 'unknown-key'; detail: string };

/**
 * Verify a tenant's rows, in the order given (as read by sequence). Names the first sequence at
 * which the chain breaks, and how.
 */
export async function verifyChain(ring: Keyring, rows: readonly AuditRow[], from: { seq: number; hash: string } = { seq: 0, hash: GENESIS }): Promise<VerifyResult> {
  let prevSeq = from.seq;
  let prevHash = from.hash;
  for (const r of rows) {
    if (!ring.kids.includes(r.kid)) return { ok: false, seq: r.seq, problem: 'unknown-key', detail: `key id ${r.kid} is not in the keyring` };
    if (r.seq <= prevSeq) return { ok: false, seq: r.seq, problem: r.seq === prevSeq ? 'inserted' : 'reordered', detail: `sequence ${r.seq} after ${prevSeq}` };
    if (r.seq > prevSeq + 1) return { ok: false, seq: prevSeq + 1, problem: 'deleted', detail: `sequence ${prevSeq + 1} is missing` };
    if (r.prev_hash !== prevHash) {
      // A row whose own hash is right but links elsewhere was moved or inserted; one whose hash is wrong was edited.
      const selfConsistent = (await chainHash(ring, r)) === r.hash;
      return { ok: false, seq: r.seq, problem: selfConsistent ? 'inserted' : 'modified', detail: 'the link to the previous row is broken' };
    }
    if ((await chainHash(ring, r)) !== r.hash) return { ok: false, seq: r.seq, problem: 'modified', detail: 'the row does not match its hash' };
    prevSeq = r.seq;
    prevHash = r.hash;
  }
  return { ok: true, rows: rows.length, head: prevHash };
}
