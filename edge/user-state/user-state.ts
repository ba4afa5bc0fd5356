/**
 * @module UserState: the Durable Object that is the single writer for one user's step-up state:
 * challenges and their attempts, action approvals, TOTP steps, failure counters, the prompt
 * ration, held requests and WebAuthn ceremonies. The challenge model is in challenge.ts, the limits
 * in limits.ts, the storage schema in schema.ts.
 */
import { DurableObject } from 'cloudflare:workers';
import { base64url } from '../../shared/base64';
import {
  CHALLENGE_TTL_MS,
  MAX_OPEN_CHALLENGES,
  numberMatch,
  toChallenge,
  type Challenge,
  type ChallengeInput,
  type ChallengeRow,
} from './challenge';
import {
  backoffMs,
  HELD_APPROVAL_WINDOW_MS,
  MAX_ATTEMPTS_PER_CHALLENGE,
  MAX_CHALLENGES_PER_SESSION_PER_MINUTE,
  MAX_CHALLENGES_PER_USER_PER_MINUTE,
  MAX_CONSECUTIVE_FAILURES,
  MAX_HELD_BYTES,
  MAX_HELD_BYTES_PER_SESSION,
  MAX_HELD_REQUESTS,
  MAX_HELD_REQUESTS_PER_SESSION,
  MAX_HELD_TOTAL_BYTES,
  MAX_PROMPTS_PER_MINUTE,
  type Approval,
  type AttemptResult,
  type ChallengeRefusal,
  type Decision,
} from './limits';
import { migrate } from './schema';

export * from './challenge';
export * from './limits';

export class UserState extends DurableObject<Record<string, unknown>> {
  private readonly sql: SqlStorage;
  /** Requests held while their challenge is answered in the extension, by challenge id. */
  private readonly waiters = new Map<string, ((d: Decision) => void)[]>();
  /** Injectable clock for tests. */
  now: () => number = Date.now;

