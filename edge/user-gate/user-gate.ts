/**
 * @module UserGate: the Durable Object that is the single writer for one user's step-up state
 * (challenges now; grants, TOTP steps, failure counters and held requests as they arrive).
 */
import { DurableObject } from 'cloudflare:workers';
import type { CanonicalAction } from '../../shared/canonical-action';
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
}

export interface Challenge extends ChallengeInput {
  id: string;
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
];

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
  /** Injectable clock for tests. */
  now: () => number = Date.now;

  constructor(ctx: DurableObjectState, env: Record<string, unknown>) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    ctx.blockConcurrencyWhile(async () => migrate(this.sql));
  }

  /** Record a new challenge and return it. Expired challenges are swept first; the open count is capped. */
  async createChallenge(input: ChallengeInput): Promise<Challenge> {
    const now = this.now();
    this.sql.exec('DELETE FROM challenges WHERE expires_at <= ?', now);
    const open = this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM challenges').one().n;
    if (open >= MAX_OPEN_CHALLENGES) {
      this.sql.exec(
        'DELETE FROM challenges WHERE id IN (SELECT id FROM challenges ORDER BY created_at ASC LIMIT ?)',
        open - MAX_OPEN_CHALLENGES + 1,
      );
    }
    const challenge: Challenge = {
      ...input,
      id: base64url(crypto.getRandomValues(new Uint8Array(16))),
      createdAt: now,
      expiresAt: now + CHALLENGE_TTL_MS,
      status: 'pending',
    };
    this.sql.exec(
      `INSERT INTO challenges (id, sid, rule, bind, factors, max_age, action_digest, action, matched_method, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      challenge.id, input.sid, input.rule, input.bind, JSON.stringify(input.factors), input.maxAgeSeconds,
      input.actionDigest, JSON.stringify(input.action), input.matchedMethod, now, challenge.expiresAt,
    );
    await this.scheduleSweep(challenge.expiresAt);
    return challenge;
  }

  /** A pending, unexpired challenge of this session, or null (never another session's). */
  async getChallenge(id: string, sid: string): Promise<Challenge | null> {
    const row = this.sql
      .exec<ChallengeRow>('SELECT * FROM challenges WHERE id = ? AND sid = ? AND expires_at > ?', id, sid, this.now())
      .toArray()[0];
    return row ? toChallenge(row) : null;
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

  override async alarm(): Promise<void> {
    this.sql.exec('DELETE FROM challenges WHERE expires_at <= ?', this.now());
    const next = this.sql.exec<{ t: number | null }>('SELECT MIN(expires_at) AS t FROM challenges').one().t;
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }

  private async scheduleSweep(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }
}

const toChallenge = (r: ChallengeRow): Challenge => ({
  id: r.id,
  sid: r.sid,
  rule: r.rule,
  bind: r.bind as Challenge['bind'],
  factors: JSON.parse(r.factors) as string[],
  maxAgeSeconds: r.max_age,
  actionDigest: r.action_digest,
  action: JSON.parse(r.action) as CanonicalAction,
  matchedMethod: r.matched_method,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  status: 'pending',
});
