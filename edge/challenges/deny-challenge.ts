/** @module denyChallenge: the person refuses a step-up challenge; it is withdrawn, its held request refused, and the refusal recorded. */
import { type AuditLog, hashRef } from '../audit/audit-log';
import type { Identity } from '../identity/identity-source';
import type { UserState } from '../user-state/user-state';
import type { AuditWho } from './check-factor';

export interface DenyChallengeOptions {
  /** The challenge denied (the id in the URL). */
  challengeId: string;
  /** Who denies: the identified caller, in their own session. */
  me: Identity;
  /** The person's UserState. */
  userState: DurableObjectStub<UserState>;
  audit: AuditLog;
  /** Who acted, where: the common part of the record. */
  recordAs: AuditWho;
}

/** Deny a challenge of this person. False if there is no such challenge (expired, or not theirs to deny). */
export async function denyChallenge({ challengeId: id, me, userState, audit, recordAs }: DenyChallengeOptions): Promise<boolean> {
  // Withdrawn and its held request refused in any case; counted toward the back-off only when
  // another session of the person raised it (push bombing), and not while they back off.
  const ch = await userState.denyChallenge(id, me.sid);
  if (!ch) return false;
  await audit.record({
    type: 'request.denied',
    outcome: 'denied',
    ...recordAs,
    rule: ch.rule,
    reason: 'denied-by-user',
    details: {
      challenge: await hashRef(id),
      method: ch.action.method,
      path: ch.action.path,
      other_session: ch.otherSession,
      counted: ch.counted,
    },
  });
  return true;
}
