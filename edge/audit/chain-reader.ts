/**
 * @module Read the chain oldest first across the archive boundary: archived segments from R2, then
 * D1's rows, as one sequence of events matching a filter. The export and the stream (its resume
 * cursor is a sequence: stable whether the rows behind it are in D1 or R2) read through this.
 */
import type { Keyring } from '../crypto/keyring';
import { openRow, orgColumn, type AuditRow } from './audit-chain';
import { AuditIntegrityError, listEvents, type AuditFilter } from './audit-store';
import { readSegment, segmentAt, SegmentError, type ArchiveBucket } from './archive-store';
import { latestRetentionCheckpoint } from './checkpoint-store';
import type { AuditEvent, ChainedEvent } from './events';

/** Archived rows looked at per page at most (a page of another organisation's rows returns empty, with its position). */
export const SCAN_MAX = 20_000;

export interface ChainSource {
  db: D1Database;
  ring: Keyring;
  tenant: string;
  /** The R2 archive; null when not bound (then an archived range cannot be read: an error, never a silent gap). */
  bucket: ArchiveBucket | null;
}

export interface ChainPage {
  events: ChainedEvent[];
  /** The last sequence looked at: the next page starts after it. */
  position: number;
  /** No row after `position` exists yet. */
  end: boolean;
  /** Set when `after` lay before the retention checkpoint: events up to it were pruned and are skipped. */
  prunedThrough: number | null;
}

/** An archived range could not be read (no bucket bound). */
export class ArchiveUnavailableError extends Error {
  override readonly name = 'ArchiveUnavailableError';
}

/** The cheap column tests of a filter, before a row is opened. */
function rowMayMatch(r: AuditRow, f: AuditFilter): boolean {
  if (f.org !== undefined && (r.org ?? null) !== orgColumn(f.org)) return false;
  if (f.from !== undefined && r.ts < f.from) return false;
  if (f.to !== undefined && r.ts >= f.to) return false;
  if (f.app !== undefined && r.app !== f.app) return false;
  if (f.types?.length && !f.types.includes(r.type as never)) return false;
  return f.outcome === undefined || r.outcome === f.outcome;
}

/** The filters on people and addresses, on the opened event (archived rows: no blind-index lookups). */
const eventMatches = (e: AuditEvent, f: AuditFilter): boolean =>
  (f.user === undefined || e.actor === f.user) && (f.ip === undefined || e.request?.ip === f.ip);

/** Events matching `filter` after sequence `after`, oldest first, at most `limit`. */
export async function readChainPage(src: ChainSource, filter: AuditFilter, after: number, limit: number): Promise<ChainPage> {
  const { db, ring, tenant } = src;
  const events: ChainedEvent[] = [];
  let position = after;
  let prunedThrough: number | null = null;
  const anchor = await latestRetentionCheckpoint(db, tenant);
  if (anchor && position < anchor.seq) {
    prunedThrough = anchor.seq;
    position = anchor.seq;
  }
  let scanned = 0;
  while (events.length < limit && scanned < SCAN_MAX) {
    const seg = await segmentAt(db, tenant, position + 1);
    if (seg) {
      if (!src.bucket) throw new ArchiveUnavailableError('events were archived to R2, but no AUDIT_ARCHIVE bucket is bound');
      // A time range skips whole segments by the manifest, without reading them.
      if (filter.from !== undefined && seg.last_ts < filter.from) {
        position = seg.last_seq;
        continue;
      }
      if (filter.to !== undefined && seg.first_ts >= filter.to) return { events, position, end: true, prunedThrough };
      let rows: AuditRow[];
      try {
        rows = (await readSegment(src.bucket, seg)).rows;
      } catch (err) {
        if (err instanceof SegmentError) throw new AuditIntegrityError(seg.first_seq);
        throw err;
      }
      for (const r of rows.slice(position + 1 - seg.first_seq)) {
        scanned++;
        position = r.seq;
        if (rowMayMatch(r, filter)) {
          const event = await openRow(ring, r).catch(() => null);
          // The column chose the row; the sealed event must agree (as listEvents checks in D1).
          if (!event || event.seq !== r.seq || orgColumn(event.org) !== (r.org ?? null)) throw new AuditIntegrityError(r.seq);
          if (eventMatches(event, filter)) events.push({ event, prev_hash: r.prev_hash, hash: r.hash });
        }
        if (events.length >= limit || scanned >= SCAN_MAX) break;
      }
      continue;
    }
    const page = await listEvents(db, ring, tenant, filter, { limit: limit - events.length, order: 'asc', after: position });
    // An archive run may have moved the rows after `position` out of D1 while this read: read them from R2.
    if (await segmentAt(db, tenant, position + 1)) continue;
    events.push(...page.events);
    if (page.events.length) position = page.events[page.events.length - 1]!.event.seq;
    if (page.next === null) return { events, position, end: true, prunedThrough };
    break;
  }
  return { events, position, end: false, prunedThrough };
}
