/**
 * @module Upkeep an administrator runs or watches: run maintenance now (checkpoint, re-encryption,
 * retention), and see which key ids stored data still uses. Owners and admins of the default
 * organisation only, the deployment's operator (audit-access.ts); maintenance needs a stepped-up
 * browser session, never a token.
 */
import type { Hono } from 'hono';
import * as z from '../http/zod';
import { ErrorCode } from '../../shared/errors';
import { keyStatus } from '../audit/key-status';
import { runMaintenance } from '../audit/maintenance';
import type { Runtime } from '../deployment/runtime';
import { json, problem } from '../http/responses';
import { readerAuditBase, requireAdmin, requireDeploymentReader, requireReader } from './audit-access';
import { jsonBody } from './endpoint-helpers';

export function registerMaintenanceRoutes(app: Hono, rt: Runtime): void {
  app.post('/.stepgate/api/admin/maintenance', async (c) => {
    const req = c.req.raw;
    const admin = await requireAdmin(rt, req);
    await jsonBody(req, z.strictObject({}));
    const report = await runMaintenance(rt, { actor: admin.sub, base: await readerAuditBase(rt, req, admin) });
    return json(report);
  });

  app.get('/.stepgate/api/admin/keys', async (c) => {
    const req = c.req.raw;
    const reader = await requireReader(rt, req);
    requireDeploymentReader(reader);
    if (reader.role !== 'admin') return problem(ErrorCode.Forbidden, 403, 'Only administrators see key status.');
    await rt.audit.record({
      type: 'audit.read',
      outcome: 'success',
      ...(await readerAuditBase(rt, req, reader)),
      details: { keys_status: true },
    });
    return json(await keyStatus(rt));
  });
}
