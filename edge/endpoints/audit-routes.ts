/**
 * @module The audit read side and personal API tokens. Readers are administrators (ADMINS) and
 * auditors (AUDITORS); in a browser they need a fresh step-up, from the CLI a personal token with
 * scope `audit:read`. Every read, export and verification is itself an audit event, recorded
 * before the data leaves (fail closed).
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import { fromBase64url, base64url } from '../../shared/base64';
import { ErrorCode } from '../../shared/errors';
import { authenticateToken, createToken, listTokens, MAX_TOKEN_TTL_DAYS, revokeToken, TOKEN_SCOPES } from '../admin/api-tokens';
import { hashRef } from '../audit/audit-log';
import { AuditIntegrityError, listCheckpoints, listEvents, verifyTenant, type AuditFilter } from '../audit/audit-store';
import { checkpointJwks } from '../audit/checkpoint';
import { AUDIT_TYPES, isAuditType, type AuditOutcome, type AuditType } from '../audit/events';
import { CONTENT_TYPES, csvHeader, csvRow, EXPORT_FORMATS, toOcsf, type ExportFormat } from '../audit/export-formats';
import { keyStatus, runMaintenance } from '../audit/maintenance';
import { StepgateError } from '../http/stepgate-error';
import { requireSameOriginJson } from '../http/csrf';
import { json, problem, secure } from '../http/responses';
import type { Runtime } from '../deployment/runtime';
import { requireFreshStepUp } from './fresh-step-up';
import { auditBase, jsonBody, originOf, requireIdentity } from './endpoint-helpers';

type Role = 'admin' | 'auditor';
interface Reader {
  sub: string;
  role: Role;
  via: 'session' | 'token';
}

const roleOf = (rt: Runtime, sub: string): Role | null =>
  rt.admins.includes(sub) ? 'admin' : rt.auditors.includes(sub) ? 'auditor' : null;

/** The reader of an audit endpoint: a token with `audit:read`, or a stepped-up session, of an admin or auditor. */
async function requireReader(rt: Runtime, req: Request): Promise<Reader> {
  const auth = req.headers.get('authorization');
  // A Stepgate token is `sgt.…`; any other bearer (an app's own JWT) is the identity source's to read.
  const m = auth === null ? null : /^Bearer\s+(sgt\.\S*)$/i.exec(auth);
  if (m) {
    const t = await authenticateToken(rt.db, rt.keys, m[1]!, rt.now());
    if (!t)
      throw new StepgateError(ErrorCode.IdentityRequired, 401, 'That API token is not valid (malformed, unknown, expired or revoked).');
    if (!t.scopes.includes('audit:read'))
      throw new StepgateError(ErrorCode.Forbidden, 403, 'That token does not have the audit:read scope.');
    const role = roleOf(rt, t.sub);
    if (!role) throw new StepgateError(ErrorCode.Forbidden, 403, 'Only administrators and auditors read the audit log.');
    return { sub: t.sub, role, via: 'token' };
  }
  const me = await requireIdentity(rt, req);
  const role = roleOf(rt, me.sub);
  if (!role) throw new StepgateError(ErrorCode.Forbidden, 403, 'Only administrators and auditors read the audit log.');
  await requireFreshStepUp(rt, req, me);
  return { sub: me.sub, role, via: 'session' };
}

/** An administrator in a stepped-up browser session (changes are never made with a token). */
async function requireAdmin(rt: Runtime, req: Request): Promise<Reader> {
  requireSameOriginJson(req, originOf(req.url));
  const me = await requireIdentity(rt, req);
  if (roleOf(rt, me.sub) !== 'admin') throw new StepgateError(ErrorCode.Forbidden, 403, 'Only administrators do this.');
  await requireFreshStepUp(rt, req, me);
  return { sub: me.sub, role: 'admin', via: 'session' };
}

const base = async (req: Request, r: Reader) => auditBase(req, { sub: r.sub }, r.via);

const time = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined || v === '') return undefined;
  const n = /^\d{1,15}$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n)) throw new StepgateError(ErrorCode.BadRequest, 400, `${name}: not a time (ISO 8601 or milliseconds)`);
  return n;
};

/** Parse the filters of a listing or export. @throws {StepgateError} 400 naming the parameter */
function filterOf(q: URLSearchParams): AuditFilter {
  const f: AuditFilter = {};
  const from = time('from', q.get('from') ?? undefined);
  const to = time('to', q.get('to') ?? undefined);
  if (from !== undefined) f.from = from;
  if (to !== undefined) f.to = to;
  for (const k of ['user', 'ip', 'app'] as const) {
    const v = q.get(k);
    if (v !== null && v !== '') {
      if (v.length > 256) throw new StepgateError(ErrorCode.BadRequest, 400, `${k}: too long`);
      f[k] = v;
    }
  }
  const types = q.get('type');
  if (types) {
    const list = types.split(',').map((t) => t.trim());
    const bad = list.find((t) => !isAuditType(t));
    if (bad !== undefined)
      throw new StepgateError(ErrorCode.BadRequest, 400, `type: "${bad.slice(0, 40)}" is not an event type (${AUDIT_TYPES.join(', ')})`);
    f.types = list as AuditType[];
  }
  const outcome = q.get('outcome');
  if (outcome) {
    if (!['success', 'failure', 'denied', 'info'].includes(outcome))
      throw new StepgateError(ErrorCode.BadRequest, 400, 'outcome: one of success, failure, denied, info');
    f.outcome = outcome as AuditOutcome;
  }
  return f;
}

