/**
 * @module Changing an organisation's policy baseline (policy-baseline.ts reads it). A change that
 * weakens neither the baseline nor any app of the organisation (baseline-impact.ts) is in force at
 * once; a weakening one waits as the proposal until a different owner or admin approves it; one that
 * would leave some app's policy invalid is refused. One proposal at a time. Every write is a
 * compare-and-set on the hashes it read and on the apps' policies it classified, so two racing writes
 * cannot both succeed and an approval approves exactly what its approver saw.
 */
import { open, seal } from '../crypto/aead';
import { blindIndex } from '../crypto/blind-index';
import { baselineEditorAad } from '../crypto/encryption-context';
import type { Keyring } from '../crypto/keyring';
import { canonicalJson } from '../audit/canonical-json';
import { sha256b64u } from '../crypto/base64';
import { checkBaseline, readBaseline } from '../policy/baseline-document';
import type { Baseline } from '../policy/baseline-merge';
import type { Policy } from '../policy/schema';
import type { ChangeClassification } from '../policy/weakening';
import { AppInputError } from './app-input';
import { APPS_FINGERPRINT_SQL, appPoliciesInForce, classifyFromStored } from './baseline-impact';
import { baselineRow } from './policy-baseline';

/** What a save, approval or rejection did. */
export type BaselineOutcome =
  | {
      ok: true;
      state: 'active' | 'proposed' | 'rejected';
      hash: string;
      from: string | null;
      change: ChangeClassification;
      /** The hash of a waiting proposal this write withdrew (a save in force at once, made it stale), else null. */
      withdrawn: string | null;
    }
  | { ok: false; code: 'conflict' | 'pending' | 'no-proposal' | 'same-person'; reason: string };

const fail = (code: Extract<BaselineOutcome, { ok: false }>['code'], reason: string): BaselineOutcome => ({ ok: false, code, reason });
const CONFLICT = 'the baseline or an app policy of the organisation changed meanwhile: read it again and retry';
/** What is in force while a weakening first baseline waits: no rules (apps keep case-insensitive matching, no path info). */
const EMPTY: Baseline = { version: 1, rules: [] };

/**
 * The change from the stored baseline to `next`, for the baseline and for every app of the
 * organisation (baseline-impact.ts), with the apps' fingerprint for the compare-and-set.
 *
 * @throws {AppInputError} naming each app whose policy would no longer validate behind `next`
 */
async function impactOf(db: D1Database, o: { orgId: string; bundled?: Policy | null }, stored: string | null, next: Baseline) {
  const { apps, fingerprint } = await appPoliciesInForce(db, o.orgId, o.bundled ?? null);
  const { change, invalid } = classifyFromStored(stored, next, apps);
  // Why: a merge that does not validate would make the app stop loading (503 in new isolates, the old copy in warm ones).
  if (invalid.length) throw new AppInputError(invalid);
  return { change, fingerprint };
}

/**
 * Save `document` as the baseline of `orgId`: in force at once unless it weakens the current one or
 * any app of the organisation (`bundled`: the deployment's policy.json, the bundled app's policy
 * until D1 holds one), then the proposal (`pending` when another proposal already waits). Saving in
 * force withdraws a waiting proposal: it was made against another baseline.
 *
 * @throws {AppInputError} listing every problem of the document, or the apps it would break
 */
export async function saveBaseline(
  db: D1Database,
  ring: Keyring,
  o: { orgId: string; document: unknown; by: string; now: number; bundled?: Policy | null },
): Promise<BaselineOutcome> {
  const checked = checkBaseline(o.document);
  if (!checked.baseline) throw new AppInputError(checked.problems);
  const doc = JSON.stringify(checked.baseline);
  const hash = await sha256b64u(canonicalJson(checked.baseline));
  const row = await baselineRow(db, o.orgId);
  const { change, fingerprint } = await impactOf(db, o, row?.document_json ?? null, checked.baseline);
  // The waiting proposal's columns: the document, its author (an index to compare with the approver, and sealed).
  const proposal = async () => [
    doc,
    hash,
    await blindIndex(ring, 'user', o.by),
    await seal(ring, 'factor-metadata', o.by, baselineEditorAad(o.orgId, hash, 'proposed-by')),
    o.now,
  ];
  if (!row) {
    // A first baseline goes through the same check: one that weakens some app waits over an empty one (saved by nobody).
    const inForceHash = change.weakens ? await sha256b64u(canonicalJson(EMPTY)) : hash;
    const savedBy = change.weakens ? null : await seal(ring, 'factor-metadata', o.by, baselineEditorAad(o.orgId, hash, 'saved-by'));
    const r = await db
      .prepare(
        'INSERT INTO org_policy_baselines (org_id, document_json, hash, updated_at, updated_by_sealed, proposed_json, proposed_hash, ' +
          `proposed_by_ref, proposed_by_sealed, proposed_at) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE ${APPS_FINGERPRINT_SQL} = ? ` +
          'ON CONFLICT (org_id) DO NOTHING',
      )
      .bind(
        o.orgId,
        change.weakens ? JSON.stringify(EMPTY) : doc,
        inForceHash,
        o.now,
        savedBy,
        ...(change.weakens ? await proposal() : [null, null, null, null, null]),
        o.orgId,
        fingerprint,
      )
      .run();
    if (r.meta.changes !== 1) return fail('conflict', CONFLICT);
    return change.weakens
      ? { ok: true, state: 'proposed', hash, from: inForceHash, change, withdrawn: null }
      : { ok: true, state: 'active', hash, from: null, change, withdrawn: null };
  }
  if (change.weakens) {
    if (row.proposed_hash !== null)
      return fail('pending', 'a weakening change of the baseline already waits for approval: approve or reject it first');
    const r = await db
      .prepare(
        'UPDATE org_policy_baselines SET proposed_json = ?, proposed_hash = ?, proposed_by_ref = ?, proposed_by_sealed = ?, ' +
          `proposed_at = ? WHERE org_id = ? AND hash = ? AND proposed_hash IS NULL AND ${APPS_FINGERPRINT_SQL} = ?`,
      )
      .bind(...(await proposal()), o.orgId, row.hash, o.orgId, fingerprint)
      .run();
    return r.meta.changes === 1
      ? { ok: true, state: 'proposed', hash, from: row.hash, change, withdrawn: null }
      : fail('conflict', CONFLICT);
  }
  // Why: a proposal left waiting would, once approved, silently undo this change (it was made against the old baseline).
  const r = await db
    .prepare(
      'UPDATE org_policy_baselines SET document_json = ?, hash = ?, updated_at = ?, updated_by_sealed = ?, proposed_json = NULL, ' +
        'proposed_hash = NULL, proposed_by_ref = NULL, proposed_by_sealed = NULL, proposed_at = NULL ' +
        `WHERE org_id = ? AND hash = ? AND proposed_hash IS ? AND ${APPS_FINGERPRINT_SQL} = ?`,
    )
    .bind(
      doc,
      hash,
      o.now,
      await seal(ring, 'factor-metadata', o.by, baselineEditorAad(o.orgId, hash, 'saved-by')),
      o.orgId,
      row.hash,
      row.proposed_hash,
      o.orgId,
      fingerprint,
    )
    .run();
  return r.meta.changes === 1
    ? { ok: true, state: 'active', hash, from: row.hash, change, withdrawn: row.proposed_hash }
    : fail('conflict', CONFLICT);
}

