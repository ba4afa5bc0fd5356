/** @module Failure and back-off accounting: one person's consecutive failures, across all their sessions, and their back-off. */
import { backoffMs, MAX_CONSECUTIVE_FAILURES } from './limits';

/** The person's consecutive failures, and until when they back off (0: not backing off). */
export interface Failures {
  consecutive: number;
  lockedUntil: number;
}

export function readFailures(sql: SqlStorage): Failures {
  const r = sql
    .exec<{ consecutive: number; locked_until: number }>('SELECT consecutive, locked_until FROM failures WHERE id = 1')
    .toArray()[0];
  return { consecutive: r?.consecutive ?? 0, lockedUntil: r?.locked_until ?? 0 };
}

/**
 * Count one failure more than `before` (read in the same synchronous step: the object is the single
 * writer, so no other failure lands in between) and back the person off for the new count.
 */
export function countFailure(sql: SqlStorage, before: Failures, now: number): void {
  const consecutive = before.consecutive + 1;
  sql.exec(
    'INSERT INTO failures (id, consecutive, locked_until) VALUES (1, ?, ?) ON CONFLICT (id) ' +
      'DO UPDATE SET consecutive = excluded.consecutive, locked_until = excluded.locked_until',
    consecutive,
    now + backoffMs(consecutive),
  );
}

/** Clear the count and any back-off: a verified factor, or an administrator's unlock. */
export function clearFailures(sql: SqlStorage): void {
  sql.exec('DELETE FROM failures');
}

/** Locked until an administrator unlocks: the count reached MAX_CONSECUTIVE_FAILURES. */
export const lockedOut = (f: Failures): boolean => f.consecutive >= MAX_CONSECUTIVE_FAILURES;

/** Locked out, or backing off at `now`: no attempt may begin, no prompt is sent, a denial is not counted. */
export const backingOff = (f: Failures, now: number): boolean => lockedOut(f) || f.lockedUntil > now;

/** After a failed attempt: the failure count and when the person may try again (null: locked out). */
export function failureState(sql: SqlStorage, now: number): { consecutive: number; retryAt: number | null } {
  const f = readFailures(sql);
  return { consecutive: f.consecutive, retryAt: lockedOut(f) ? null : Math.max(f.lockedUntil, now) };
}
