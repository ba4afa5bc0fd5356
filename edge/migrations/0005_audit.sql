-- The audit log: one row per decision, sealed details, a per-tenant hash chain (assigned by the
-- AuditSequencer Durable Object, so concurrent writers cannot fork it).
CREATE TABLE IF NOT EXISTS audit_events (
  tenant    TEXT NOT NULL,
  seq       INTEGER NOT NULL,
  ts        INTEGER NOT NULL,
  type      TEXT NOT NULL,
  outcome   TEXT NOT NULL,
  actor_ref TEXT,            -- blind index of the person
  kid       TEXT NOT NULL,   -- key id of the sealed details and the chain MAC
  sealed    TEXT NOT NULL,   -- AES-256-GCM of the details, AAD = tenant|seq|type
  prev_hash TEXT NOT NULL,
  hash      TEXT NOT NULL,
  PRIMARY KEY (tenant, seq)
) STRICT;
CREATE INDEX IF NOT EXISTS audit_events_actor ON audit_events (tenant, actor_ref, seq);
CREATE INDEX IF NOT EXISTS audit_events_type ON audit_events (tenant, type, seq);

UPDATE stepgate_meta SET value = '5' WHERE key = 'schema';
