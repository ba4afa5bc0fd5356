/**
 * @module What an administrator does to another person, each on the record: invite them to enrol
 * a first factor (enrolment `invite`), unlock them after a lockout. Who may act, and on whom, is
 * the caller's check (an administrator, with a fresh step-up, never on themselves).
 */
import type { AuditLog } from '../audit/audit-log';
import type { AuditDetails, AuditInput } from '../audit/events';
import type { Keyring } from '../crypto/keyring';
import { INVITE_TTL_MS, issueInvite } from '../factors/invites/invite-store';
import type { UserState } from '../user-state/user-state';

/** An administrator acting on another person. */
export interface AdminAction {
  /** The administrator's user id. */
  admin: string;
  /** The person acted upon. */
  user: string;
  audit: AuditLog;
  /** Who acted, where: the common part of the record. */
  recordAs: Pick<AuditInput, 'actor' | 'via' | 'app' | 'request'>;
  /** Where it was done (the organisation and app), added to the record's details. */
  context?: AuditDetails;
}

/** Issue a one-time invitation for `user` to enrol a first factor, valid for INVITE_TTL_MS. The code is shown once. */
export async function inviteToEnrol({
  admin,
  user,
  audit,
  recordAs,
  context,
  db,
  keys,
  now,
}: AdminAction & { db: D1Database; keys: Keyring; now: number }): Promise<{ code: string; expiresAt: number }> {
  const code = await issueInvite(db, keys, user, admin, now);
  const expiresAt = now + INVITE_TTL_MS;
  await audit.record({
    type: 'invite.created',
    outcome: 'success',
    ...recordAs,
    target: user,
    details: { ...context, expires_at: new Date(expiresAt).toISOString() },
  });
  return { code, expiresAt };
}

/** Unlock a person (their consecutive failures and back-off cleared); how many consecutive failures they had. */
export async function unlockPerson({
  user,
  audit,
  recordAs,
  context,
  userState,
}: AdminAction & { userState: DurableObjectStub<UserState> }): Promise<{ consecutiveFailures: number }> {
  const was = await userState.unlock();
  await audit.record({
    type: 'user.unlocked',
    outcome: 'success',
    ...recordAs,
    target: user,
    details: { ...context, consecutive_failures: was.consecutive },
  });
  return { consecutiveFailures: was.consecutive };
}
