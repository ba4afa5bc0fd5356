/**
 * @module The audit archive's manifest (D1 table `audit_segments`) and its R2 objects: one object
 * per segment, a contiguous sequence range ending at a signed checkpoint, holding the rows exactly as
 * they were in D1 (still sealed) and that checkpoint. Reading a segment back checks the object
 * against the manifest (digest, tenant, range); whether its rows verify is the chain's business
 * (audit-chain.ts `verifyRows`, audit-store.ts `verifyTenant`).
 */
import { base64url } from '../crypto/base64';
import type { AuditRow } from './audit-chain';

/**
 * The part of an R2 bucket (binding `AUDIT_ARCHIVE`) the archive uses, named structurally so that
 * Node tooling importing the audit store needs no Worker globals.
 */
export interface ArchiveBucket {
  get(key: string): Promise<{ text(): Promise<string> } | null>;
  put(
    key: string,
    value: string,
    options?: { httpMetadata?: { contentType?: string }; customMetadata?: Record<string, string> },
  ): Promise<unknown>;
  list(options: { prefix: string; limit: number }): Promise<{ objects: { key: string }[] }>;
  delete(keys: string[]): Promise<void>;
}

/** Where the archive lives: the R2 bucket and when rows go there. */
export interface AuditArchive {
  bucket: ArchiveBucket;
  /** Sealed segments whose newest event is older than this many days leave D1 for R2; 0: none (reads still go through). */
  afterDays: number;
}

/** A segment as the manifest records it. */
export interface SegmentRow {
  tenant: string;
  first_seq: number;
  last_seq: number;
  first_ts: number;
  last_ts: number;
  last_hash: string;
  object_key: string;
  state: 'writing' | 'archived';
  claim: string;
  claimed_at: number;
  digest: string | null;
  bytes: number | null;
}

/** The body of a segment object. */
export interface SegmentObject {
  format: typeof SEGMENT_FORMAT;
  tenant: string;
  first_seq: number;
  last_seq: number;
  /** The signed checkpoint at `last_seq`, as it was when archived (D1 keeps the live copy, re-signed on rotation). */
  checkpoint: string;
  rows: AuditRow[];
}

export const SEGMENT_FORMAT = 'stepgate-audit-segment-v1';

/** The object key of a segment: sequences zero-padded, so R2's listing is chain order. */
export const segmentKey = (tenant: string, first: number, last: number): string =>
  `audit/${encodeURIComponent(tenant)}/${String(first).padStart(16, '0')}-${String(last).padStart(16, '0')}.json`;

export const digestOf = async (text: string): Promise<string> =>
  base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));

/** A tenant's archived segments (rows no longer in D1), in chain order. */
export async function archivedSegments(db: D1Database, tenant: string): Promise<SegmentRow[]> {
  const { results } = await db
    .prepare("SELECT * FROM audit_segments WHERE tenant = ? AND state = 'archived' ORDER BY first_seq")
    .bind(tenant)
    .all<SegmentRow>();
  return results;
}

/** The archived segment holding `seq`, or null. */
export const segmentAt = (db: D1Database, tenant: string, seq: number): Promise<SegmentRow | null> =>
  db
    .prepare("SELECT * FROM audit_segments WHERE tenant = ? AND state = 'archived' AND first_seq <= ?2 AND last_seq >= ?2")
    .bind(tenant, seq)
    .first<SegmentRow>();

/** The newest archived segment: D1's rows begin after it. */
export const lastArchived = (db: D1Database, tenant: string): Promise<SegmentRow | null> =>
  db
    .prepare("SELECT * FROM audit_segments WHERE tenant = ? AND state = 'archived' ORDER BY first_seq DESC LIMIT 1")
    .bind(tenant)
    .first<SegmentRow>();

/** Why a segment object could not be read as the manifest says it is. */
export class SegmentError extends Error {
  override readonly name = 'SegmentError';
  constructor(
    readonly segment: SegmentRow,
    readonly problem: 'deleted' | 'modified',
    detail: string,
  ) {
    super(detail);
  }
}

/**
 * Read a segment's object back and check it is the one the manifest recorded: same digest, tenant
 * and range, one row per sequence. @throws {SegmentError} missing (deleted) or not that object (modified)
 */
export async function readSegment(bucket: ArchiveBucket, seg: SegmentRow): Promise<SegmentObject> {
  const obj = await bucket.get(seg.object_key);
  if (!obj) throw new SegmentError(seg, 'deleted', `archived segment ${seg.first_seq}–${seg.last_seq} is missing from R2`);
  const text = await obj.text();
  const modified = (why: string) => new SegmentError(seg, 'modified', `archived segment ${seg.first_seq}–${seg.last_seq}: ${why}`);
  // An archived segment always has its digest: one without is no proof of anything, so it is refused, not skipped.
  if (seg.digest === null) throw modified('the manifest has no digest for it');
  if ((await digestOf(text)) !== seg.digest) throw modified('the object is not the one archived (digest)');
  let body: SegmentObject;
  try {
    body = JSON.parse(text) as SegmentObject;
  } catch {
    throw modified('not JSON');
  }
  if (body.format !== SEGMENT_FORMAT || body.tenant !== seg.tenant || body.first_seq !== seg.first_seq || body.last_seq !== seg.last_seq)
    throw modified('the object is for another tenant or range');
  if (!Array.isArray(body.rows) || body.rows.length !== seg.last_seq - seg.first_seq + 1) throw modified('rows are missing');
  return body;
}

/**
 * The rows of archived segments after `after` (exclusive), in chain order, reading segment by segment
 * until `limit` rows or D1's part of the chain; `through` is the last sequence they cover (null: no
 * archived row after `after`). Each segment object is checked against the manifest; rows are not opened.
 */
export async function archivedRowsAfter(
  db: D1Database,
  bucket: ArchiveBucket,
  tenant: string,
  after: number,
  limit: number,
): Promise<{ rows: AuditRow[]; through: number | null }> {
  const rows: AuditRow[] = [];
  let through: number | null = null;
  let seg = await segmentAt(db, tenant, after + 1);
  while (seg && rows.length < limit) {
    const body = await readSegment(bucket, seg);
    const start = Math.max(0, after + 1 - seg.first_seq);
    const take = body.rows.slice(start, start + (limit - rows.length));
    rows.push(...take);
    through = take.length ? take[take.length - 1]!.seq : through;
    if (start + take.length < body.rows.length) break;
    after = seg.last_seq;
    seg = await segmentAt(db, tenant, after + 1);
  }
  return { rows, through };
}
