/**
 * @module UserGate: the Durable Object that is the single writer for one user's step-up state
 * (challenges now; grants, TOTP steps, failure counters and held requests as they arrive).
 */
import { DurableObject } from 'cloudflare:workers';
import type { CanonicalAction } from '../../shared/canonical-action';
import type { BodySummary } from '../step-up/body-summary';
import { base64url } from '../../shared/canonical-action';

/** What a challenge is bound to. It can only be answered by the same user, in the same app session. */
export interface ChallengeInput {
  sid: string;
  rule: string;
  bind: 'session' | 'action';
  factors: readonly string[];
  maxAgeSeconds: number;
  /** Digest of the exact action (`bind: "action"`), else null. */
  actionDigest: string | null;
  /** The action as shown to the person approving it. */
  action: CanonicalAction;
  /** The method the rule matched: differs from `action.method` when an override (`_method`) claimed it. */
  matchedMethod: string;
  /** What the body carries, for the approval page (secrets masked). */
  bodySummary?: BodySummary | null;
  /** Where the request came from, for the approval prompt: the page's origin, the client's IP and browser. */
  requestedFrom?: RequestedFrom | null;
}

export interface RequestedFrom {
  /** The origin of the page that sent it (Origin, else Referer's origin), or null. */
  page: string | null;
  ip: string | null;
  user_agent: string | null;
}

export interface Challenge extends ChallengeInput {
  id: string;
  /** 10-99, shown where the request was made; an approval from another session must name it. */
  number: number;
  /** Three numbers, one of them `number`, offered to an approver in another session. */
  numberChoices: number[];
  createdAt: number;
  expiresAt: number;
  status: 'pending';
}

/** Challenges expire after five minutes (NIST SP 800-63B reauthentication prompts; DESIGN.md). */
export const CHALLENGE_TTL_MS = 5 * 60 * 1000;
/** At most this many open challenges per user; the oldest are dropped first. */
export const MAX_OPEN_CHALLENGES = 32;

interface ChallengeRow extends Record<string, SqlStorageValue> {
  id: string;
  sid: string;
  rule: string;
  bind: string;
  factors: string;
  max_age: number;
  action_digest: string | null;
  action: string;
  matched_method: string;
  created_at: number;
  expires_at: number;
}

/**
 * Storage schema, one step per entry, applied in order once per object. Challenges live five
 * minutes, so a step may drop and recreate their table; later state (grants, counters) will not.
 */
const MIGRATIONS: readonly string[] = [
  `DROP TABLE IF EXISTS challenges;
   CREATE TABLE challenges (
     id TEXT PRIMARY KEY, sid TEXT NOT NULL, rule TEXT NOT NULL, bind TEXT NOT NULL,
     factors TEXT NOT NULL, max_age INTEGER NOT NULL, action_digest TEXT, action TEXT NOT NULL,
     matched_method TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
   CREATE INDEX challenges_expiry ON challenges (expires_at);`,
  `CREATE TABLE totp_steps (factor TEXT PRIMARY KEY, last_step INTEGER NOT NULL);`,
  `ALTER TABLE challenges ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
   CREATE TABLE approvals (
     sid TEXT NOT NULL, digest TEXT NOT NULL, rule TEXT NOT NULL, amr TEXT NOT NULL,
     auth_time INTEGER NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (sid, digest));
   CREATE TABLE failures (id INTEGER PRIMARY KEY CHECK (id = 1), consecutive INTEGER NOT NULL, locked_until INTEGER NOT NULL);`,
  `CREATE TABLE held (
     challenge TEXT PRIMARY KEY, sid TEXT NOT NULL, sealed TEXT NOT NULL, approved INTEGER NOT NULL DEFAULT 0,
     expires_at INTEGER NOT NULL);`,
  `CREATE TABLE webauthn_challenges (key TEXT PRIMARY KEY, sid TEXT NOT NULL, challenge TEXT NOT NULL, expires_at INTEGER NOT NULL);`,
  `CREATE TABLE prompts (at INTEGER NOT NULL);
   ALTER TABLE challenges ADD COLUMN prompt INTEGER NOT NULL DEFAULT 0;`,
  `ALTER TABLE challenges ADD COLUMN number INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE challenges ADD COLUMN choices TEXT NOT NULL DEFAULT '[]';`,
  `CREATE TABLE challenge_log (at INTEGER NOT NULL, sid TEXT NOT NULL);
   CREATE INDEX challenge_log_at ON challenge_log (at);
   ALTER TABLE held ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
   UPDATE held SET bytes = LENGTH(sealed);
   DELETE FROM held WHERE approved = 0 AND challenge NOT IN (SELECT id FROM challenges);`,
  // A challenge the gateway opens is answerable only once its `challenge.issued` is on the record
  // (`confirmChallenge`); rows from before this step were made answerable at once, and stay so.
  `ALTER TABLE challenges ADD COLUMN live INTEGER NOT NULL DEFAULT 1;`,
];

