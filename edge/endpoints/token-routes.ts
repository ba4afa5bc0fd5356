/**
 * @module Personal API tokens: create (in a browser, after a fresh step-up, with scopes the person's
 * roles in their organisation could use), list and revoke your own, and ask which token you hold
 * (`GET /.stepgate/api/tokens/current`, for the CLI). Where a token is accepted: admin-access.ts
 * (the admin API) and audit-access.ts (the audit log).
 */
import type { Hono } from 'hono';
import * as z from '../http/zod';
import { ErrorCode } from '../../shared/errors';
import {
  authenticateToken,
  createToken,
  listTokens,
  MAX_TOKEN_TTL_DAYS,
  revokeToken,
  TOKEN_SCOPES,
  type TokenInfo,
  TooManyTokens,
} from '../admin/api-tokens';
import { rolesOf } from '../admin/role-store';
import { scopeUsableBy } from '../admin/token-scopes';
import { hashRef } from '../audit/audit-log';
import type { Runtime } from '../deployment/runtime';
import { requireSameOriginJson } from '../http/csrf';
import { json, problem } from '../http/responses';
import { presentedToken, refuseToken, subjectOf } from './admin-access';
import { auditBase, jsonBody, requireIdentity, siteOf } from './endpoint-helpers';
import { requireAdminStepUp } from './fresh-step-up';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** A token as the API shows it (never its secret). */
const tokenJson = (t: TokenInfo) => ({
  id: t.id,
  org: t.org,
  label: t.label,
  scopes: t.scopes,
  created_at: iso(t.createdAt),
  expires_at: iso(t.expiresAt),
  revoked_at: iso(t.revokedAt),
  last_used_at: iso(t.lastUsedAt),
});

export function registerTokenRoutes(app: Hono, rt: Runtime): void {
  app.post('/.stepgate/api/tokens', async (c) => {
    const req = c.req.raw;
    // A token never makes a token: each one starts from a person who just confirmed it is them.
    refuseToken(req);
    requireSameOriginJson(req, siteOf(req.url).origin);
    const me = await requireIdentity(rt, req);
    const body = await jsonBody(
      req,
      z.strictObject({
        scopes: z.array(z.enum(TOKEN_SCOPES)).check(z.minLength(1), z.maxLength(TOKEN_SCOPES.length)),
        ttl_days: z._default(z.number().check(z.int(), z.gte(1), z.lte(MAX_TOKEN_TTL_DAYS)), 7),
        label: z.string().check(z.minLength(1), z.maxLength(64)),
      }),
    );
    // A token acts for its owner for days: made only after a step-up as strong as administration asks.
    await requireAdminStepUp(rt, req, me);
    // Only scopes the person's roles here could use: a token is never a way to more than they hold.
    const org = rt.app.org;
    const actor = { sub: me.sub, orgId: org, roles: await rolesOf(rt.db, rt.keys, org, me.sub) };
    const scopes = TOKEN_SCOPES.filter((s) => body.scopes.includes(s)); // one order, each once
    const unusable = scopes.filter((s) => !scopeUsableBy(actor, s));
    if (unusable.length > 0)
      return problem(ErrorCode.Forbidden, 403, `scopes: none of your roles in this organisation can use ${unusable.join(', ')}`);
    let made: Awaited<ReturnType<typeof createToken>>;
    try {
      made = await createToken(rt.db, rt.keys, me.sub, {
        scopes,
        ttlDays: body.ttl_days,
        label: body.label,
        now: rt.now(),
      });
    } catch (e) {
      if (e instanceof TooManyTokens) return problem(ErrorCode.Conflict, 409, `You have too many tokens: ${e.message}.`);
      throw e;
    }
    const { token, info } = made;
    try {
      await rt.audit.record({
        type: 'token.created',
        outcome: 'success',
        ...(await auditBase(req, me)),
        details: {
          token: await hashRef(info.id),
          org: info.org,
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
    return json({ ...tokenJson(info), token }, 201);
  });

  app.get('/.stepgate/api/tokens', async (c) => {
    refuseToken(c.req.raw);
    const me = await requireIdentity(rt, c.req.raw);
    return json({ tokens: (await listTokens(rt.db, rt.keys, me.sub)).map(tokenJson) });
  });

  // The token presented, described to its holder: whose it is, where it works, what it may do.
  app.get('/.stepgate/api/tokens/current', async (c) => {
    const presented = presentedToken(c.req.raw);
    const t = presented === null ? null : await authenticateToken(rt.db, rt.keys, presented, rt.now());
    if (!t)
      return problem(
        ErrorCode.IdentityRequired,
        401,
        presented === null
          ? 'Send a personal API token: Authorization: Bearer sgt.…'
          : 'That API token is not valid (malformed, unknown, expired or revoked).',
      );
    const info = (await listTokens(rt.db, rt.keys, t.sub)).find((x) => x.id === t.id);
    if (!info) return problem(ErrorCode.IdentityRequired, 401, 'That API token is not valid (malformed, unknown, expired or revoked).');
    return json({ ...tokenJson(info), user: subjectOf(t.org, t.sub) });
  });

  app.post('/.stepgate/api/tokens/:id/revoke', async (c) => {
    const req = c.req.raw;
    refuseToken(req);
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
