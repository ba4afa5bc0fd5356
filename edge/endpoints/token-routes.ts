/**
 * @module Personal API tokens: create (after a fresh step-up; `audit:read` only for administrators
 * and auditors), list and revoke your own. A token only reads: see audit-access.ts for where it is
 * accepted.
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import { ErrorCode } from '../../shared/errors';
import { createToken, listTokens, MAX_TOKEN_TTL_DAYS, revokeToken, TOKEN_SCOPES } from '../admin/api-tokens';
import { hashRef } from '../audit/audit-log';
import type { Runtime } from '../deployment/runtime';
import { requireSameOriginJson } from '../http/csrf';
import { json, problem } from '../http/responses';
import { roleOf } from './audit-access';
import { auditBase, jsonBody, requireIdentity, siteOf } from './endpoint-helpers';
import { requireFreshStepUp } from './fresh-step-up';

export function registerTokenRoutes(app: Hono, rt: Runtime): void {
  app.post('/.stepgate/api/tokens', async (c) => {
    const req = c.req.raw;
    requireSameOriginJson(req, siteOf(req.url).origin);
    const me = await requireIdentity(rt, req);
    const body = await jsonBody(
      req,
      z.strictObject({
        scopes: z.array(z.enum(TOKEN_SCOPES)).min(1).max(TOKEN_SCOPES.length),
        ttl_days: z.number().int().min(1).max(MAX_TOKEN_TTL_DAYS).default(7),
        label: z.string().min(1).max(64),
      }),
    );
    if (body.scopes.includes('audit:read') && !(await roleOf(rt, me.sub)))
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
    requireSameOriginJson(req, siteOf(req.url).origin);
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
