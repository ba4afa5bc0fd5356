/**
 * @module requireFreshStepUp: the guard of Stepgate's sensitive endpoints (changing factors, reading
 * the audit log, administration). The caller must hold a grant of the reserved rule
 * `stepgate-factors`, minted by answering `POST /.stepgate/api/factors/step-up` minutes ago.
 */
import { ErrorCode } from '../../shared/errors';
import type { Runtime } from '../deployment/runtime';
import { StepgateError } from '../http/stepgate-error';
import type { Identity } from '../identity/identity-source';
import { verifyPresentedGrant } from '../grants/verify-presented-grant';

/** The reserved rule whose grant lets a person change their own factors. */
export const FACTORS_RULE = 'stepgate-factors';
export const FACTORS_MAX_AGE = 300;

/** A fresh step-up of this person (the grant of the reserved rule `stepgate-factors`), or a 403 thrown. */
export async function requireFreshStepUp(rt: Runtime, req: Request, me: Identity): Promise<void> {
  const url = new URL(req.url);
  const grant = await verifyPresentedGrant(rt.keys, req, {
    rule: FACTORS_RULE,
    sub: me.sub,
    sid: me.sid,
    hostname: url.hostname,
    secure: url.protocol === 'https:',
    now: Math.floor(rt.now() / 1000),
  });
  const ok = grant !== null;
  if (!ok) {
    throw new StepgateError(
      ErrorCode.FreshStepUpRequired,
      403,
      'Confirm it is you with an existing factor first (POST /.stepgate/api/factors/step-up).',
    );
  }
}
