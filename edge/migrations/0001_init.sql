-- Stepgate D1 schema, version 1: bookkeeping only. Factors (0002), audit log and policies
-- arrive in later migrations; per-user single-writer state lives in the UserGate Durable Object.
CREATE TABLE IF NOT EXISTS stepgate_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

INSERT INTO stepgate_meta (key, value) VALUES ('schema', '1')
  ON CONFLICT (key) DO UPDATE SET value = excluded.value;
