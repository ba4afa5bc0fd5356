/** @module The UserState's storage schema: one step per entry, applied in order once per object. */

/**
 * Storage schema, one step per entry, applied in order once per object. Challenges live five
 * minutes, so a step may drop and recreate their table; later state (grants, counters) will not.
 */
export const MIGRATIONS: readonly string[] = [
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
  // Revocation (revocation.ts): grants stepped up at or before this moment no longer count.
  `CREATE TABLE revocation (id INTEGER PRIMARY KEY CHECK (id = 1), grants_revoked_at INTEGER NOT NULL);`,
  // Notices to the person (notices.ts): a factor recovery someone started for them.
  `CREATE TABLE notices (
     id TEXT PRIMARY KEY, kind TEXT NOT NULL, state TEXT NOT NULL, started_at INTEGER NOT NULL,
     effective_at INTEGER, expires_at INTEGER NOT NULL, put_at INTEGER NOT NULL);`,
  // Number matching is typed (number-match.ts): wrong numbers are counted per challenge, and the
  // challenge is denied at MAX_WRONG_NUMBERS. The old choices column stays, no longer written or read.
  `ALTER TABLE challenges ADD COLUMN wrong_numbers INTEGER NOT NULL DEFAULT 0;`,
];

/** Apply the steps this object has not run yet. */
export function migrate(sql: SqlStorage): void {
  sql.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)');
  const done = sql.exec<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations').one().v ?? 0;
  for (let v = done; v < MIGRATIONS.length; v++) {
    sql.exec(MIGRATIONS[v]!);
    sql.exec('INSERT INTO schema_migrations (version) VALUES (?)', v + 1);
  }
}