/**
 * A second person approves the waiting proposal (the one with hash `expected` when given): it is
 * in force. Its author cannot approve it; an author that cannot be read is refused too (fail closed).
 * Its base is the baseline in force: a proposal is only written on top of the hash it was classified
 * against, and every write that puts a baseline in force clears it in the same statement; the
 * compare-and-set on (hash, proposed hash) below checks that once more. It is classified again
 * against the apps as they are now (the audit event says what it does today).
 *
 * @throws {AppInputError} naming each app whose policy would no longer validate behind it
 */
export async function approveBaseline(
  db: D1Database,
  ring: Keyring,
  o: { orgId: string; by: string; now: number; expected?: string; bundled?: Policy | null },
): Promise<BaselineOutcome> {
  const row = await baselineRow(db, o.orgId);
  if (!row || row.proposed_json === null || row.proposed_hash === null)
    return fail('no-proposal', 'no change of the baseline waits for approval');
  if (o.expected !== undefined && o.expected !== row.proposed_hash) return fail('conflict', CONFLICT);
  const aad = baselineEditorAad(o.orgId, row.proposed_hash, 'proposed-by');
  const author =
    row.proposed_by_sealed === null ? null : await open(ring, 'factor-metadata', row.proposed_by_sealed, aad).catch(() => null);
  // Why: the point of a proposal is a second pair of eyes; its author approving it would make it a formality.
  if (author === null || author === o.by)
    return fail('same-person', 'a weakening baseline change must be approved by someone other than its author');
  const proposed = readBaseline(row.proposed_json);
  if (!proposed) return fail('conflict', 'the waiting proposal could not be read: reject it');
  const { change, fingerprint } = await impactOf(db, o, row.document_json, proposed);
  const sealed = await seal(ring, 'factor-metadata', author, baselineEditorAad(o.orgId, row.proposed_hash, 'saved-by'));
  const r = await db
    .prepare(
      'UPDATE org_policy_baselines SET document_json = proposed_json, hash = proposed_hash, updated_at = ?, updated_by_sealed = ?, ' +
        'proposed_json = NULL, proposed_hash = NULL, proposed_by_ref = NULL, proposed_by_sealed = NULL, proposed_at = NULL ' +
        `WHERE org_id = ? AND hash = ? AND proposed_hash = ? AND ${APPS_FINGERPRINT_SQL} = ?`,
    )
    .bind(o.now, sealed, o.orgId, row.hash, row.proposed_hash, o.orgId, fingerprint)
    .run();
  return r.meta.changes === 1
    ? { ok: true, state: 'active', hash: row.proposed_hash, from: row.hash, change, withdrawn: null }
    : fail('conflict', CONFLICT);
}

/** Reject (or, by its author, withdraw) the waiting proposal (the one with hash `expected` when given). */
export async function rejectBaseline(db: D1Database, o: { orgId: string; expected?: string }): Promise<BaselineOutcome> {
  const row = await baselineRow(db, o.orgId);
  if (!row || row.proposed_hash === null) return fail('no-proposal', 'no change of the baseline waits for approval');
  if (o.expected !== undefined && o.expected !== row.proposed_hash) return fail('conflict', CONFLICT);
  const r = await db
    .prepare(
      'UPDATE org_policy_baselines SET proposed_json = NULL, proposed_hash = NULL, proposed_by_ref = NULL, proposed_by_sealed = NULL, ' +
        'proposed_at = NULL WHERE org_id = ? AND proposed_hash = ?',
    )
    .bind(o.orgId, row.proposed_hash)
    .run();
  const none: ChangeClassification = { weakens: false, strengthens: false, changes: [] };
  return r.meta.changes === 1
    ? { ok: true, state: 'rejected', hash: row.proposed_hash, from: row.hash, change: none, withdrawn: null }
    : fail('conflict', CONFLICT);
}
