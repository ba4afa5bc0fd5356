-- Passkeys / security keys. The user only as a blind index; the nickname sealed.
CREATE TABLE IF NOT EXISTS webauthn_credentials (
  id              TEXT PRIMARY KEY,   -- credential id, base64url
  user_ref        TEXT NOT NULL,
  public_key      TEXT NOT NULL,      -- COSE public key, base64url
  counter         INTEGER NOT NULL,
  transports      TEXT NOT NULL,      -- JSON array
  device_type     TEXT NOT NULL,      -- singleDevice | multiDevice
  backed_up       INTEGER NOT NULL,
  nickname_sealed TEXT,
  created_at      INTEGER NOT NULL,
  last_used_at    INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS webauthn_credentials_user ON webauthn_credentials (user_ref);

UPDATE stepgate_meta SET value = '3' WHERE key = 'schema';
