/**
 * @module Number matching inside the UserState: an approval from another session of the person must
 * carry the number shown where the request was made, typed by the person. A wrong (or missing)
 * number is counted on the challenge; at MAX_WRONG_NUMBERS the challenge is denied, so guessing is
 * bounded per challenge whatever the order or concurrency of the answers.
 */
import { deleteChallenge, type StoredChallengeRow } from './challenge-store';
import { dropHold } from './held-requests';

/** Wrong numbers one challenge allows: the last one denies it. With three digits a guess wins at most 3 times in 900. */
export const MAX_WRONG_NUMBERS = 3;

/** What number matching says of an attempt: nothing to match (this session's own challenge, or the right number), or a refusal. */
export type NumberCheck =
  | { ok: true }
  /** Wrong: the person may type it again, `triesLeft` more times (at least 1). */
  | { ok: false; reason: 'number-mismatch'; triesLeft: number }
  /** Wrong for the last time: the challenge and its held request are gone; the caller wakes a waiting request as denied. */
  | { ok: false; reason: 'number-denied' };

/**
 * Check the number of an attempt on `row` by session `sid`. Synchronous in the object (its single
 * writer): the count read and written here cannot interleave with another attempt's.
 */
export function checkNumber(sql: SqlStorage, row: StoredChallengeRow, sid: string, number: number | undefined): NumberCheck {
  if (row.sid === sid || number === row.number) return { ok: true };
  const wrong = (row.wrong_numbers ?? 0) + 1;
  if (wrong >= MAX_WRONG_NUMBERS) {
    deleteChallenge(sql, row.id);
    dropHold(sql, row.id);
    return { ok: false, reason: 'number-denied' };
  }
  sql.exec('UPDATE challenges SET wrong_numbers = ? WHERE id = ?', wrong, row.id);
  return { ok: false, reason: 'number-mismatch', triesLeft: MAX_WRONG_NUMBERS - wrong };
}
