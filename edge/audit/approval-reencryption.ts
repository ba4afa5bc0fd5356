/**
 * @module Dual-control requests (`approval_requests`, `approval_votes`, migration 0017) under the primary
 * key, a batch per maintenance run (reencryption.ts calls it). Every ref of one request — the
 * requester's and each approver's — is a blind index under the row's `key_id`, so one person is one
 * ref within a request; re-keying therefore moves a request and all its votes together, in one D1
 * batch: the refs re-derived from the people sealed beside them (the view's `requesterSub`, each
 * vote's `sub`), and the view, the reason, the held request and each vote sealed again under the
 * primary key (a vote under its new ref's AAD). Closed requests move too: their pages are kept for
 * 30 days. This file reads D1 itself, not through edge/approvals, which imports the audit log.
 */
import { open, openBytes, seal } from '../crypto/aead';
import { blindIndex } from '../crypto/blind-index';
import { approvalAad, approvalVoteAad } from '../crypto/encryption-context';
import type { Keyring, KeyPurpose } from '../crypto/keyring';
import { sealedKidSql } from './key-status';

/** Requests moved per run (each with all its votes). */
const BATCH = 100;

/**
 * An approval not yet on the record (`recorded` 0) this recent is in flight: its writer will mark it
 * recorded, or drop it, by its ref, so its request is not moved until then. Older ones are dead
 * (their worker is gone) and move with the rest.
 */
const IN_FLIGHT_MS = 10 * 60_000;

export interface RequestRow {
  id: string;
  org_id: string;
  key_id: string;
  requester_ref: string;
  request_sealed: string | null;
  view_sealed: string;
  justification_sealed: string | null;
}

interface VoteRow {
  approver_ref: string;
  sealed: string;
}

/** The key id a blind index (`<kid>.<mac>`) was made under. */
const refKid = (ref: string): string => ref.slice(0, ref.indexOf('.'));

const refKidSql = (col: string) => `substr(${col}, 1, instr(${col}, '.') - 1)`;

/** Move a batch of dual-control requests to the primary key; `known` is the SQL list of the ring's key ids. Returns the requests moved. */
export async function rekeyApprovals(rt: { db: D1Database; keys: Keyring }, known: string): Promise<number> {
  const { db, keys } = rt;
  // Only requests whose every value is under a key id this keyring has (others cannot be opened, and
  // must not fill the batch), with something not yet under the primary key: the row's key, a sealed
  // part, or a vote (a vote sealed after promotion is under the new key while its ref is not).
  const { results } = await db
    .prepare(
      'SELECT id, org_id, key_id, requester_ref, request_sealed, view_sealed, justification_sealed FROM approval_requests r ' +
        `WHERE r.key_id IN (${known}) AND ${sealedKidSql('r.view_sealed')} IN (${known}) ` +
        `AND (r.justification_sealed IS NULL OR ${sealedKidSql('r.justification_sealed')} IN (${known})) ` +
        `AND (r.request_sealed IS NULL OR ${sealedKidSql('r.request_sealed')} IN (${known})) ` +
        'AND NOT EXISTS (SELECT 1 FROM approval_votes v WHERE v.approval_id = r.id ' +
        `AND (${refKidSql('v.approver_ref')} NOT IN (${known}) OR ${sealedKidSql('v.sealed')} NOT IN (${known}))) ` +
        'AND (r.key_id != ?1 OR r.view_sealed NOT LIKE ?2 OR r.justification_sealed NOT LIKE ?2 OR r.request_sealed NOT LIKE ?2 ' +
        'OR EXISTS (SELECT 1 FROM approval_votes v WHERE v.approval_id = r.id AND (v.approver_ref NOT LIKE ?3 OR v.sealed NOT LIKE ?2))) ' +
        'AND NOT EXISTS (SELECT 1 FROM approval_votes v WHERE v.approval_id = r.id AND v.recorded = 0 AND v.at > ?5) ' +
        'LIMIT ?4',
    )
    .bind(keys.primary, `v1.${keys.primary}.%`, `${keys.primary}.%`, BATCH, Date.now() - IN_FLIGHT_MS)
    .all<RequestRow>();
  let n = 0;
  for (const row of results) {
    try {
      if (await rekeyApproval(rt, row)) n++;
    } catch (err) {
      // Not opened, not naming its indexed people, or a vote that would collide with another under its
      // new ref: nothing of it moved (one batch), and its old key stays counted by keys status.
      console.error('stepgate: re-encryption skipped an approval_requests row:', err instanceof Error ? err.message : 'non-error');
    }
  }
  return n;
}

