/**
 * @module UserState: the Durable Object that is the single writer for one user's step-up state:
 * challenges and their attempts, action approvals, TOTP steps, failure counters, the prompt
 * ration, held requests and WebAuthn ceremonies. Because one object serializes every call, each
 * read-then-write below is atomic across all of the person's sessions. The class is the RPC surface;
 * each job is a module of functions over the object's SQLite storage beside it (the challenge model
 * in challenge.ts, the limits in limits.ts, the storage schema in schema.ts).
 */
import { DurableObject } from 'cloudflare:workers';
import { consumeApproval } from './approvals';
import { beginAttempt, completeChallenge, denyChallenge } from './attempts';
import { type Challenge, type ChallengeInput, isChallengeId, toChallenge } from './challenge';
import {
  confirmChallenge,
  dropOverOpenCap,
  insertChallenge,
  liveChallengeRow,
  pendingChallenges,
  takeBackChallenge,
} from './challenge-store';
import { creationRefusal, forgetCreation, logCreation } from './creation-log';
import { type DecisionWaiters, decide, waitForDecision } from './decision-waiters';
import { sweepChallengeState, sweepExpired } from './expiry';
import { clearFailures, failureState, lockedOut, readFailures } from './failures';
import { dropHold, holdRefusal, holdRequest, takeHeldRequest } from './held-requests';
import { MAX_ATTEMPTS_PER_CHALLENGE, MAX_HELD_BYTES } from './limits';
import { clearNotice, listNotices, type Notice, putNotice } from './notices';
import type { Approval, AttemptResult, ChallengeRefusal, Decision } from './results';
import { allowPrompt } from './prompts';
import { grantsRevokedAt, revokeState } from './revocation';
import { migrate } from './schema';
import { acceptTotpStep } from './totp-steps';
import { dropWebauthnChallenges, putWebauthnChallenge, takeWebauthnChallenge } from './webauthn-challenges';

export class UserState extends DurableObject<Record<string, unknown>> {
  private readonly sql: SqlStorage;
  /** Requests held while their challenge is answered in the extension, by challenge id. */
  private readonly waiters: DecisionWaiters = new Map();
  /** Injectable clock for tests. */
  now: () => number = Date.now;