const intParam = (q: URLSearchParams, name: string, def: number, min: number, max: number): number => {
  const v = q.get(name);
  if (v === null || v === '') return def;
  if (!/^\d{1,12}$/.test(v)) throw new StepgateError(ErrorCode.BadRequest, 400, `${name}: a whole number`);
  const n = Number(v);
  if (n < min || n > max) throw new StepgateError(ErrorCode.BadRequest, 400, `${name}: between ${min} and ${max}`);
  return n;
};

/** A cursor is where the last page ended, opaque to clients. */
const encodeCursor = (order: string, seq: number) => base64url(new TextEncoder().encode(`${order}.${seq}`));
function decodeCursor(cursor: string | null, order: string): number | undefined {
  if (!cursor) return undefined;
  let text = '';
  try {
    text = new TextDecoder().decode(fromBase64url(cursor));
  } catch {
    // fall through
  }
  const m = /^(asc|desc)\.(\d{1,15})$/.exec(text);
  if (!m || m[1] !== order) throw new StepgateError(ErrorCode.BadRequest, 400, 'cursor: not a cursor from this listing (with this order)');
  return Number(m[2]);
}

/** The filters as recorded in audit.read / audit.exported (the person filtered by, as a hash). */
async function filterDetails(f: AuditFilter): Promise<Record<string, string | number | null | string[]>> {
  return {
    from: f.from === undefined ? null : new Date(f.from).toISOString(),
    to: f.to === undefined ? null : new Date(f.to).toISOString(),
    user: f.user === undefined ? null : await hashRef(f.user),
    ip: f.ip === undefined ? null : await hashRef(f.ip),
    app: f.app ?? null,
    types: f.types ?? null,
    outcome: f.outcome ?? null,
  };
}

