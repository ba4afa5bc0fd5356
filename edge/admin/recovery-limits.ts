/**
 * @module How many factor recoveries may be started in a day (docs/admin.md, "Factor recovery"):
 * per person recovered and per person starting them, counting every start of the last 24 hours
 * whatever became of it (cancelled ones too: start-then-cancel is how rows would pile up, and how a
 * person would be flooded with notices). recovery-routes.ts checks before a start (so a refused start
 * stores nothing) and again after it, by the start's place in line (so of racing starts only those
 * within the cap stand: the others are cancelled before anyone is told).
 */
import { blindIndexes } from '../crypto/blind-index';
import type { Keyring } from '../crypto/keyring';
import { placeholders } from '../factors/active-factors';

/** Recoveries of one person that may be started in any 24 hours. */
export const MAX_RECOVERY_STARTS_PER_PERSON_PER_DAY = 3;
/** Recoveries one person may start in any 24 hours (of anyone). */
export const MAX_RECOVERY_STARTS_PER_STARTER_PER_DAY = 20;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Why a start of `person` by `startedBy` is over a cap, or null when it is within both. Without
 * `started` (before starting): whether the day's starts already reached a cap. With it (the start
 * just made, as `{id, at}`): whether it came after the cap was reached, ordered by time, then id.
 */
export async function recoveryStartOverCap(
  db: D1Database,
  ring: Keyring,
  o: { person: string; startedBy: string; now: number; started?: { id: string; at: number } },
): Promise<string | null> {
  const people = await blindIndexes(ring, 'user', o.person);
  const starters = await blindIndexes(ring, 'user', o.startedBy);
  const since = o.now - DAY_MS;
  // Before starting: every start of the day. After: the starts up to and including this one.
  const upTo = o.started ? ' AND (started_at < ? OR (started_at = ? AND id <= ?))' : '';
  const mine = o.started ? [o.started.at, o.started.at, o.started.id] : [];
  const row = await db
    .prepare(
      `SELECT (SELECT COUNT(*) FROM recoveries WHERE started_at > ?${upTo} ` +
        `AND person_ref IN (${placeholders(people.length)})) AS person, ` +
        `(SELECT COUNT(*) FROM recoveries WHERE started_at > ?${upTo} ` +
        `AND started_by_ref IN (${placeholders(starters.length)})) AS starter`,
    )
    .bind(since, ...mine, ...people, since, ...mine, ...starters)
    .first<{ person: number; starter: number }>();
  // Before: a start would be one more. After: this one is counted.
  const over = (n: number, cap: number) => (o.started ? n > cap : n >= cap);
  if (row === null || over(row.person, MAX_RECOVERY_STARTS_PER_PERSON_PER_DAY)) {
    const times = MAX_RECOVERY_STARTS_PER_PERSON_PER_DAY;
    return `this person’s factors were already put under recovery ${times} times in the last 24 hours (cancelled ones count): wait a day`;
  }
  if (over(row.starter, MAX_RECOVERY_STARTS_PER_STARTER_PER_DAY)) {
    return `you started ${MAX_RECOVERY_STARTS_PER_STARTER_PER_DAY} recoveries in the last 24 hours: try again later, or ask someone else`;
  }
  return null;
}
