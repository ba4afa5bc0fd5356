/**
 * @module The audit stream: a Logpush-style pull for a SIEM. Each call returns the next events of
 * the reader's organisation after its cursor, oldest first (chain order), and a new cursor; the
 * cursor is MACed (edge/audit/stream-cursor.ts), names the organisation it was made for, and stays
 * valid across the archive boundary (it is a sequence, read from R2 or D1 alike). Same readers as the
 * export (audit-access.ts, action audit.export); each pull is an audit event, recorded before the data leaves.
 */
import type { Hono } from 'hono';
import { ErrorCode } from '../../shared/errors';
import { AuditIntegrityError } from '../audit/audit-store';
import { ArchiveUnavailableError, readChainPage } from '../audit/chain-reader';
import { decodeStreamCursor, encodeStreamCursor } from '../audit/stream-cursor';
import type { Runtime } from '../deployment/runtime';
import { json, problem } from '../http/responses';
import { readerAuditBase, requireReader } from './audit-access';
import { intParam } from './audit-query';

export const STREAM_PATH = '/.stepgate/api/admin/audit/stream';

export function registerAuditStreamRoutes(app: Hono, rt: Runtime): void {
  app.get(STREAM_PATH, async (c) => {
    const req = c.req.raw;
    const reader = await requireReader(rt, req, 'audit.export');
    const q = new URL(req.url).searchParams;
    const limit = intParam(q, 'limit', 500, 1, 1000);
    const tenant = rt.audit.tenant;
    let after = 0;
    const cursor = q.get('cursor');
    if (cursor) {
      const pos = await decodeStreamCursor(rt.keys, cursor);
      if (!pos || pos.tenant !== tenant) return problem(ErrorCode.BadRequest, 400, 'cursor: not a cursor of this audit stream');
      // A cursor names the organisation it was made for: never another organisation's feed.
      if (pos.org !== reader.org) return problem(ErrorCode.Forbidden, 403, 'cursor: made for another organisation’s stream');
      after = pos.seq;
    }
    await rt.audit.record({
      type: 'audit.exported',
      outcome: 'success',
      ...(await readerAuditBase(rt, req, reader)),
      details: { format: 'stream', after },
    });
    try {
      const page = await readChainPage(
        { db: rt.db, ring: rt.keys, tenant, bucket: rt.auditArchive?.bucket ?? null },
        { org: reader.org },
        after,
        limit,
      );
      return json({
        events: page.events,
        next_cursor: await encodeStreamCursor(rt.keys, { tenant, org: reader.org, seq: page.position }),
        more: !page.end,
        ...(page.prunedThrough === null ? {} : { pruned_through: page.prunedThrough }),
      });
    } catch (err) {
      if (err instanceof ArchiveUnavailableError) return problem(ErrorCode.AuditUnavailable, 503, err.message);
      if (!(err instanceof AuditIntegrityError)) throw err;
      return problem(ErrorCode.AuditIntegrity, 500, `Stored event ${err.seq} does not open: the audit log was tampered with. Run verify.`, {
        seq: err.seq,
      });
    }
  });
}
