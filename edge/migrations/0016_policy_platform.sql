-- Issue 13, the rest of policies as live data.
--
-- 1. The bundled app as a row of the default organisation, so its policy is versioned like any
--    app's (policy.json is its version 1, written at the first change). It has no app_hosts rows:
--    its hosts, identity and origin stay the deployment's (policy.json, BUNDLED_APP_HOSTS, IDENTITY,
--    ORIGIN_URL), and the app registry never serves it as a D1 app. identity_json is unused for it.
INSERT OR IGNORE INTO apps (id, org_id, name, origin_url, identity_json, created_at, updated_at)
  VALUES ('bundled', 'default', 'The bundled app', NULL, '{"source":"bundled"}', 0, 0);

-- 2. Canary: the active version enforces for canary_percent % of people (stable per person); the
--    others keep canary_base_json, the version active before it. NULL: everyone has the active one.
ALTER TABLE app_policies ADD COLUMN canary_percent INTEGER CHECK (canary_percent BETWEEN 1 AND 99);
ALTER TABLE app_policies ADD COLUMN canary_base_json TEXT;

-- 3. An organisation's baseline: rules every app of the organisation enforces before its own, which
--    app-admins cannot remove or weaken. A weakening change waits as the proposal (proposed_*) for a
--    second owner or admin.
CREATE TABLE IF NOT EXISTS org_policy_baselines (
  org_id              TEXT PRIMARY KEY REFERENCES orgs(id),
  document_json       TEXT NOT NULL,      -- {"version": 1, "rules": [...]}, validated on write
  hash                TEXT NOT NULL,      -- SHA-256 of its canonical JSON
  updated_at          INTEGER NOT NULL,
  updated_by_sealed   TEXT,               -- who saved it, sealed (AAD: org and hash)
  proposed_json       TEXT,               -- a weakening change waiting for a second person, or NULL
  proposed_hash       TEXT,
  proposed_by_ref     TEXT,               -- blind index of its author (compared with the approver)
  proposed_by_sealed  TEXT,               -- its author, sealed (AAD: org and proposed hash)
  proposed_at         INTEGER
) STRICT;

-- 4. Routes seen per app and hour (method, host, canonical path; no query, no body, no person), so
--    a draft policy can be replayed against the last hour's traffic. Written in batches by each
--    isolate; at most 1,000 rows per app and hour; older than 2 hours pruned by the cron.
CREATE TABLE IF NOT EXISTS route_samples (
  app_id    TEXT NOT NULL,
  hour      INTEGER NOT NULL,   -- start of the UTC hour, ms
  method    TEXT NOT NULL,
  host      TEXT NOT NULL,
  path      TEXT NOT NULL,      -- at most 512 characters
  requests  INTEGER NOT NULL,
  PRIMARY KEY (app_id, hour, method, host, path)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS route_samples_hour ON route_samples (hour);

UPDATE stepgate_meta SET value = '16' WHERE key = 'schema';