  constructor(ctx: DurableObjectState, env: Record<string, unknown>) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    ctx.blockConcurrencyWhile(async () => migrate(this.sql));
  }

  /** Remember a WebAuthn ceremony's challenge (registration, or the assertion for a step-up) for this session. */
  async putWebauthnChallenge(key: string, sid: string, challenge: string): Promise<void> {
    const expiresAt = this.now() + CHALLENGE_TTL_MS;
    this.sql.exec(
      'INSERT INTO webauthn_challenges (key, sid, challenge, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (key) ' +
        'DO UPDATE SET sid = excluded.sid, challenge = excluded.challenge, expires_at = excluded.expires_at',
      key,
      sid,
      challenge,
      expiresAt,
    );
    await this.scheduleSweep(expiresAt);
  }

  /** Take a WebAuthn challenge: once, for its own session, before it expires. */
  async takeWebauthnChallenge(key: string, sid: string): Promise<string | null> {
    const row = this.sql
      .exec<{ challenge: string }>(
        'DELETE FROM webauthn_challenges WHERE key = ? AND sid = ? AND expires_at > ? RETURNING challenge',
        key,
        sid,
        this.now(),
      )
      .toArray()[0];
    return row ? row.challenge : null;
  }

  /** Drop a WebAuthn ceremony's challenge whichever session it is for (registrations left over when a first factor is enrolled). */
  async dropWebauthnChallenges(key: string): Promise<void> {
    this.sql.exec('DELETE FROM webauthn_challenges WHERE key = ?', key);
  }

  /**
   * Take the held request of an approved challenge: once, for its own session. The request then
   * goes through the normal decision, which spends the action's approval (or checks the grant).
   */
  async takeHeldRequest(challenge: string, sid: string): Promise<string | null> {
    const row = this.sql
      .exec<{ sealed: string }>(
        'DELETE FROM held WHERE challenge = ? AND sid = ? AND approved = 1 AND expires_at > ? RETURNING sealed',
        challenge,
        sid,
        this.now(),
      )
      .toArray()[0];
    return row ? row.sealed : null;
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
    if (id !== undefined && !/^[A-Za-z0-9_-]{22}$/.test(id)) throw new Error('challenge id: malformed');
    const now = this.now();
    this.sweep(now);
    /** When the oldest creation that keeps this session (or, with null, the person) at its limit leaves the minute; null: under it. */
    const fullUntil = (sid: string | null, limit: number): number | null => {
      const rows = this.sql
        .exec<{ at: number }>(
          `SELECT at FROM challenge_log WHERE at > ?${sid === null ? '' : ' AND sid = ?'} ORDER BY at ASC`,
          now - 60_000,
          ...(sid === null ? [] : [sid]),
        )
        .toArray();
      return rows.length >= limit ? rows[rows.length - limit]!.at + 60_000 : null;
    };
    const sessionFree = fullUntil(input.sid, MAX_CHALLENGES_PER_SESSION_PER_MINUTE);
    if (sessionFree !== null) return { ok: false, reason: 'challenge-rate-limit', limit: 'session', retryAt: sessionFree };
    const personFree = fullUntil(null, MAX_CHALLENGES_PER_USER_PER_MINUTE);
    if (personFree !== null) return { ok: false, reason: 'challenge-rate-limit', limit: 'person', retryAt: personFree };
    const hold = held !== undefined && held.length <= MAX_HELD_BYTES;
    if (hold) {
      // This session's share first, then the person's cap: one session never fills the person's.
      for (const [scope, maxN, maxBytes] of [
        ['session', MAX_HELD_REQUESTS_PER_SESSION, MAX_HELD_BYTES_PER_SESSION],
        ['person', MAX_HELD_REQUESTS, MAX_HELD_TOTAL_BYTES],
      ] as const) {
        const only = scope === 'session' ? ' WHERE h.sid = ?' : '';
        const args = scope === 'session' ? [input.sid] : [];
        const h = this.sql
          .exec<{ n: number; bytes: number }>(`SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS bytes FROM held h${only}`, ...args)
          .one();
        if (h.n >= maxN || h.bytes + held.length > maxBytes) {
          // A waiting hold goes when its challenge does; an approved one at the end of its window.
          const freed = this.sql
            .exec<{ t: number | null }>(
              `SELECT MIN(COALESCE(c.expires_at, h.expires_at)) AS t FROM held h ` +
                `LEFT JOIN challenges c ON h.approved = 0 AND c.id = h.challenge${only}`,
              ...args,
            )
            .one().t;
          return {
            ok: false,
            reason: 'hold-limit',
            limit: h.n >= maxN ? 'count' : 'bytes',
            scope,
            retryAt: Math.max(freed ?? now, now + 1000),
          };
        }
      }
    }
    const open = this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM challenges').one().n;
    if (open >= MAX_OPEN_CHALLENGES) {
      // The oldest go first, but never one a request is held for (at most MAX_HELD_REQUESTS, far
      // below the cap) nor, while others remain, one a fetch is waiting on: nothing held is dropped.
      const dropped = this.sql
        .exec<{ id: string }>(
          `DELETE FROM challenges WHERE id IN (
             SELECT c.id FROM challenges c WHERE NOT EXISTS (SELECT 1 FROM held h WHERE h.challenge = c.id)
             ORDER BY c.prompt ASC, c.created_at ASC LIMIT ?) RETURNING id`,
          open - MAX_OPEN_CHALLENGES + 1,
        )
        .toArray();
      for (const d of dropped) this.decide(d.id, { kind: 'gone' });
    }
    const nm = numberMatch();
    const challenge: Challenge = {
      ...fields,
      number: nm.number,
      numberChoices: nm.choices,
      id: id ?? base64url(crypto.getRandomValues(new Uint8Array(16))),
      createdAt: now,
      expiresAt: now + CHALLENGE_TTL_MS,
      status: 'pending',
    };
    this.sql.exec(
      `INSERT INTO challenges (id, sid, rule, bind, factors, max_age, action_digest, action, matched_method,
                               created_at, expires_at, prompt, number, choices, live)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
      nm.number,
      JSON.stringify(nm.choices),
      live === false ? 0 : 1,
    );
    this.sql.exec('INSERT INTO challenge_log (at, sid) VALUES (?, ?)', now, input.sid);
    if (hold) {
      this.sql.exec(
        'INSERT INTO held (challenge, sid, sealed, expires_at, bytes) VALUES (?, ?, ?, ?, ?)',
        challenge.id,
        input.sid,
        held,
        challenge.expiresAt + HELD_APPROVAL_WINDOW_MS,
        held.length,
      );
    }
    await this.scheduleSweep(challenge.expiresAt);
    return { ok: true, challenge, held: hold };
  }

  /**
   * Make a challenge opened with `live: false` answerable, now that its issue is on the record.
   * False if it is gone (expired, dropped over the open cap, withdrawn).
   */
  async confirmChallenge(id: string): Promise<boolean> {
    return (
      this.sql.exec('UPDATE challenges SET live = 1 WHERE id = ? AND expires_at > ? RETURNING id', id, this.now()).toArray().length === 1
    );
  }

  /** `openChallenge` without a hold, for callers with no way to show a refusal: a refusal throws. */
  async createChallenge(input: ChallengeInput & { prompt?: boolean }): Promise<Challenge> {
    const r = await this.openChallenge(input);
    if (!r.ok) throw new Error(`challenge refused: ${r.reason} (${r.limit})`);
    return r.challenge;
  }

  /**
   * Count a prompt against the user's budget (MAX_PROMPTS_PER_MINUTE in any 60 s): refused, with
   * when to retry, once it is spent.
   */
  async allowPrompt(): Promise<{ ok: true } | { ok: false; retryAt: number }> {
    const now = this.now();
    // Denials from the person's other sessions count as failures: while they back the person
    // off, the prompts stop too, so a push-bombing session is slowed by every "deny".
    const f = this.failures();
    if (f.consecutive >= MAX_CONSECUTIVE_FAILURES) return { ok: false, retryAt: now + 60_000 };
    if (f.lockedUntil > now) return { ok: false, retryAt: f.lockedUntil };
    this.sql.exec('DELETE FROM prompts WHERE at <= ?', now - 60_000);
    const rows = this.sql.exec<{ at: number }>('SELECT at FROM prompts ORDER BY at ASC').toArray();
    if (rows.length >= MAX_PROMPTS_PER_MINUTE) return { ok: false, retryAt: rows[0]!.at + 60_000 };
    this.sql.exec('INSERT INTO prompts (at) VALUES (?)', now);
    return { ok: true };
  }

  /**
   * What the extension offers to approve, newest first: this session's pending challenges, and the
   * person's one-time (`bind: "action"`) challenges of other sessions, which need number matching.
   */
  async pendingChallenges(sid: string): Promise<(Challenge & { prompt: boolean; otherSession: boolean })[]> {
    return this.sql
      .exec<ChallengeRow & { prompt: number }>(
        "SELECT * FROM challenges WHERE expires_at > ? AND live = 1 AND (sid = ? OR bind = 'action') ORDER BY created_at DESC LIMIT 20",
        this.now(),
        sid,
      )
      .toArray()
      .map((r) => ({ ...toChallenge(r), prompt: r.prompt === 1, otherSession: r.sid !== sid }));
  }

  /**
   * Hold the caller until the challenge is approved, denied, or `timeoutMs` passes. The request
   * that waits here is carried out by its caller only on "approved".
   */
  async awaitDecision(id: string, sid: string, timeoutMs: number): Promise<Decision> {
    const row = this.sql
      .exec<{ id: string }>('SELECT id FROM challenges WHERE id = ? AND sid = ? AND expires_at > ? AND live = 1', id, sid, this.now())
      .toArray()[0];
    if (!row) return { kind: 'gone' };
    return new Promise<Decision>((resolve) => {
      const list = this.waiters.get(id) ?? [];
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = (d: Decision) => {
        clearTimeout(timer);
        resolve(d);
      };
      list.push(done);
      this.waiters.set(id, list);
      timer = setTimeout(() => {
        const left = (this.waiters.get(id) ?? []).filter((w) => w !== done);
        if (left.length) this.waiters.set(id, left);
        else this.waiters.delete(id);
        resolve({ kind: 'timeout' });
      }, timeoutMs);
    });
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
    const now = this.now();
    const row = this.sql
      .exec<ChallengeRow>(
        "DELETE FROM challenges WHERE id = ? AND expires_at > ? AND live = 1 AND (sid = ? OR bind = 'action') RETURNING *",
        id,
        now,
        sid,
      )
      .toArray()[0];
    if (!row) return null;
    this.sql.exec('DELETE FROM held WHERE challenge = ?', id);
    const otherSession = row.sid !== sid;
    const f = this.failures();
    const counted = otherSession && f.consecutive < MAX_CONSECUTIVE_FAILURES && f.lockedUntil <= now;
    if (counted) {
      const consecutive = f.consecutive + 1;
      this.sql.exec(
        'INSERT INTO failures (id, consecutive, locked_until) VALUES (1, ?, ?) ON CONFLICT (id) ' +
          'DO UPDATE SET consecutive = excluded.consecutive, locked_until = excluded.locked_until',
        consecutive,
        now + backoffMs(consecutive),
      );
    }
    this.decide(id, { kind: 'denied' });
    return { ...toChallenge(row), otherSession, counted };
  }

  /**
   * Take back a challenge whose issue could not be recorded: it, its hold and its creation are
   * gone as if never made, and any request waiting on it ends ("gone"). Counts nothing.
   */
  async withdrawChallenge(id: string): Promise<void> {
    const row = this.sql
      .exec<{ sid: string; created_at: number }>('DELETE FROM challenges WHERE id = ? RETURNING sid, created_at', id)
      .toArray()[0];
    this.sql.exec('DELETE FROM held WHERE challenge = ?', id);
    if (row)
      this.sql.exec(
        'DELETE FROM challenge_log WHERE rowid IN (SELECT rowid FROM challenge_log WHERE sid = ? AND at = ? LIMIT 1)',
        row.sid,
        row.created_at,
      );
    this.decide(id, { kind: 'gone' });
  }

  private decide(id: string, d: Decision): void {
    const list = this.waiters.get(id);
    this.waiters.delete(id);
    for (const w of list ?? []) w(d);
  }

  /** Clear the failure count and any lock (an administrator's unlock); returns what it was. */
  async unlock(): Promise<{ consecutive: number; lockedUntil: number }> {
    const before = this.failures();
    this.sql.exec('DELETE FROM failures');
    return before;
  }

  /**
   * A pending, unexpired, answerable (confirmed) challenge of this session, or null. With `otherSessions`, also a one-time
   * challenge of another session of this person (approved elsewhere, with number matching).
   */
  async getChallenge(id: string, sid: string, otherSessions = false): Promise<Challenge | null> {
    const row = this.sql
      .exec<ChallengeRow>('SELECT * FROM challenges WHERE id = ? AND expires_at > ? AND live = 1', id, this.now())
      .toArray()[0];
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
    const now = this.now();
    const f = this.failures();
    if (f.consecutive >= MAX_CONSECUTIVE_FAILURES) return { ok: false, reason: 'locked', retryAt: null };
    if (f.lockedUntil > now) return { ok: false, reason: 'locked', retryAt: f.lockedUntil };
    const row = this.sql
      .exec<ChallengeRow & { attempts: number }>('SELECT * FROM challenges WHERE id = ? AND expires_at > ? AND live = 1', id, now)
      .toArray()[0];
    // Another session's challenge: only a one-time approval, and only naming the number shown there.
    if (!row || (row.sid !== sid && row.bind !== 'action')) return { ok: false, reason: 'not-found' };
    const mismatch = row.sid !== sid && number !== row.number;
    if (row.attempts >= MAX_ATTEMPTS_PER_CHALLENGE) {
      this.sql.exec('DELETE FROM challenges WHERE id = ?', id);
      this.sql.exec('DELETE FROM held WHERE challenge = ? AND approved = 0', id);
      return { ok: false, reason: 'too-many' };
    }
    this.sql.exec('UPDATE challenges SET attempts = attempts + 1 WHERE id = ?', id);
    const consecutive = f.consecutive + 1;
    this.sql.exec(
      'INSERT INTO failures (id, consecutive, locked_until) VALUES (1, ?, ?) ON CONFLICT (id) ' +
        'DO UPDATE SET consecutive = excluded.consecutive, locked_until = excluded.locked_until',
      consecutive,
      now + backoffMs(consecutive),
    );
    if (mismatch) return { ok: false, reason: 'number-mismatch' };
    return { ok: true, challenge: toChallenge(row), otherSession: row.sid !== sid };
  }

  /** After a failed attempt (already counted when it began): the failure count and when the user may try again. */
  async failureState(): Promise<{ consecutive: number; retryAt: number | null }> {
    const f = this.failures();
    return { consecutive: f.consecutive, retryAt: f.consecutive >= MAX_CONSECUTIVE_FAILURES ? null : Math.max(f.lockedUntil, this.now()) };
  }

  /**
   * Finish a challenge after its factor was verified: exactly once, however many verifications
   * race. Clears the failure count; for `bind: "action"` records the approval of that exact action.
   * Returns null if the challenge was already used, expired, or belongs to another session.
   */
  async completeChallenge(id: string, approverSid: string, amr: string[], number?: number): Promise<Challenge | null> {
    const now = this.now();
    const row = this.sql
      .exec<ChallengeRow & { number: number }>('SELECT * FROM challenges WHERE id = ? AND expires_at > ? AND live = 1', id, now)
      .toArray()[0];
    if (!row) return null;
    // Approved from another session: a one-time approval naming the right number, stored for the
    // session that made the request (it is that session's identical request that then passes).
    if (row.sid !== approverSid && (row.bind !== 'action' || number !== row.number)) return null;
    const sid = row.sid;
    this.sql.exec('DELETE FROM challenges WHERE id = ?', id);
    this.sql.exec('DELETE FROM failures');
    this.sql.exec('UPDATE held SET approved = 1 WHERE challenge = ? AND sid = ?', id, sid);
    const ch = toChallenge(row);
    if (ch.bind === 'action' && ch.actionDigest) {
      const expiresAt = now + ch.maxAgeSeconds * 1000;
      this.sql.exec(
        'INSERT INTO approvals (sid, digest, rule, amr, auth_time, expires_at) VALUES (?, ?, ?, ?, ?, ?) ' +
          'ON CONFLICT (sid, digest) DO UPDATE SET expires_at = excluded.expires_at, amr = excluded.amr, auth_time = excluded.auth_time',
        sid,
        ch.actionDigest,
        ch.rule,
        JSON.stringify(amr),
        Math.floor(now / 1000),
        expiresAt,
      );
      await this.scheduleSweep(expiresAt);
    }
    // A held request is woken by `release`, once the approval is on the record (not here).
    return ch;
  }

  /** Wake the requests held for a challenge: "approved" only after its approval was recorded. */
  async release(id: string, d: Decision): Promise<void> {
    this.decide(id, d);
  }

  /** Use the approval of an exact action, once: true for exactly one of any number of racing requests. */
  async consumeApproval(sid: string, digest: string, rule: string): Promise<Approval | null> {
    const row = this.sql
      .exec<{ rule: string; amr: string; auth_time: number }>(
        'DELETE FROM approvals WHERE sid = ? AND digest = ? AND rule = ? AND expires_at > ? RETURNING rule, amr, auth_time',
        sid,
        digest,
        rule,
        this.now(),
      )
      .toArray()[0];
    return row ? { rule: row.rule, amr: JSON.parse(row.amr) as string[], authTime: row.auth_time } : null;
  }

  private failures(): { consecutive: number; lockedUntil: number } {
    const r = this.sql
      .exec<{ consecutive: number; locked_until: number }>('SELECT consecutive, locked_until FROM failures WHERE id = 1')
      .toArray()[0];
    return { consecutive: r?.consecutive ?? 0, lockedUntil: r?.locked_until ?? 0 };
  }

  /**
   * Record that a TOTP code of `factor` for time step `step` was used. True only for a step later
   * than every step accepted before, so a code — or an older one — can never be replayed, from
   * any session, however many requests race (the object is the single writer).
   */
  async acceptTotpStep(factor: string, step: number): Promise<boolean> {
    if (!Number.isSafeInteger(step) || step < 0) return false;
    const row = this.sql.exec<{ last_step: number }>('SELECT last_step FROM totp_steps WHERE factor = ?', factor).toArray()[0];
    if (row && row.last_step >= step) return false;
    this.sql.exec(
      'INSERT INTO totp_steps (factor, last_step) VALUES (?, ?) ON CONFLICT (factor) DO UPDATE SET last_step = excluded.last_step',
      factor,
      step,
    );
    return true;
  }

  /** Expired challenges go, with the holds that were waiting for them; expired holds and old creation records too. */
  private sweep(now: number): void {
    this.sql.exec('DELETE FROM challenges WHERE expires_at <= ?', now);
    this.sql.exec('DELETE FROM held WHERE expires_at <= ?', now);
    this.dropOrphanHolds();
    this.sql.exec('DELETE FROM challenge_log WHERE at <= ?', now - 60_000);
  }

  /** A held request not yet approved lives only as long as its challenge. */
  private dropOrphanHolds(): void {
    this.sql.exec('DELETE FROM held WHERE approved = 0 AND challenge NOT IN (SELECT id FROM challenges)');
  }

  override async alarm(): Promise<void> {
    const now = this.now();
    this.sweep(now);
    this.sql.exec('DELETE FROM approvals WHERE expires_at <= ?', now);
    this.sql.exec('DELETE FROM webauthn_challenges WHERE expires_at <= ?', now);
    this.sql.exec('DELETE FROM prompts WHERE at <= ?', now - 60_000);
    const next = this.sql
      .exec<{ t: number | null }>(
        'SELECT MIN(t) AS t FROM (SELECT MIN(expires_at) AS t FROM challenges UNION ALL ' +
          'SELECT MIN(expires_at) FROM approvals UNION ALL SELECT MIN(expires_at) FROM held)',
      )
      .one().t;
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }

  private async scheduleSweep(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }
}
