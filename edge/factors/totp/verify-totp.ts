/**
 * @module verifyTotp: check an authenticator-app code (RFC 6238; SHA-1, 6 digits, 30 s by default
 * for app compatibility) within ±1 time step, returning the time step so the caller can make sure
 * each step is accepted at most once per user (UserState.acceptTotpStep).
 */
import { verify } from 'otplib';

export interface TotpParams {
  algorithm?: 'sha1' | 'sha256' | 'sha512';
  digits?: 6 | 8;
  period?: number;
}

export type TotpResult = { ok: true; timeStep: number } | { ok: false; reason: 'malformed' | 'invalid' };

/**
 * Verify `code` against a base32 `secret` at `epochSeconds`.
 * Never throws for user input: a malformed code is `malformed`, a wrong one `invalid`.
 */
export async function verifyTotp(secret: string, code: string, epochSeconds: number, params: TotpParams = {}): Promise<TotpResult> {
  const digits = params.digits ?? 6;
  // Why: only exact digit strings are codes; "12 34 56" or "１２３４５６" must not reach the comparison.
  if (!new RegExp(`^[0-9]{${digits}}$`).test(code)) return { ok: false, reason: 'malformed' };
  const period = params.period ?? 30;
  try {
    const r = await verify({
      secret,
      token: code,
      algorithm: params.algorithm ?? 'sha1',
      digits,
      period,
      epoch: epochSeconds,
      epochTolerance: period, // ±1 step
    });
    return r.valid && 'timeStep' in r ? { ok: true, timeStep: r.timeStep } : { ok: false, reason: 'invalid' };
  } catch {
    return { ok: false, reason: 'invalid' };
  }
}
