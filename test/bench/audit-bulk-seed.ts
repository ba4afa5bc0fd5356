/**
 * @module Bench-only fast seeding of a valid audit chain (test/bench/audit-worker.ts, `POST /bulk-seed`):
 * the rows are built with the chain's own code — the event as the sequencer makes it, `eventHash`,
 * `sealedColumns` — and a signed count checkpoint every CHECKPOINT_EVERY rows, then bulk-inserted
 * into D1 in batches of multi-row INSERTs, bypassing the sequencer (whose group commit and Durable
 * Object hop cap seeding at a few thousand events/s). The result verifies like a sequencer-written
 * chain; only the sequencer's own head is not moved, so the bench verifies against the head this returns.
 */
import { base64url } from '../../edge/crypto/base64';
import type { Keyring } from '../../edge/crypto/keyring';
import { DEFAULT_AUDIT_ORG, eventHash, orgColumn, sealedColumns, type AuditRow, type ChainPoint } from '../../edge/audit/audit-chain';
import { CHECKPOINT_EVERY } from '../../edge/audit/audit-sequencer';
import { checkpointStatement } from '../../edge/audit/checkpoint-store';
import type { AuditEvent, AuditInput } from '../../edge/audit/events';

/** Rows per INSERT statement (well under D1's 100 KB statement size at ~1 KB a row). */
const ROWS_PER_STATEMENT = 40;
/** Rows per D1 batch. */
const ROWS_PER_BATCH = 2000;

const COLUMNS = [
  'tenant',
  'seq',
  'ts',
  'type',
  'outcome',
  'app',
  'org',
  'app_id',
  'actor_ref',
  'ip_ref',
  'kid',
  'sealed',
  'prev_hash',
  'hash',
] as const;

const literal = (v: string | number | null): string =>
  v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${v.replace(/'/g, "''")}'`;

/** Build the row of `input` at `seq` after `prev`, exactly as the sequencer would. */
async function rowOf(ring: Keyring, tenant: string, seq: number, prev: string, input: AuditInput): Promise<AuditRow> {
  const { ts, ...rest } = input;
  const event: AuditEvent = {
    v: 1,
    id: crypto.randomUUID(),
    tenant,
    seq,
    time: new Date(ts ?? Date.now()).toISOString(),
    ...rest,
    app: input.app ?? null,
    org: input.org ?? DEFAULT_AUDIT_ORG,
    app_id: input.app_id ?? null,
    salt: base64url(crypto.getRandomValues(new Uint8Array(16))),
  };
  return {
    tenant,
    seq,
    ts: Date.parse(event.time),
    type: event.type,
    outcome: event.outcome,
    app: event.app ?? null,
    org: orgColumn(event.org),
    app_id: event.app_id ?? null,
    ...(await sealedColumns(ring, tenant, seq, event)),
    prev_hash: prev,
    hash: await eventHash(prev, event),
  };
}

/**
 * Append `count` events (`input(i)` for i = after.seq …) after `after`, straight into D1; the new
 * head, and where the time went (building rows: crypto; D1 inserts).
 */
export async function bulkSeed(
  db: D1Database,
  ring: Keyring,
  tenant: string,
  after: ChainPoint,
  count: number,
  input: (i: number) => AuditInput,
): Promise<{ head: ChainPoint; buildMs: number; d1Ms: number; sizeAfter: number | null }> {
  let head = after;
  let sizeAfter: number | null = null;
  let buildMs = 0;
  let d1Ms = 0;
  const end = after.seq + count;
  while (head.seq < end) {
    const t0 = performance.now();
    const rows: AuditRow[] = [];
    const checkpoints: D1PreparedStatement[] = [];
    const stop = Math.min(end, head.seq + ROWS_PER_BATCH);
    for (let seq = head.seq + 1; seq <= stop; seq++) {
      const row = await rowOf(ring, tenant, seq, head.hash, input(seq - 1));
      rows.push(row);
      head = { seq, hash: row.hash };
      if (seq % CHECKPOINT_EVERY === 0) checkpoints.push(await checkpointStatement(db, ring, tenant, head, 'count', row.ts));
    }
    const statements: D1PreparedStatement[] = [];
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      const values = rows
        .slice(i, i + ROWS_PER_STATEMENT)
        .map((r) => `(${COLUMNS.map((c) => literal(r[c])).join(', ')})`)
        .join(',\n');
      statements.push(db.prepare(`INSERT INTO audit_events (${COLUMNS.join(', ')}) VALUES ${values}`));
    }
    const t1 = performance.now();
    const results = await db.batch([...statements, ...checkpoints]);
    // D1 reports the database's size after each write (`meta.size_after`): what the docs size a database by.
    sizeAfter = (results[results.length - 1]?.meta as { size_after?: number } | undefined)?.size_after ?? sizeAfter;
    buildMs += t1 - t0;
    d1Ms += performance.now() - t1;
  }
  return { head, buildMs, d1Ms, sizeAfter };
}
