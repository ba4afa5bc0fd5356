/**
 * @module requireFreshStepUp: the guard of Stepgate's sensitive endpoints (changing factors, reading
 * the audit log, administration). The caller must hold a grant of the reserved rule
 * `stepgate-factors`, minted by answering `POST /.stepgate/api/factors/step-up` minutes ago.
 */
import { ErrorCode } from '../../shared/errors';
import type { Runtime } from '../deployment/runtime';
import { presentedGrant } from '../grants/grant-cookie';
import { verifyGrant } from '../grants/grant-token';
import { StepgateError } from '../http/stepgate-error';
import type { Identity } from '../identity/identity-source';

/** The reserved rule whose grant lets a person change their own factors. */
export const FACTORS_RULE = 'stepgate-factors';
export const FACTORS_MAX_AGE = 300;

/** A fresh step-up of this person (the grant of the reserved rule `stepgate-factors`), or a 403 thrown. */
export async function requireFreshStepUp(rt: Runtime, req: Request, me: Identity): Promise<void> {
  const token = presentedGrant(req, FACTORS_RULE, new URL(req.url).protocol === 'https:');
  const ok =
    token !== null &&
    (await verifyGrant(rt.keys, token, {
      sub: me.sub,
      sid: me.sid,
      aud: new URL(req.url).hostname,
      rule: FACTORS_RULE,
      now: Math.floor(rt.now() / 1000),
    })) !== null;
  if (!ok) {
    throw new StepgateError(
      ErrorCode.FreshStepUpRequired,
      403,
      'Confirm it is you with an existing factor first (POST /.stepgate/api/factors/step-up).',
    );
  }
}
