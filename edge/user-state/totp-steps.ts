/** @module TOTP step replay: the last time step accepted for each authenticator-app factor. */

/**
 * Record that a TOTP code of `factor` for time step `step` was used. True only for a step later
 * than every step accepted before, so a code — or an older one — can never be replayed, from
 * any session, however many requests race (the object is the single writer, and the read and the
 * write below happen in one synchronous step).
 */
export function acceptTotpStep(sql: SqlStorage, factor: string, step: number): boolean {
  if (!Number.isSafeInteger(step) || step < 0) return false;
  const row = sql.exec<{ last_step: number }>('SELECT last_step FROM totp_steps WHERE factor = ?', factor).toArray()[0];
  if (row && row.last_step >= step) return false;
  sql.exec(
    'INSERT INTO totp_steps (factor, last_step) VALUES (?, ?) ON CONFLICT (factor) DO UPDATE SET last_step = excluded.last_step',
    factor,
    step,
  );
  return true;
}
