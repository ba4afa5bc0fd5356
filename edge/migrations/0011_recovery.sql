-- Factor recovery (docs/admin.md, "Factor recovery"): a person who lost every factor is recovered
-- by two people (one starts, a different admin or owner approves), then a waiting period during
-- which the person is told and can cancel. People are blind indexes with the person sealed beside
-- (AAD: the row and organisation), so every row can be re-keyed; no column stores a plain user id.
CREATE TABLE IF NOT EXISTS recoveries (
  id                  TEXT PRIMARY KEY,             -- random, base64url
  org_id              TEXT NOT NULL REFERENCES orgs(id),
  person_ref          TEXT NOT NULL,                -- blind index of the person recovered
  person_sealed       TEXT NOT NULL,                -- the person, sealed (AAD: id, org)
  started_by_ref      TEXT NOT NULL,                -- blind index of who started it
  started_by_sealed   TEXT NOT NULL,                -- who started it, sealed (AAD: id)
  approved_by_ref     TEXT,                         -- blind index of who approved it (NULL until then)
  approved_by_sealed  TEXT,                         -- who approved it, sealed (AAD: id)
  state               TEXT NOT NULL CHECK (state IN ('started', 'approved', 'cancelled', 'completed', 'expired')),
  started_at          INTEGER NOT NULL,
  approved_at         INTEGER,
  effective_at        INTEGER,                      -- approved_at + the waiting period: completion from then on
  expires_at          INTEGER NOT NULL,             -- an open recovery past this is expired (72 h to approve; then 7 days to complete)
  ended_at            INTEGER,                      -- cancelled, completed or expired at
  ended_by            TEXT CHECK (ended_by IS NULL OR ended_by IN ('person', 'admin', 'expiry', 'completion')),
  CHECK ((state IN ('started', 'approved')) = (ended_at IS NULL)),
  CHECK ((approved_at IS NULL) = (effective_at IS NULL))
) STRICT;

-- At most one open (started or approved) recovery per person. The starting statement also checks
-- every blind index of the person (all key ids), so this holds across a key rotation too.
CREATE UNIQUE INDEX IF NOT EXISTS recoveries_one_open ON recoveries (person_ref) WHERE state IN ('started', 'approved');
CREATE INDEX IF NOT EXISTS recoveries_org_open ON recoveries (org_id, started_at) WHERE state IN ('started', 'approved');
CREATE INDEX IF NOT EXISTS recoveries_ended ON recoveries (ended_at) WHERE ended_at IS NOT NULL;

UPDATE stepgate_meta SET value = '11' WHERE key = 'schema';
