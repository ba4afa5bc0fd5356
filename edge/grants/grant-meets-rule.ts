/**
 * @module grantMeetsRule(): whether a session grant still satisfies its rule as the active policy
 * version has it now. A grant names its rule by id only; a newer version may have made the same
 * rule stricter (fewer factors, a shorter maxAge), and a strengthening version applies at once
 * (docs/policy.md), so a grant made under the older requirement must not outlive it.
 */

/** The factor a grant's `amr` (RFC 8176 values, as the factors write them) stands for, or null when unknown. */
function factorOf(amr: readonly string[]): 'webauthn' | 'totp' | 'recovery' | null {
  if (amr.includes('hwk') || amr.includes('swk')) return 'webauthn';
  if (amr.includes('otp')) return 'totp';
  if (amr.includes('recovery')) return 'recovery';
  return null;
}

/**
 * Whether a grant (its factor and the time of its step-up, seconds) meets the rule's factors and
 * maxAge at `nowSeconds`. An `amr` naming no known factor meets nothing (fail closed).
 */
export function grantMeetsRule(
  grant: { amr: readonly string[]; auth_time: number },
  rule: { factors: readonly string[]; maxAgeSeconds: number },
  nowSeconds: number,
): boolean {
  const factor = factorOf(grant.amr);
  if (factor === null || !rule.factors.includes(factor)) return false;
  return nowSeconds - grant.auth_time <= rule.maxAgeSeconds;
}
