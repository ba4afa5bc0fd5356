/**
 * @module requireFreshStepUp: the guard of Stepgate's sensitive endpoints (changing factors, reading
 * the audit log, administration). The caller must hold a fresh step-up: a grant of the reserved
 * rule `stepgate-factors`, minted by answering `POST /.stepgate/api/factors/step-up` minutes ago,
 * and after the person's grants were last revoked. Administration (requireAdminStepUp) asks more of
 * a person who has a passkey: a step-up made with it.
 */
import { ErrorCode } from '../../shared/errors';
import { STEP_UP_FACTORS_HEADER } from '../../shared/wire-shapes';
import type { Runtime } from '../deployment/runtime';
import { hasPasskey } from '../factors/webauthn/has-passkey';
import type { GrantClaims } from '../grants/grant-token';
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
/** The `amr` value (RFC 8176) a grant made with a passkey carries (edge/factors/webauthn/webauthn.ts: ["hwk", "user"]). */
export const PASSKEY_AMR = 'hwk';

const ANY_FACTOR_DETAIL = 'Confirm it is you with an existing factor first (POST /.stepgate/api/factors/step-up).';
const PASSKEY_DETAIL =
  'You have a passkey, so administration needs you to confirm it is you with the passkey: a code from an authenticator app ' +
  'or a recovery code is not enough (POST /.stepgate/api/factors/step-up, answered with method "webauthn"). ' +
  'Lost the passkey? Remove it from your factors (the extension’s options page, or POST /.stepgate/api/factors/remove: ' +
  'a code still works there), then confirm with a code.';

/** The person's fresh step-up grant, or null: none, invalid, expired, or from before their grants were revoked. */
async function freshGrant(rt: Runtime, req: Request, me: Identity): Promise<GrantClaims | null> {
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
  if (grant === null || grantRevoked(grant.auth_time, await rt.userState(me.sub).grantsRevokedAt())) return null;
  return grant;
}

/**
 * A fresh step-up of this person with any of their factors (a grant of `FRESH_STEP_UP_RULE`), or a
 * 403 thrown. For managing one's own factors: a person who lost their passkey must still be able
 * to remove it with a code.
 */
export async function requireFreshStepUp(rt: Runtime, req: Request, me: Identity): Promise<void> {
  if ((await freshGrant(rt, req, me)) === null) throw new StepgateError(ErrorCode.FreshStepUpRequired, 403, ANY_FACTOR_DETAIL);
}

/** Where an administrator stands: whether their step-up is good for administration, and what they must confirm with. */
export interface AdminStepUp {
  fresh: boolean;
  /** `passkey`: the person has one, and only a step-up made with it counts; `any`: any factor. */
  confirmWith: 'passkey' | 'any';
}

/**
 * The caller's step-up, judged for administration: a grant made with a passkey always counts; one
 * made with a code (TOTP, recovery code) counts only for a person who has no passkey — a phished
 * code must not be enough to administer anything for someone who holds a phishing-resistant factor.
 * Reads D1 once (does the person have a passkey?) unless the grant was made with a passkey.
 */
export async function adminStepUp(rt: Runtime, req: Request, me: Identity): Promise<AdminStepUp> {
  const grant = await freshGrant(rt, req, me);
  if (grant?.amr.includes(PASSKEY_AMR)) return { fresh: true, confirmWith: 'passkey' };
  const passkey = await hasPasskey(rt.db, rt.keys, me.sub);
  return { fresh: grant !== null && !passkey, confirmWith: passkey ? 'passkey' : 'any' };
}

/**
 * A fresh step-up good for administration (adminStepUp), or a 403 thrown. For a person with a
 * passkey the refusal says to confirm with it, and names the factor in the `Stepgate-Step-Up-Factors`
 * header (`webauthn`) so a client offers only that.
 *
 * @throws {StepgateError} 403 ERR_FRESH_STEP_UP_REQUIRED
 */
export async function requireAdminStepUp(rt: Runtime, req: Request, me: Identity): Promise<void> {
  const s = await adminStepUp(rt, req, me);
  if (s.fresh) return;
  if (s.confirmWith === 'passkey')
    throw new StepgateError(ErrorCode.FreshStepUpRequired, 403, PASSKEY_DETAIL, { headers: { [STEP_UP_FACTORS_HEADER]: 'webauthn' } });
  throw new StepgateError(ErrorCode.FreshStepUpRequired, 403, ANY_FACTOR_DETAIL);
}
