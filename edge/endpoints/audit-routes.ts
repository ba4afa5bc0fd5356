/**
 * @module The audit read side: list events, verify the chain, list checkpoints, and the keys that
 * verify them. Readers are owners, admins and auditors, and list their own organisation's events
 * only; the chain (verify, checkpoints) is the default organisation's to check (audit-access.ts).
 * Every read and verification is itself an audit event, recorded before the data leaves (fail closed).
 */
import type { Hono } from 'hono';
import { ErrorCode } from '../../shared/errors';
import { AuditIntegrityError, listEvents, verifyTenant } from '../audit/audit-store';
import { checkpointJwks } from '../audit/checkpoint';
import { listCheckpoints } from '../audit/checkpoint-store';
import type { Runtime } from '../deployment/runtime';
import { json, problem } from '../http/responses';
import { readerAuditBase, requireDeploymentReader, requireReader } from './audit-access';
import { decodeCursor, encodeCursor, filterDetails, filterOf, intParam } from './audit-query';

export function registerAuditRoutes(app: Hono, rt: Runtime): void {
  // Live and retired (verify-only) keys: every export ever taken verifies against this set.
  app.get('/.well-known/stepgate/audit-jwks.json', async () =>
    json(await checkpointJwks(rt.keys, { retired: true }), 200, { 'cache-control': 'public, max-age=300' }),
  );

  app.get('/.stepgate/api/admin/audit/events', async (c) => {
    const req = c.req.raw;
    const reader = await requireReader(rt, req);
    const q = new URL(req.url).searchParams;
    const filter = filterOf(q, reader.org);
    const order = q.get('order') === 'asc' ? 'asc' : 'desc';
    const limit = intParam(q, 'limit', 50, 1, 500);
    const after = decodeCursor(q.get('cursor'), order);
    await rt.audit.record({
      type: 'audit.read',
      outcome: 'success',
      ...(await readerAuditBase(rt, req, reader)),
      details: await filterDetails(filter),
    });
    let page: Awaited<ReturnType<typeof listEvents>>;
    try {
      page = await listEvents(rt.db, rt.keys, rt.audit.tenant, filter, { limit, order, ...(after === undefined ? {} : { after }) });
    } catch (err) {
      if (!(err instanceof AuditIntegrityError)) throw err;
      return problem(ErrorCode.AuditIntegrity, 500, `Stored event ${err.seq} does not open: the audit log was tampered with. Run verify.`, {
        seq: err.seq,
      });
    }
    return json({ events: page.events, next_cursor: page.next === null ? null : encodeCursor(order, page.next) });
  });

  app.get('/.stepgate/api/admin/audit/verify', async (c) => {
    const req = c.req.raw;
    const reader = await requireReader(rt, req);
    requireDeploymentReader(reader);
    const q = new URL(req.url).searchParams;
    const from = intParam(q, 'from', 1, 1, Number.MAX_SAFE_INTEGER);
    const limit = intParam(q, 'limit', 1000, 1, 5000);
    const head = await rt.auditSequencer().currentHead(rt.audit.tenant);
    const report = await verifyTenant(rt.db, rt.keys, rt.audit.tenant, head, from, limit, rt.auditArchive?.bucket ?? null);
    await rt.audit.record({
      type: 'audit.verified',
      outcome: report.ok ? 'success' : 'failure',
      ...(await readerAuditBase(rt, req, reader)),
      details: report.ok
        ? { from: report.from, to: report.to, rows: report.rows, complete: report.complete }
        : { from, seq: report.seq, problem: report.problem },
    });
    return json({ ...report, head_seq: head.seq });
  });

  app.get('/.stepgate/api/admin/audit/checkpoints', async (c) => {
    const reader = await requireReader(rt, c.req.raw);
    requireDeploymentReader(reader);
    const q = new URL(c.req.url).searchParams;
    const from = intParam(q, 'from', 0, 0, Number.MAX_SAFE_INTEGER);
    await rt.audit.record({
      type: 'audit.read',
      outcome: 'success',
      ...(await readerAuditBase(rt, c.req.raw, reader)),
      details: { checkpoints_from: from },
    });
    return json({
      checkpoints: (await listCheckpoints(rt.db, rt.audit.tenant, from)).slice(0, 1000),
      jwks: '/.well-known/stepgate/audit-jwks.json',
    });
  });
}