/**
 * Move one request, as read in `row`, and every vote it has, to the primary key: all or nothing.
 * True when it moved; false when the request had changed. `beforeWrite` runs between the reads and
 * the batch (for the tests of its races).
 *
 * Why this is safe against a vote racing it: D1 runs a batch as one transaction, alone. The batch
 * (1) rewrites the request only if its key, refs and sealed parts are still those read (a request
 * closed, or given a reason, meanwhile is left for the next run: its new values are never
 * overwritten); (2) rewrites each vote read, if still as read; and (3) aborts the whole batch —
 * through the votes' CHECK constraint, the one way SQL can fail a D1 batch — unless the request
 * was rewritten and no vote of it is left under another key. A vote recorded between the read and
 * the batch is under the old ref, so the batch aborts and nothing is half re-keyed or lost; the next
 * run moves it with the rest. A vote whose ref was computed from the old row but that lands after
 * the batch is refused by `insertVote` (approval-vote-store.ts), which records a vote only under the
 * key id its request has — else one person could count twice, under two refs. And an approval not
 * yet on the record (in flight, see IN_FLIGHT_MS) also aborts the batch: its writer marks it
 * recorded, or drops it, by the ref it wrote, which must not change under it.
 */
export async function rekeyApproval(
  rt: { db: D1Database; keys: Keyring },
  row: RequestRow,
  beforeWrite?: () => Promise<unknown>,
): Promise<boolean> {
  const { db, keys } = rt;
  const p = keys.primary;
  const { results: votes } = await db
    .prepare('SELECT approver_ref, sealed FROM approval_votes WHERE approval_id = ?')
    .bind(row.id)
    .all<VoteRow>();
  const reseal = async (purpose: KeyPurpose, sealed: string, from: string, to = from): Promise<string> =>
    seal(keys, purpose, await openBytes(keys, purpose, sealed, from), to);

  const viewAad = approvalAad(row.id, row.org_id, 'view');
  const view = JSON.parse(await open(keys, 'factor-metadata', row.view_sealed, viewAad)) as { requesterSub?: unknown };
  if (typeof view.requesterSub !== 'string') throw new Error('the view names no requester');
  // Re-derive only from a sealed person who is the one indexed: a ref is never moved to someone else.
  if ((await blindIndex(keys, 'user', view.requesterSub, row.key_id)) !== row.requester_ref)
    throw new Error('the view does not name the indexed requester');
  const newView = await reseal('factor-metadata', row.view_sealed, viewAad);
  const justificationAad = approvalAad(row.id, row.org_id, 'justification');
  const requestAad = approvalAad(row.id, row.org_id, 'request');
  const stmts: D1PreparedStatement[] = [
    db
      .prepare(
        'UPDATE approval_requests SET key_id = ?, requester_ref = ?, view_sealed = ?, justification_sealed = ?, request_sealed = ? ' +
          'WHERE id = ? AND key_id = ? AND requester_ref = ? AND view_sealed = ? AND justification_sealed IS ? AND request_sealed IS ?',
      )
      .bind(
        p,
        await blindIndex(keys, 'user', view.requesterSub),
        newView,
        row.justification_sealed === null ? null : await reseal('factor-metadata', row.justification_sealed, justificationAad),
        row.request_sealed === null ? null : await reseal('held-request', row.request_sealed, requestAad),
        row.id,
        row.key_id,
        row.requester_ref,
        row.view_sealed,
        row.justification_sealed,
        row.request_sealed,
      ),
  ];
  for (const v of votes) {
    const record = await open(keys, 'factor-metadata', v.sealed, approvalVoteAad(row.id, v.approver_ref));
    const sub = (JSON.parse(record) as { sub?: unknown }).sub;
    if (typeof sub !== 'string' || (await blindIndex(keys, 'user', sub, refKid(v.approver_ref))) !== v.approver_ref)
      throw new Error('a vote does not name the indexed approver');
    const ref = await blindIndex(keys, 'user', sub);
    stmts.push(
      db
        .prepare('UPDATE approval_votes SET approver_ref = ?, sealed = ? WHERE approval_id = ? AND approver_ref = ? AND sealed = ?')
        .bind(ref, await seal(keys, 'factor-metadata', record, approvalVoteAad(row.id, ref)), row.id, v.approver_ref, v.sealed),
    );
  }
  stmts.push(
    db
      .prepare(
        'INSERT INTO approval_votes (approval_id, approver_ref, vote, eligible_json, sealed, at) ' +
          `SELECT ?1, '', 'abort: changed', '[]', '', 0 ` +
          'WHERE NOT EXISTS (SELECT 1 FROM approval_requests WHERE id = ?1 AND view_sealed = ?2) ' +
          'OR EXISTS (SELECT 1 FROM approval_votes WHERE approval_id = ?1 AND (approver_ref NOT LIKE ?3 OR sealed NOT LIKE ?4 ' +
          'OR (recorded = 0 AND at > ?5)))',
      )
      .bind(row.id, newView, `${p}.%`, `v1.${p}.%`, Date.now() - IN_FLIGHT_MS),
  );
  await beforeWrite?.();
  try {
    await db.batch(stmts);
  } catch (err) {
    // The abort above (or the request pruned meanwhile): nothing of this batch was written.
    if (err instanceof Error && /CHECK constraint failed|FOREIGN KEY constraint failed/i.test(err.message)) return false;
    throw err;
  }
  return true;
}