/** A random number 10-99 for number matching, and three choices containing it (ascending). */
function numberMatch(): { number: number; choices: number[] } {
  const pick = () => 10 + (crypto.getRandomValues(new Uint32Array(1))[0]! % 90);
  const number = pick();
  const choices = new Set([number]);
  while (choices.size < 3) choices.add(pick());
  return { number, choices: [...choices].sort((a, b) => a - b) };
}

/** How a held request's challenge ended. */
export type Decision = { kind: 'approved'; amr: string[] } | { kind: 'denied' } | { kind: 'timeout' } | { kind: 'gone' };

/** Held prompts (extension approvals) a user may be sent per minute: push bombing meets a wall. */
export const MAX_PROMPTS_PER_MINUTE = 5;

/** Largest sealed held request kept: Durable Object SQLite rows hold at most 2 MB. */
export const MAX_HELD_BYTES = 1_900_000;
/** Held requests one person may have at once (waiting for approval, or approved and not yet continued). */
export const MAX_HELD_REQUESTS = 8;
/** Sealed bytes of all of one person's held requests together. */
export const MAX_HELD_TOTAL_BYTES = 8 * 1024 * 1024;
/**
 * One session's share of the person's held requests, in count and in bytes: half, so a single
 * session (a stolen one) can never fill the person's whole cap and leave their own browser with no
 * challenge at all; the person's other sessions always have room for as many again.
 */
export const MAX_HELD_REQUESTS_PER_SESSION = 4;
export const MAX_HELD_BYTES_PER_SESSION = 4 * 1024 * 1024;
/** How long a held request outlives its challenge: the time to continue it once approved. */
export const HELD_APPROVAL_WINDOW_MS = CHALLENGE_TTL_MS;

/**
 * Challenges one session may open per rolling minute, and one person across all their sessions.
 * A person clicks through a few step-ups a minute at most; a stolen session scripting requests
 * (to flood prompts, storage or the audit log) meets 429 `ERR_TOO_MANY_CHALLENGES`.
 */
export const MAX_CHALLENGES_PER_SESSION_PER_MINUTE = 10;
export const MAX_CHALLENGES_PER_USER_PER_MINUTE = 30;

/**
 * Why no challenge was opened: a creation limit, or held requests at their cap — this session's
 * share (`scope: "session"`) or the person's (`"person"`). Nothing was created.
 */
export type ChallengeRefusal =
  | { ok: false; reason: 'challenge-rate-limit'; limit: 'session' | 'person'; retryAt: number }
  | { ok: false; reason: 'hold-limit'; limit: 'count' | 'bytes'; scope: 'session' | 'person'; retryAt: number };

/** Attempts one challenge allows before it is discarded. */
export const MAX_ATTEMPTS_PER_CHALLENGE = 5;
/** Consecutive failures (across sessions) at which the user is locked until an admin resets them (NIST SP 800-63B: at most 100). */
export const MAX_CONSECUTIVE_FAILURES = 100;
/** Back-off after `n` consecutive failures: none for the first 4, then doubling from 1 s, at most 15 minutes. */
export const backoffMs = (n: number): number => (n < 5 ? 0 : Math.min(1000 * 2 ** (n - 5), 15 * 60 * 1000));

export type AttemptResult =
  | { ok: true; challenge: Challenge; otherSession: boolean }
  | { ok: false; reason: 'not-found' | 'too-many' | 'number-mismatch' }
  | { ok: false; reason: 'locked'; retryAt: number | null };

/** An approved action waiting for its one use. */
export interface Approval {
  rule: string;
  amr: string[];
  authTime: number;
}

function migrate(sql: SqlStorage): void {
  sql.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)');
  const done = sql.exec<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations').one().v ?? 0;
  for (let v = done; v < MIGRATIONS.length; v++) {
    sql.exec(MIGRATIONS[v]!);
    sql.exec('INSERT INTO schema_migrations (version) VALUES (?)', v + 1);
  }
}

export class UserGate extends DurableObject<Record<string, unknown>> {
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

const toChallenge = (r: ChallengeRow): Challenge => {
  const { summary, from, ...action } = JSON.parse(r.action) as CanonicalAction & {
    summary?: BodySummary | null;
    from?: RequestedFrom | null;
  };
  return {
    id: r.id,
    sid: r.sid,
    rule: r.rule,
    bind: r.bind as Challenge['bind'],
    factors: JSON.parse(r.factors) as string[],
    maxAgeSeconds: r.max_age,
    actionDigest: r.action_digest,
    action,
    bodySummary: summary ?? null,
    requestedFrom: from ?? null,
    matchedMethod: r.matched_method,
    number: Number(r.number ?? 0),
    numberChoices: JSON.parse(String(r.choices ?? '[]')) as number[],
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    status: 'pending',
  };
};
