/**
 * @module Bench-only: where verification's time goes (test/bench/audit-worker.ts, `GET /verify-profile`).
 * Over one page of stored rows, times each part of `verifyRows` alone — reading the page from D1,
 * opening the sealed events, recomputing the chain hashes, canonical JSON alone — and the whole
 * `verifyRows`, so a change to the verifier can be judged part by part.
 */
import { eventHash, openRow, verifyRows, type AuditRow } from '../../edge/audit/audit-chain';
import { canonicalJson } from '../../edge/audit/canonical-json';
import type { AuditEvent } from '../../edge/audit/events';
import type { Keyring } from '../../edge/crypto/keyring';

export async function verifyProfile(
  db: D1Database,
  ring: Keyring,
  tenant: string,
  from: number,
  limit: number,
): Promise<Record<string, number>> {
  const t = () => performance.now();
  let s = t();
  const { results: rows } = await db
    .prepare('SELECT * FROM audit_events WHERE tenant = ? AND seq >= ? ORDER BY seq LIMIT ?')
    .bind(tenant, from, limit)
    .all<AuditRow>();
  const read = t() - s;
  s = t();
  const events: AuditEvent[] = [];
  for (const r of rows) events.push(await openRow(ring, r));
  const open = t() - s;
  s = t();
  for (const e of events) canonicalJson(e);
  const canonical = t() - s;
  s = t();
  for (let i = 0; i < rows.length; i++) await eventHash(rows[i]!.prev_hash, events[i]!);
  const hash = t() - s;
  s = t();
  const parallel = await Promise.all(rows.map((r) => openRow(ring, r)));
  const openParallel = t() - s;
  s = t();
  await Promise.all(rows.map((r, i) => eventHash(r.prev_hash, parallel[i]!)));
  const hashParallel = t() - s;
  const prev = rows[0] ? { seq: rows[0].seq - 1, hash: rows[0].prev_hash } : undefined;
  s = t();
  const v = await verifyRows(ring, rows, prev);
  const verify = t() - s;
  if (!v.ok) throw new Error(`profile: rows do not verify at ${v.seq}: ${v.problem}`);
  const per = (ms: number) => Math.round(((ms * 1000) / Math.max(1, rows.length)) * 10) / 10;
  return {
    rows: rows.length,
    read_us: per(read),
    open_us: per(open),
    canonical_us: per(canonical),
    hash_us: per(hash),
    open_parallel_us: per(openParallel),
    hash_parallel_us: per(hashParallel),
    verifyRows_us: per(verify),
  };
}
