/** @module What expires in the UserState: the sweep before each new challenge, the alarm's sweep, and when the next alarm is due. */
import { sweepApprovals } from './approvals';
import { sweepChallenges } from './challenge-store';
import { sweepCreationLog } from './creation-log';
import { sweepHolds } from './held-requests';
import { sweepPrompts } from './prompts';
import { sweepWebauthnChallenges } from './webauthn-challenges';

/** Expired challenges go, with the holds that were waiting for them; expired holds and old creation records too. */
export function sweepChallengeState(sql: SqlStorage, now: number): void {
  sweepChallenges(sql, now);
  sweepHolds(sql, now);
  sweepCreationLog(sql, now);
}

/** The alarm's sweep: everything expired. Returns when the next thing expires (null: nothing left to sweep). */
export function sweepExpired(sql: SqlStorage, now: number): number | null {
  sweepChallengeState(sql, now);
  sweepApprovals(sql, now);
  sweepWebauthnChallenges(sql, now);
  sweepPrompts(sql, now);
  return sql
    .exec<{ t: number | null }>(
      'SELECT MIN(t) AS t FROM (SELECT MIN(expires_at) AS t FROM challenges UNION ALL ' +
        'SELECT MIN(expires_at) FROM approvals UNION ALL SELECT MIN(expires_at) FROM held)',
    )
    .one().t;
}
