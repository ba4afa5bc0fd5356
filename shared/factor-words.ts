/**
 * @module The factors a person has, in words ("You have a passkey and an authenticator app, and 10
 * recovery codes left."): drawn by the enrolment page (edge/pages/enrol-parts.ts) and redrawn by its
 * script after a factor is added (edge/browser/enrol.ts), so both say it the same way.
 */

/** How many of each factor a person has. */
export interface FactorCounts {
  passkeys: number;
  apps: number;
  recoveryCodesLeft: number;
}

const count = (n: number, one: string, many: string) => (n === 0 ? '' : n === 1 ? one : `${n} ${many}`);

/** The person's factors as one sentence. */
export function factorSummary(p: FactorCounts): string {
  const have = [count(p.passkeys, 'a passkey', 'passkeys'), count(p.apps, 'an authenticator app', 'authenticator apps')].filter(Boolean);
  if (have.length === 0) return 'You have no factor yet.';
  const codes = p.recoveryCodesLeft === 1 ? '1 recovery code' : `${p.recoveryCodesLeft} recovery codes`;
  return `You have ${have.join(' and ')}, and ${codes} left.`;
}
