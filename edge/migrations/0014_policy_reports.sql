-- What report-only rules ("mode": "report", docs/policy.md) would have challenged, aggregated per
-- app, hour, rule, route (method and canonical path, no query, no body) and person, written in
-- batches by each isolate (edge/policy/report-counter.ts). The person is a keyed hash in a domain of
-- its own, per app and without a key id: it is only compared with itself (distinct people), never
-- opened or looked up, so it needs no re-keying. '' is a request that named nobody.
-- Bounded: at most 1,000 rows per app and hour (more are added to policy_report_dropped); rows
-- older than 7 days are pruned by the cron (edge/scheduled.ts).
CREATE TABLE IF NOT EXISTS policy_report_counts (
  app_id       TEXT NOT NULL,
  hour         INTEGER NOT NULL,     -- start of the UTC hour, ms
  rule_id      TEXT NOT NULL,
  route        TEXT NOT NULL,        -- "DELETE /api/projects/7", at most 512 characters
  person_hash  TEXT NOT NULL,
  requests     INTEGER NOT NULL,
  PRIMARY KEY (app_id, hour, rule_id, route, person_hash)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS policy_report_counts_hour ON policy_report_counts (hour);

-- Requests an app's report rules matched in an hour that were not counted per key (the cap was reached).
CREATE TABLE IF NOT EXISTS policy_report_dropped (
  app_id    TEXT NOT NULL,
  hour      INTEGER NOT NULL,
  requests  INTEGER NOT NULL,
  PRIMARY KEY (app_id, hour)
) STRICT;

UPDATE stepgate_meta SET value = '14' WHERE key = 'schema';
