-- Issue 13: each app's policy as a sequence of immutable versions. Exactly one is 'active' (a
-- partial unique index enforces it); app_policies stays the active copy the app registry reads.
-- A version that weakens protection is 'proposed' until a second admin approves it.
CREATE TABLE IF NOT EXISTS policy_versions (
  app_id              TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  version             INTEGER NOT NULL,
  document_json       TEXT NOT NULL,
  hash                TEXT NOT NULL,      -- SHA-256 of its canonical JSON
  comment             TEXT NOT NULL DEFAULT '',
  author_ref          TEXT,               -- blind index of the author (NULL: the version taken over from app_policies)
  author_sealed       TEXT,               -- the author, sealed (AAD: app and hash, as app_policies.updated_by_sealed)
  created_at          INTEGER NOT NULL,
  state               TEXT NOT NULL CHECK (state IN ('active', 'superseded', 'proposed', 'rejected')),
  approved_by_sealed  TEXT,               -- who approved a weakening version, sealed (AAD: app and hash)
  PRIMARY KEY (app_id, version)
) STRICT;

CREATE UNIQUE INDEX IF NOT EXISTS policy_versions_one_active ON policy_versions (app_id) WHERE state = 'active';
CREATE INDEX IF NOT EXISTS policy_versions_state ON policy_versions (app_id, state);

-- Deleting an app (app-store.ts deleteApp) deletes its app_policies row first: its versions go with
-- it here, so the app's own DELETE changes exactly one row (deleteApp checks that count).
CREATE TRIGGER IF NOT EXISTS policy_versions_follow_app_policies AFTER DELETE ON app_policies
BEGIN
  DELETE FROM policy_versions WHERE app_id = old.app_id;
END;
