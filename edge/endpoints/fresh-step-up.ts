/**
 * @module requireFreshStepUp: the guard of Stepgate's sensitive endpoints (changing factors, reading
 * the audit log, administration). The caller must hold a fresh step-up: a grant of the reserved
 * rule `stepgate-factors`, minted by answering `POST /.stepgate/api/factors/step-up` minutes ago,
 * and after the person's grants were last revoked.
 */
import { ErrorCode } from '../../shared/errors';
import type { Runtime } from '../deployment/runtime';
import { verifyPresentedGrant } from '../grants/verify-presented-grant';
import { StepgateError } from '../http/stepgate-error';
import type { Identity } from '../identity/identity-source';
import { grantRevoked } from '../user-state/revocation';
import { siteOf } from './endpoint-helpers';

/**
 * The reserved rule of the fresh step-up. The id keeps its first name, `stepgate-factors`: it is in
 * grant cookies, audit events and clients.
 */
export const FRESH_STEP_UP_RULE = 'stepgate-factors';
/** How long a fresh step-up lasts, in seconds. */
export const FRESH_STEP_UP_MAX_AGE = 300;

/** A fresh step-up of this person (a grant of `FRESH_STEP_UP_RULE`), or a 403 thrown. */
export async function requireFreshStepUp(rt: Runtime, req: Request, me: Identity): Promise<void> {
  const site = siteOf(req.url);
  const grant = await verifyPresentedGrant(rt.keys, req, {
    rule: FRESH_STEP_UP_RULE,
    sub: me.sub,
    sid: me.sid,
    hostname: site.hostname,
    secure: site.https,
    now: Math.floor(rt.now() / 1000),
  });
  // A step-up from before the person's grants were revoked is no step-up (one call to their Durable Object).
  if (grant === null || grantRevoked(grant.auth_time, await rt.userState(me.sub).grantsRevokedAt())) {
    throw new StepgateError(
      ErrorCode.FreshStepUpRequired,
      403,
      'Confirm it is you with an existing factor first (POST /.stepgate/api/factors/step-up).',
    );
  }
}
