/**
 * @module The audit export: the events matching a filter, streamed oldest first as NDJSON (with the
 * signed checkpoints, so a file verifies offline), CSV or OCSF. Readers are administrators and
 * auditors (audit-access.ts); the export is an audit event, recorded before the first byte leaves.
 */
import type { Hono } from 'hono';
import { ErrorCode } from '../../shared/errors';
import { AuditIntegrityError, type AuditFilter } from '../audit/audit-store';
import { ArchiveUnavailableError, readChainPage } from '../audit/chain-reader';
import { listCheckpoints } from '../audit/checkpoint-store';
import { CONTENT_TYPES, csvHeader, csvRow, EXPORT_FORMATS, toOcsf, type ExportFormat } from '../audit/export-formats';
import type { Runtime } from '../deployment/runtime';
import { problem, secure } from '../http/responses';
import { readerAuditBase, requireReader } from './audit-access';
import { filterDetails, filterOf } from './audit-query';

export function registerAuditExportRoutes(app: Hono, rt: Runtime): void {
  app.get('/.stepgate/api/admin/audit/export', async (c) => {
    const req = c.req.raw;
    const reader = await requireReader(rt, req, 'audit.export');
    const q = new URL(req.url).searchParams;
    const format = (q.get('format') ?? 'ndjson') as ExportFormat;
    if (!EXPORT_FORMATS.includes(format)) return problem(ErrorCode.BadRequest, 400, `format: one of ${EXPORT_FORMATS.join(', ')}`);
    const filter = filterOf(q, reader.org);
    await rt.audit.record({
      type: 'audit.exported',
      outcome: 'success',
      ...(await readerAuditBase(rt, req, reader)),
      details: { format, ...(await filterDetails(filter)) },
    });
    const stream = exportStream(rt, filter, format);
    const h = secure(
      new Headers({
        'content-type': CONTENT_TYPES[format],
        'content-disposition': `attachment; filename="${EXPORT_FILE_NAMES[format]}"`,
      }),
    );
    return new Response(stream, { headers: h });
  });
}

/** The file an export downloads as: OCSF under its own name, so it is never taken for the verifiable NDJSON. */
const EXPORT_FILE_NAMES: Record<ExportFormat, string> = {
  ndjson: 'stepgate-audit.ndjson',
  csv: 'stepgate-audit.csv',
  ocsf: 'stepgate-audit.ocsf.ndjson',
};

/** Stream an export page by page (500 events at a time), oldest first; NDJSON carries the signed checkpoints. */
function exportStream(rt: Runtime, filter: AuditFilter, format: ExportFormat): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let after: number | undefined;
  let started = false;
  let done = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (done) return controller.close();
      let out = '';
      if (!started && format === 'csv') out += csvHeader();
      const first = !started;
      started = true;
      try {
        // Archived segments (R2) first, then D1's rows: one chain (chain-reader.ts).
        const read = await readChainPage(
          { db: rt.db, ring: rt.keys, tenant: rt.audit.tenant, bucket: rt.auditArchive?.bucket ?? null },
          filter,
          after ?? 0,
          500,
        );
        const page = { events: read.events, next: read.end ? null : read.position };
        // An export that starts where retention pruned opens with the signed checkpoint it links to,
        // so it can be verified offline from its first event.
        const start = page.events[0]?.event.seq;
        if (first && format === 'ndjson' && start !== undefined && start > 1) {
          const [anchor] = await listCheckpoints(rt.db, rt.audit.tenant, start - 1, start - 1);
          if (anchor && anchor.kind === 'retention')
            out += `${JSON.stringify({ checkpoint: anchor.jws, seq: anchor.seq, anchor: true })}\n`;
        }
        const cps =
          format === 'ndjson' && page.events.length
            ? await listCheckpoints(rt.db, rt.audit.tenant, page.events[0]!.event.seq, page.events[page.events.length - 1]!.event.seq)
            : [];
        let ci = 0;
        for (const e of page.events) {
          if (format === 'csv') out += csvRow(e);
          else if (format === 'ocsf') out += `${JSON.stringify(toOcsf(e))}\n`;
          else {
            out += `${JSON.stringify(e)}\n`;
            while (ci < cps.length && cps[ci]!.seq <= e.event.seq) {
              if (cps[ci]!.seq === e.event.seq) out += `${JSON.stringify({ checkpoint: cps[ci]!.jws, seq: cps[ci]!.seq })}\n`;
              ci++;
            }
          }
        }
        if (page.next === null) done = true;
        else after = page.next;
      } catch (err) {
        // A tampered row ends the export with an error line rather than silently skipping it.
        const seq = err instanceof AuditIntegrityError ? err.seq : null;
        const error = err instanceof ArchiveUnavailableError ? 'archive-unavailable' : 'integrity';
        const why =
          error === 'integrity' ? `audit row ${seq ?? '?'} does not open; run verify` : err instanceof Error ? err.message : 'error';
        out += format === 'csv' ? `# export stopped: ${why}\r\n` : `${JSON.stringify({ error, seq })}\n`;
        done = true;
      }
      controller.enqueue(enc.encode(out));
    },
  });
}
