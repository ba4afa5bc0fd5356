/**
 * @module The person's own view of what is being done to them (/.stepgate/api/me/…): their notices
 * (a factor recovery someone started for them), cancelling such a recovery, and completing it once
 * it is approved and its waiting period is over (docs/admin.md, "Factor recovery"); and dismissing
 * the notice that an administrator revoked their factors ("Revocation"). Only their
 * identity is needed — they may have no factor left — and a write must be same-origin JSON
 * (cancelling and dismissing also from the extension: the safe direction, or only hiding a notice).
 */
import type { Hono } from 'hono';
import * as z from '../http/zod';
import { ErrorCode } from '../../shared/errors';
import type { RecoveryCompleted } from '../../shared/wire-shapes';
import { type Revoked, revokePerson } from '../admin/person-revocation';
import { cancelRecovery, claimCompletion, reopenRecovery } from '../admin/recovery-store';
import type { Runtime } from '../deployment/runtime';
import { INVITE_TTL_MS, issueRecoveryInvite } from '../factors/invites/invite-store';
import { requireSameOriginJson } from '../http/csrf';
import { json, problem } from '../http/responses';
import { jsonBody, requireIdentity, siteOf } from './endpoint-helpers';
import { recordRecoveryChange } from './recovery-events';
import { dismissNotice, forgetNotice, noticesOf } from './recovery-notices';

const RECOVERY_ID = /^[A-Za-z0-9_-]{1,64}$/;
const NONE = 'No such recovery under way for you.';
const EmptyBody = z.strictObject({});

export function registerMeRoutes(app: Hono, rt: Runtime): void {
  app.get('/.stepgate/api/me/notices', async (c) => {
    const me = await requireIdentity(rt, c.req.raw);
    return json(await noticesOf(rt, me));
  });

  app.post('/.stepgate/api/me/notices/:id/dismiss', async (c) => {
    const req = c.req.raw;
    requireSameOriginJson(req, siteOf(req.url).origin, rt.webauthnOrigins);
    const me = await requireIdentity(rt, req);
    await jsonBody(req, EmptyBody, { emptyBody: {} });
    // Why: only the caller's own Durable Object is touched, so nobody can dismiss another person's notice;
    // a recovery's notice is not dismissable (it is cancelled instead).
    if (!(await dismissNotice(rt, me, c.req.param('id')))) return problem(ErrorCode.NotFound, 404, 'No such notice to dismiss.');
    return json({ dismissed: true, id: c.req.param('id') });
  });

  app.post('/.stepgate/api/me/recoveries/:id/cancel', async (c) => {
    const req = c.req.raw;
    requireSameOriginJson(req, siteOf(req.url).origin, rt.webauthnOrigins);
    const me = await requireIdentity(rt, req);
    await jsonBody(req, EmptyBody, { emptyBody: {} });
    const id = c.req.param('id');
    if (!RECOVERY_ID.test(id)) return problem(ErrorCode.NotFound, 404, NONE);
    const r = await cancelRecovery(rt.db, rt.keys, { orgId: rt.app.org, id, now: rt.now(), by: 'person', person: me.sub });
    if (!r || r.person !== me.sub) return problem(ErrorCode.NotFound, 404, NONE);
    await forgetNotice(rt, me.sub, r.id);
    await recordRecoveryChange(rt, req, me, 'recovery.cancelled', r, { by: 'person' });
    return json({ cancelled: true, id: r.id });
  });

  app.post('/.stepgate/api/me/recoveries/:id/complete', async (c) => {
    const req = c.req.raw;
    // Only from the site's own pages: completing is followed by enrolling a new factor there.
    requireSameOriginJson(req, siteOf(req.url).origin);
    const me = await requireIdentity(rt, req);
    await jsonBody(req, EmptyBody, { emptyBody: {} });
    const id = c.req.param('id');
    if (!RECOVERY_ID.test(id)) return problem(ErrorCode.NotFound, 404, NONE);
    const now = rt.now();
    const claim = await claimCompletion(rt.db, rt.keys, { orgId: rt.app.org, id, person: me.sub, now });
    if (!claim.ok) {
      if (claim.code === 'not-found') return problem(ErrorCode.NotFound, 404, NONE);
      const r = claim.recovery!;
      if (claim.code === 'too-early' && r.effectiveAt !== null) {
        const at = new Date(r.effectiveAt).toISOString();
        return problem(ErrorCode.Conflict, 409, `This recovery takes effect at ${at}; complete it then.`, { retry_at: at });
      }
      const why = r.state === 'started' ? 'it is still waiting for a second person’s approval' : `it is ${r.state}`;
      return problem(ErrorCode.Conflict, 409, `This recovery cannot be completed: ${why}.`);
    }
    const r = claim.recovery;
    let revoked: Revoked;
    try {
      // Why: the lost factors (and any grant or token made with them) must stop working before a new one is enrolled.
      revoked = await revokePerson({
        db: rt.db,
        keys: rt.keys,
        userState: rt.userState(me.sub),
        person: me.sub,
        what: { factors: true, grants: true, tokens: true },
        now,
      });
    } catch (err) {
      console.error('stepgate: a recovery could not revoke the old factors:', err instanceof Error ? err.message : 'non-error');
      await reopenRecovery(rt.db, r.id);
      return problem(ErrorCode.Unavailable, 503, 'Your old factors could not be removed, so nothing changed. Try again.');
    }
    // After the revocation, which removes open invitations: this one is for the new first factor.
    const invite = await issueRecoveryInvite(rt.db, rt.keys, me.sub, r.approvedBy ?? r.startedBy, now);
    await forgetNotice(rt, me.sub, r.id);
    await recordRecoveryChange(rt, req, me, 'recovery.completed', r, {
      factors_revoked: revoked.factors,
      tokens_revoked: revoked.tokens,
      challenges: revoked.challenges,
      held: revoked.held,
    });
    const done: RecoveryCompleted = { completed: true, id: r.id, invite, invite_expires_at: new Date(now + INVITE_TTL_MS).toISOString() };
    return json(done);
  });
}
