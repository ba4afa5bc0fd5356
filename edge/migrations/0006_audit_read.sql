-- The audit log, wired in (issue 4): searchable columns for the app and the client IP (a blind
-- index), signed checkpoints, personal API tokens for the CLI, and each factor row's user id sealed
-- beside its blind index, so key rotation can re-derive that index under the new key.
ALTER TABLE audit_events ADD COLUMN app TEXT;
ALTER TABLE audit_events ADD COLUMN ip_ref TEXT;
CREATE INDEX IF NOT EXISTS audit_events_ts ON audit_events (tenant, ts);
CREATE INDEX IF NOT EXISTS audit_events_app ON audit_events (tenant, app, seq);
CREATE INDEX IF NOT EXISTS audit_events_ip ON audit_events (tenant, ip_ref, seq);
CREATE INDEX IF NOT EXISTS audit_events_kid ON audit_events (kid);

CREATE TABLE IF NOT EXISTS audit_checkpoints (
  tenant TEXT NOT NULL,
  seq    INTEGER NOT NULL,
  ts     INTEGER NOT NULL,
  kind   TEXT NOT NULL CHECK (kind IN ('periodic', 'count', 'retention', 'resigned')),
  kid    TEXT NOT NULL,   -- key id of the signature
  jws    TEXT NOT NULL,   -- compact JWS (EdDSA) over {tenant, seq, hash, time, kind}
  PRIMARY KEY (tenant, seq)
) STRICT;

CREATE TABLE IF NOT EXISTS api_tokens (
  id          TEXT PRIMARY KEY,
  user_ref    TEXT NOT NULL,
  sub_sealed  TEXT NOT NULL,
  secret_hash TEXT NOT NULL,   -- SHA-256 of the token's secret part
  scopes      TEXT NOT NULL,   -- JSON array
  label       TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  revoked_at  INTEGER,
  last_used_at INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS api_tokens_user ON api_tokens (user_ref);

ALTER TABLE totp_factors ADD COLUMN sub_sealed TEXT;
ALTER TABLE webauthn_credentials ADD COLUMN sub_sealed TEXT;
ALTER TABLE recovery_codes ADD COLUMN sub_sealed TEXT;

UPDATE stepgate_meta SET value = '6' WHERE key = 'schema';
