/** @module Prompt rationing: the prompts (extension approvals) one person may be sent, so push bombing meets a wall. */
import { backingOff, lockedOut, readFailures } from './failures';
import { MAX_PROMPTS_PER_MINUTE } from './limits';

/**
 * Count a prompt against the person's budget (MAX_PROMPTS_PER_MINUTE in any 60 s): refused, with
 * when to retry, once it is spent, and while the person backs off or is locked.
 */
export function allowPrompt(sql: SqlStorage, now: number): { ok: true } | { ok: false; retryAt: number } {
  // Denials from the person's other sessions count as failures: while they back the person
  // off, the prompts stop too, so a push-bombing session is slowed by every "deny".
  const f = readFailures(sql);
  if (backingOff(f, now)) return { ok: false, retryAt: lockedOut(f) ? now + 60_000 : f.lockedUntil };
  sweepPrompts(sql, now);
  const rows = sql.exec<{ at: number }>('SELECT at FROM prompts ORDER BY at ASC').toArray();
  if (rows.length >= MAX_PROMPTS_PER_MINUTE) return { ok: false, retryAt: rows[0]!.at + 60_000 };
  sql.exec('INSERT INTO prompts (at) VALUES (?)', now);
  return { ok: true };
}

/** Prompt records older than the minute they count in. */
export function sweepPrompts(sql: SqlStorage, now: number): void {
  sql.exec('DELETE FROM prompts WHERE at <= ?', now - 60_000);
}