export function registerAuditRoutes(app: Hono, rt: Runtime): void {
  // Live and retired (verify-only) keys: every export ever taken verifies against this set.
  app.get('/.well-known/stepgate/audit-jwks.json', async () =>
    json(await checkpointJwks(rt.keys, { retired: true }), 200, { 'cache-control': 'public, max-age=300' }),
  );

  app.get('/.stepgate/api/admin/audit/events', async (c) => {
    const req = c.req.raw;
    const reader = await requireReader(rt, req);
    const q = new URL(req.url).searchParams;
    const filter = filterOf(q);
    const order = q.get('order') === 'asc' ? 'asc' : 'desc';
    const limit = intParam(q, 'limit', 50, 1, 500);
    const after = decodeCursor(q.get('cursor'), order);
    await rt.audit.record({ type: 'audit.read', outcome: 'success', ...(await base(req, reader)), details: await filterDetails(filter) });
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

  app.get('/.stepgate/api/admin/audit/export', async (c) => {
    const req = c.req.raw;
    const reader = await requireReader(rt, req);
    const q = new URL(req.url).searchParams;
    const format = (q.get('format') ?? 'ndjson') as ExportFormat;
    if (!EXPORT_FORMATS.includes(format)) return problem(ErrorCode.BadRequest, 400, `format: one of ${EXPORT_FORMATS.join(', ')}`);
    const filter = filterOf(q);
    await rt.audit.record({
      type: 'audit.exported',
      outcome: 'success',
      ...(await base(req, reader)),
      details: { format, ...(await filterDetails(filter)) },
    });
    const stream = exportStream(rt, filter, format);
    const h = secure(
      new Headers({
        'content-type': CONTENT_TYPES[format],
        'content-disposition': `attachment; filename="stepgate-audit.${format === 'csv' ? 'csv' : 'ndjson'}"`,
      }),
    );
    return new Response(stream, { headers: h });
  });

  app.get('/.stepgate/api/admin/audit/verify', async (c) => {
    const req = c.req.raw;
    const reader = await requireReader(rt, req);
    const q = new URL(req.url).searchParams;
    const from = intParam(q, 'from', 1, 1, Number.MAX_SAFE_INTEGER);
    const limit = intParam(q, 'limit', 1000, 1, 5000);
    const head = await rt.auditSequencer().currentHead(rt.audit.tenant);
    const report = await verifyTenant(rt.db, rt.keys, rt.audit.tenant, head, from, limit);
    await rt.audit.record({
      type: 'audit.verified',
      outcome: report.ok ? 'success' : 'failure',
      ...(await base(req, reader)),
      details: report.ok
        ? { from: report.from, to: report.to, rows: report.rows, complete: report.complete }
        : { from, seq: report.seq, problem: report.problem },
    });
    return json({ ...report, head_seq: head.seq });
  });

  app.get('/.stepgate/api/admin/audit/checkpoints', async (c) => {
    const reader = await requireReader(rt, c.req.raw);
    const q = new URL(c.req.url).searchParams;
    const from = intParam(q, 'from', 0, 0, Number.MAX_SAFE_INTEGER);
    await rt.audit.record({
      type: 'audit.read',
      outcome: 'success',
      ...(await base(c.req.raw, reader)),
      details: { checkpoints_from: from },
    });
    return json({
      checkpoints: (await listCheckpoints(rt.db, rt.audit.tenant, from)).slice(0, 1000),
      jwks: '/.well-known/stepgate/audit-jwks.json',
    });
  });

  app.post('/.stepgate/api/admin/maintenance', async (c) => {
    const req = c.req.raw;
    const admin = await requireAdmin(rt, req);
    await jsonBody(req, z.strictObject({}));
    const report = await runMaintenance(rt, { actor: admin.sub, base: await base(req, admin) });
    return json(report);
  });

  app.get('/.stepgate/api/admin/keys', async (c) => {
    const req = c.req.raw;
    const reader = await requireReader(rt, req);
    if (reader.role !== 'admin') return problem(ErrorCode.Forbidden, 403, 'Only administrators see key status.');
    await rt.audit.record({ type: 'audit.read', outcome: 'success', ...(await base(req, reader)), details: { keys_status: true } });
    return json(await keyStatus(rt));
  });

  // ---- personal API tokens ----

  app.post('/.stepgate/api/tokens', async (c) => {
    const req = c.req.raw;
    requireSameOriginJson(req, originOf(req.url));
    const me = await requireIdentity(rt, req);
    const body = await jsonBody(
      req,
      z.strictObject({
        scopes: z.array(z.enum(TOKEN_SCOPES)).min(1).max(TOKEN_SCOPES.length),
        ttl_days: z.number().int().min(1).max(MAX_TOKEN_TTL_DAYS).default(7),
        label: z.string().min(1).max(64),
      }),
    );
    if (body.scopes.includes('audit:read') && !roleOf(rt, me.sub))
      return problem(ErrorCode.Forbidden, 403, 'Only administrators and auditors may have audit:read.');
    await requireFreshStepUp(rt, req, me);
    const { token, info } = await createToken(rt.db, rt.keys, me.sub, {
      scopes: body.scopes,
      ttlDays: body.ttl_days,
      label: body.label,
      now: rt.now(),
    });
    try {
      await rt.audit.record({
        type: 'token.created',
        outcome: 'success',
        ...(await auditBase(req, me)),
        details: {
          token: await hashRef(info.id),
          scopes: info.scopes,
          expires_at: new Date(info.expiresAt).toISOString(),
          label: info.label,
        },
      });
    } catch (err) {
      // A token that is not on the record must never work: it is revoked before the 503.
      await revokeToken(rt.db, rt.keys, me.sub, info.id, rt.now());
      throw err;
    }
    return json({ id: info.id, token, scopes: info.scopes, expires_at: new Date(info.expiresAt).toISOString(), label: info.label }, 201);
  });

  app.get('/.stepgate/api/tokens', async (c) => {
    const me = await requireIdentity(rt, c.req.raw);
    const list = await listTokens(rt.db, rt.keys, me.sub);
    return json({
      tokens: list.map((t) => ({
        id: t.id,
        label: t.label,
        scopes: t.scopes,
        created_at: new Date(t.createdAt).toISOString(),
        expires_at: new Date(t.expiresAt).toISOString(),
        revoked_at: t.revokedAt === null ? null : new Date(t.revokedAt).toISOString(),
        last_used_at: t.lastUsedAt === null ? null : new Date(t.lastUsedAt).toISOString(),
      })),
    });
  });

  app.post('/.stepgate/api/tokens/:id/revoke', async (c) => {
    const req = c.req.raw;
    requireSameOriginJson(req, originOf(req.url));
    const me = await requireIdentity(rt, req);
    await jsonBody(req, z.strictObject({}));
    const id = c.req.param('id');
    if (!(await revokeToken(rt.db, rt.keys, me.sub, id, rt.now()))) return problem(ErrorCode.NotFound, 404, 'No such live token of yours.');
    await rt.audit.record({
      type: 'token.revoked',
      outcome: 'success',
      ...(await auditBase(req, me)),
      details: { token: await hashRef(id) },
    });
    return json({ revoked: true, id });
  });
}

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
        const page = await listEvents(rt.db, rt.keys, rt.audit.tenant, filter, {
          limit: 500,
          order: 'asc',
          ...(after === undefined ? {} : { after }),
        });
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
        out +=
          format === 'csv'
            ? `# export stopped: audit row ${seq ?? '?'} does not open; run verify\r\n`
            : `${JSON.stringify({ error: 'integrity', seq })}\n`;
        done = true;
      }
      controller.enqueue(enc.encode(out));
    },
  });
}
