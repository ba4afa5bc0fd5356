/** @module Storing challenges in the UserState: insert (with its number to match), confirm, read, list pending, drop, sweep. */
import {
  CHALLENGE_TTL_MS,
  type Challenge,
  type ChallengeInput,
  type ChallengeRow,
  MAX_OPEN_CHALLENGES,
  matchNumber,
  newChallengeId,
  toChallenge,
} from './challenge';

/**
 * A stored challenge row with the columns the model does not carry: attempts so far, the number to
 * match and the wrong numbers typed so far, whether it was a prompt.
 */
export type StoredChallengeRow = ChallengeRow & { attempts: number; number: number; wrong_numbers: number; prompt: number };

/**
 * Store a new challenge (with a fresh 128-bit id unless given one) and return it. With `live: false`
 * it is stored unanswerable — no reader sees it — until `confirmChallenge`.
 */
export function insertChallenge(
  sql: SqlStorage,
  input: ChallengeInput & { prompt?: boolean },
  opts: { id?: string; live?: boolean; now: number },
): Challenge {
  const { now } = opts;
  const challenge: Challenge = {
    ...input,
    number: matchNumber(),
    id: opts.id ?? newChallengeId(),
    createdAt: now,
    expiresAt: now + CHALLENGE_TTL_MS,
    status: 'pending',
  };
  sql.exec(
    `INSERT INTO challenges (id, sid, rule, bind, factors, max_age, action_digest, action, matched_method,
                             created_at, expires_at, prompt, number, live)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    challenge.id,
    input.sid,
    input.rule,
    input.bind,
    JSON.stringify(input.factors),
    input.maxAgeSeconds,
    input.actionDigest,
    JSON.stringify({ ...input.action, summary: input.bodySummary ?? null, from: input.requestedFrom ?? null }),
    input.matchedMethod,
    now,
    challenge.expiresAt,
    input.prompt ? 1 : 0,
    challenge.number,
    opts.live === false ? 0 : 1,
  );
  return challenge;
}

/** Make room for one more under MAX_OPEN_CHALLENGES; returns the ids of the challenges dropped. */
export function dropOverOpenCap(sql: SqlStorage): string[] {
  const open = sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM challenges').one().n;
  if (open < MAX_OPEN_CHALLENGES) return [];
  // The oldest go first, but never one a request is held for (at most MAX_HELD_REQUESTS, far
  // below the cap) nor, while others remain, one a fetch is waiting on: nothing held is dropped.
  return sql
    .exec<{ id: string }>(
      `DELETE FROM challenges WHERE id IN (
         SELECT c.id FROM challenges c WHERE NOT EXISTS (SELECT 1 FROM held h WHERE h.challenge = c.id)
         ORDER BY c.prompt ASC, c.created_at ASC LIMIT ?) RETURNING id`,
      open - MAX_OPEN_CHALLENGES + 1,
    )
    .toArray()
    .map((d) => d.id);
}

/** Make a challenge stored with `live: false` answerable; false if it is gone. */
export function confirmChallenge(sql: SqlStorage, id: string, now: number): boolean {
  return sql.exec('UPDATE challenges SET live = 1 WHERE id = ? AND expires_at > ? RETURNING id', id, now).toArray().length === 1;
}

/** The challenge if it is unexpired and answerable (confirmed), whichever session it is for. */
export function liveChallengeRow(sql: SqlStorage, id: string, now: number): StoredChallengeRow | undefined {
  return sql.exec<StoredChallengeRow>('SELECT * FROM challenges WHERE id = ? AND expires_at > ? AND live = 1', id, now).toArray()[0];
}

/** This session's answerable challenges and the person's one-time (`bind: "action"`) ones of other sessions, newest first. */
export function pendingChallenges(sql: SqlStorage, sid: string, now: number): (Challenge & { prompt: boolean; otherSession: boolean })[] {
  return sql
    .exec<StoredChallengeRow>(
      "SELECT * FROM challenges WHERE expires_at > ? AND live = 1 AND (sid = ? OR bind = 'action') ORDER BY created_at DESC LIMIT 20",
      now,
      sid,
    )
    .toArray()
    .map((r) => ({ ...toChallenge(r), prompt: r.prompt === 1, otherSession: r.sid !== sid }));
}

export function deleteChallenge(sql: SqlStorage, id: string): void {
  sql.exec('DELETE FROM challenges WHERE id = ?', id);
}

/** Delete a challenge, returning its session and creation time (to take back its creation record), if it was there. */
export function takeBackChallenge(sql: SqlStorage, id: string): { sid: string; created_at: number } | undefined {
  return sql.exec<{ sid: string; created_at: number }>('DELETE FROM challenges WHERE id = ? RETURNING sid, created_at', id).toArray()[0];
}

/** Expired challenges go (their holds with them: `sweepHolds`). */
export function sweepChallenges(sql: SqlStorage, now: number): void {
  sql.exec('DELETE FROM challenges WHERE expires_at <= ?', now);
}