  constructor(ctx: DurableObjectState, env: Record<string, unknown>) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    ctx.blockConcurrencyWhile(async () => migrate(this.sql));
  }

  /** Remember a WebAuthn ceremony's challenge (registration, or the assertion for a step-up) for this session. */
  async putWebauthnChallenge(key: string, sid: string, challenge: string): Promise<void> {
    await this.scheduleSweep(putWebauthnChallenge(this.sql, key, sid, challenge, this.now()));
  }

  /** Take a WebAuthn challenge: once, for its own session, before it expires. */
  async takeWebauthnChallenge(key: string, sid: string): Promise<string | null> {
    return takeWebauthnChallenge(this.sql, key, sid, this.now());
  }

  /** Drop a WebAuthn ceremony's challenge whichever session it is for (registrations left over when a first factor is enrolled). */
  async dropWebauthnChallenges(key: string): Promise<void> {
    dropWebauthnChallenges(this.sql, key);
  }

  /**
   * Take the held request of an approved challenge: once, for its own session. The request then
   * goes through the normal decision, which spends the action's approval (or checks the grant).
   */
  async takeHeldRequest(challenge: string, sid: string): Promise<string | null> {
    return takeHeldRequest(this.sql, challenge, sid, this.now());
  }

  /**
   * Record a new challenge, with the sealed original request to hold for it (`held`, sealed under
   * `id`), or refuse, creating nothing: past the session's or the person's creation limit, or when
   * the hold would pass the session's share or the person's held-request caps (older holds are
   * never dropped for it). A request too large to hold gets its challenge without the hold.
   * Expired challenges (and their holds) are swept first; the open count is capped, the oldest
   * dropped with its hold. With `live: false` the challenge is stored unanswerable — no reader sees
   * it — until `confirmChallenge` (once its `challenge.issued` is on the record).
   */
  async openChallenge(
    input: ChallengeInput & { prompt?: boolean; id?: string; held?: string; live?: boolean },
  ): Promise<{ ok: true; challenge: Challenge; held: boolean } | ChallengeRefusal> {
    const { id, held, live, ...fields } = input;
    if (id !== undefined && !isChallengeId(id)) throw new Error('challenge id: malformed');
    const now = this.now();
    sweepChallengeState(this.sql, now);
    const rationed = creationRefusal(this.sql, input.sid, now);
    if (rationed) return rationed;
    const hold = held !== undefined && held.length <= MAX_HELD_BYTES;
    if (hold) {
      const full = holdRefusal(this.sql, input.sid, held.length, now);
      if (full) return full;
    }
    for (const dropped of dropOverOpenCap(this.sql)) decide(this.waiters, dropped, { kind: 'gone' });
    const challenge = insertChallenge(this.sql, fields, { id, live, now });
    logCreation(this.sql, input.sid, now);
    if (hold) holdRequest(this.sql, challenge, held);
    await this.scheduleSweep(challenge.expiresAt);
    return { ok: true, challenge, held: hold };
  }

  /**
   * Make a challenge opened with `live: false` answerable, now that its issue is on the record.
   * False if it is gone (expired, dropped over the open cap, withdrawn).
   */
  async confirmChallenge(id: string): Promise<boolean> {
    return confirmChallenge(this.sql, id, this.now());
  }

  /** `openChallenge` without a hold, for callers with no way to show a refusal: a refusal throws. */
  async createChallenge(input: ChallengeInput & { prompt?: boolean }): Promise<Challenge> {
    const r = await this.openChallenge(input);
    if (!r.ok) throw new Error(`challenge refused: ${r.reason} (${r.limit})`);
    return r.challenge;
  }

  /**
   * Count a prompt against the user's budget (MAX_PROMPTS_PER_MINUTE in any 60 s): refused, with
   * when to retry, once it is spent, and while the person backs off.
   */
  async allowPrompt(): Promise<{ ok: true } | { ok: false; retryAt: number }> {
    return allowPrompt(this.sql, this.now());
  }

  /**
   * What the extension offers to approve, newest first: this session's pending challenges, and the
   * person's one-time (`bind: "action"`) challenges of other sessions, which need number matching.
   */
  async pendingChallenges(sid: string): Promise<(Challenge & { prompt: boolean; otherSession: boolean })[]> {
    return pendingChallenges(this.sql, sid, this.now());
  }

  /**
   * Hold the caller until the challenge is approved, denied, or `timeoutMs` passes. The request
   * that waits here is carried out by its caller only on "approved".
   */
  async awaitDecision(id: string, sid: string, timeoutMs: number): Promise<Decision> {
    const row = liveChallengeRow(this.sql, id, this.now());
    if (!row || row.sid !== sid) return { kind: 'gone' };
    return waitForDecision(this.waiters, id, timeoutMs);
  }

  /**
   * The person refused the challenge (in the extension's prompt): it is gone, with its held
   * request, and a waiting request is refused — always, since denying is a safety action.
   * Refusing a prompt raised by *another* session (push bombing) counts as a failure, so repeated
   * prompts meet the back-off; like a failed code, it does not count while the person backs off,
   * so denials never reach the lock faster than codes. A session denying its own challenge does
   * not count: otherwise a stolen session could lock its person out in seconds (finding 3).
   */
  async denyChallenge(id: string, sid: string): Promise<(Challenge & { otherSession: boolean; counted: boolean }) | null> {
    const denied = denyChallenge(this.sql, id, sid, this.now());
    if (denied) decide(this.waiters, id, { kind: 'denied' });
    return denied;
  }

  /**
   * Take back a challenge whose issue could not be recorded: it, its hold and its creation are
   * gone as if never made, and any request waiting on it ends ("gone"). Counts nothing.
   */
  async withdrawChallenge(id: string): Promise<void> {
    const row = takeBackChallenge(this.sql, id);
    dropHold(this.sql, id);
    if (row) forgetCreation(this.sql, row.sid, row.created_at);
    decide(this.waiters, id, { kind: 'gone' });
  }

  /** Clear the failure count and any lock (an administrator's unlock); returns what it was. */
  async unlock(): Promise<{ consecutive: number; lockedUntil: number }> {
    const before = readFailures(this.sql);
    clearFailures(this.sql);
    return before;
  }

  /**
   * A pending, unexpired, answerable (confirmed) challenge of this session, or null. With `otherSessions`, also a one-time
   * challenge of another session of this person (approved elsewhere, with number matching).
   */
  async getChallenge(id: string, sid: string, otherSessions = false): Promise<Challenge | null> {
    const row = liveChallengeRow(this.sql, id, this.now());
    if (!row || !(row.sid === sid || (otherSessions && row.bind === 'action'))) return null;
    return toChallenge(row);
  }

  /**
   * Start an attempt to answer a challenge: refused while the user is backing off or locked,
   * and after `MAX_ATTEMPTS_PER_CHALLENGE` attempts the challenge is gone.
   * Every attempt counts as a failure until `completeChallenge` clears the count, so a burst of
   * parallel guesses (across any number of challenges) meets the back-off as it starts, not after.
   */
  async beginAttempt(id: string, sid: string, number?: number): Promise<AttemptResult> {
    const r = beginAttempt(this.sql, id, sid, number, this.now());
    // The last wrong number denied the challenge: a page waiting on it is answered now.
    if (!r.ok && r.reason === 'number-denied') decide(this.waiters, id, { kind: 'denied' });
    return r;
  }

  /** Wrong answers this session's challenge still takes (0: used up; null: no such live challenge of this session). */
  async attemptsLeft(id: string, sid: string): Promise<number | null> {
    const row = liveChallengeRow(this.sql, id, this.now());
    return row && row.sid === sid ? Math.max(0, MAX_ATTEMPTS_PER_CHALLENGE - row.attempts) : null;
  }

  /** After a failed attempt (already counted when it began): the failure count and when the user may try again. */
  async failureState(): Promise<{ consecutive: number; retryAt: number | null }> {
    return failureState(this.sql, this.now());
  }

  /**
   * Finish a challenge after its factor was verified: exactly once, however many verifications
   * race. Clears the failure count; for `bind: "action"` records the approval of that exact action.
   * Returns null if the challenge was already used, expired, or belongs to another session.
   */
  async completeChallenge(id: string, approverSid: string, amr: string[], number?: number): Promise<Challenge | null> {
    const done = completeChallenge(this.sql, id, approverSid, amr, number, this.now());
    if (!done) return null;
    if (done.approvalExpiresAt !== null) await this.scheduleSweep(done.approvalExpiresAt);
    // A held request is woken by `release`, once the approval is on the record (not here).
    return done.challenge;
  }

  /** Wake the requests held for a challenge: "approved" only after its approval was recorded. */
  async release(id: string, d: Decision): Promise<void> {
    decide(this.waiters, id, d);
  }

  /** Use the approval of an exact action, once: true for exactly one of any number of racing requests. */
  async consumeApproval(sid: string, digest: string, rule: string): Promise<Approval | null> {
    return consumeApproval(this.sql, sid, digest, rule, this.now());
  }

  /** Record that a TOTP code of `factor` for time step `step` was used: true only for a step later than every one accepted before. */
  async acceptTotpStep(factor: string, step: number): Promise<boolean> {
    return acceptTotpStep(this.sql, factor, step);
  }

  /**
   * Revoke everything the person holds here, now (an administrator's revocation, docs/admin.md): every
   * grant stepped up until this moment stops counting (`grantsRevokedAt`), and every challenge, held
   * request, approval and WebAuthn ceremony is dropped. Requests held on a prompt are woken "gone",
   * so none of them is carried out; a verification racing this finds its challenge gone.
   */
  async revokeEverything(now: number): Promise<{ challenges: number; held: number; approvals: number }> {
    // Never earlier than this object's own clock: a grant minted before the call arrived is covered.
    const { challengeIds, ...dropped } = revokeState(this.sql, Math.max(now, this.now()));
    // `held` counts both kinds of held request: navigations kept sealed, and fetches waiting on a prompt.
    let held = dropped.held;
    for (const id of new Set([...challengeIds, ...this.waiters.keys()])) {
      held += this.waiters.get(id)?.length ?? 0;
      decide(this.waiters, id, { kind: 'gone' });
    }
    return { ...dropped, held };
  }

  /** When the person's grants were last revoked (ms; 0 = never): a grant counts only if stepped up after it. */
  async grantsRevokedAt(): Promise<number> {
    return grantsRevokedAt(this.sql);
  }

  /** The person's failure count and back-off, read only (an administrator looking a person up): `lockedOut` until someone unlocks. */
  async lockState(): Promise<{ consecutive: number; lockedUntil: number; lockedOut: boolean }> {
    const f = readFailures(this.sql);
    return { ...f, lockedOut: lockedOut(f) };
  }

  /** Keep a notice for the person (replacing one of the same id): shown on Stepgate's pages and in the extension. */
  async putNotice(n: Notice): Promise<void> {
    putNotice(this.sql, n, this.now());
  }

  /** Drop a notice (its recovery was cancelled, completed or is gone); true if it was there. */
  async clearNotice(id: string): Promise<boolean> {
    return clearNotice(this.sql, id);
  }

  /** The person's notices that have not lapsed, newest first. */
  async notices(): Promise<Notice[]> {
    return listNotices(this.sql, this.now());
  }

  override async alarm(): Promise<void> {
    const next = sweepExpired(this.sql, this.now());
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }

  /** Set the alarm for `at` unless it is already due sooner. */
  private async scheduleSweep(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }
}
