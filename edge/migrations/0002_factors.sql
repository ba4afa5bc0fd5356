-- Factors. Users appear only as blind indexes ("<kid>.<truncated HMAC>", see edge/crypto/blind-index.ts);
-- secrets only sealed (AES-256-GCM, AAD bound to the row).

CREATE TABLE IF NOT EXISTS totp_factors (
  id            TEXT PRIMARY KEY,
  user_ref      TEXT NOT NULL,
  secret_sealed TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('pending', 'active')),
  created_at    INTEGER NOT NULL,
  confirmed_at  INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS totp_factors_user ON totp_factors (user_ref);

CREATE TABLE IF NOT EXISTS recovery_codes (
  code_hash  TEXT PRIMARY KEY,
  user_ref   TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  used_at    INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS recovery_codes_user ON recovery_codes (user_ref);

UPDATE stepgate_meta SET value = '2' WHERE key = 'schema';
