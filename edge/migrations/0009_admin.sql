-- Administration: organisations, their apps (hosts, origin, identity), one policy per app, and the
-- roles people hold in an organisation or an app (docs/admin.md). People are blind indexes (keyed
-- HMAC) with the person sealed beside, so every row can be re-keyed; no table stores a plain user
-- id. Who granted a role or saved a policy is sealed only: nothing looks rows up by it.
CREATE TABLE IF NOT EXISTS orgs (
  id          TEXT PRIMARY KEY CHECK (length(id) BETWEEN 2 AND 32 AND id NOT GLOB '*[^a-z0-9-]*'),
  name        TEXT NOT NULL,
  created_at  INTEGER NOT NULL
) STRICT;

-- The deployment's own organisation: the bundled app (policy.json, IDENTITY, ORIGIN_URL) is its app.
INSERT OR IGNORE INTO orgs (id, name, created_at) VALUES ('default', 'Default', 0);

CREATE TABLE IF NOT EXISTS apps (
  id             TEXT PRIMARY KEY,       -- random, base64url
  org_id         TEXT NOT NULL REFERENCES orgs(id),
  name           TEXT NOT NULL,
  origin_url     TEXT,                   -- NULL: fetch(request), the Cloudflare-proxied origin
  identity_json  TEXT NOT NULL,          -- the identity configuration (IdentityConfig), validated on write
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS apps_org ON apps (org_id);

-- One app per host name (lower case, no port, no trailing dot): the host decides the app. The
-- primary key is what makes a second claim of a host fail, even between racing writers.
CREATE TABLE IF NOT EXISTS app_hosts (
  host    TEXT PRIMARY KEY CHECK (host = lower(host) AND host NOT GLOB '*[^a-z0-9.-]*'),
  app_id  TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE
) STRICT;
CREATE INDEX IF NOT EXISTS app_hosts_app ON app_hosts (app_id);

-- The app's policy document (the format of docs/policy.md), validated on write.
CREATE TABLE IF NOT EXISTS app_policies (
  app_id             TEXT PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
  document_json      TEXT NOT NULL,
  hash               TEXT NOT NULL,      -- SHA-256 of its canonical JSON, as the audit log names it
  updated_at         INTEGER NOT NULL,
  updated_by_sealed  TEXT                -- who saved it, sealed (AAD: app and hash); NULL when unknown
) STRICT;

-- Roles: owner, admin, auditor, helpdesk for the whole organisation (app_id ''), app-admin for one
-- app ('' rather than NULL, so that UNIQUE holds for organisation-wide roles too).
CREATE TABLE IF NOT EXISTS role_grants (
  id                 TEXT PRIMARY KEY,
  org_id             TEXT NOT NULL REFERENCES orgs(id),
  app_id             TEXT NOT NULL DEFAULT '',  -- '' = the whole organisation
  person_ref         TEXT NOT NULL,             -- blind index of the person
  person_sealed      TEXT NOT NULL,             -- the person, sealed (AAD: id, org, app, role), for reading and re-keying
  role               TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'app-admin', 'auditor', 'helpdesk')),
  granted_by_sealed  TEXT,                      -- who granted it, sealed (AAD: id); NULL for the bootstrap owner
  granted_at         INTEGER NOT NULL,
  CHECK ((role = 'app-admin') = (app_id <> '')),
  UNIQUE (org_id, app_id, person_ref, role)
) STRICT;
CREATE INDEX IF NOT EXISTS role_grants_person ON role_grants (person_ref);
CREATE INDEX IF NOT EXISTS role_grants_app ON role_grants (app_id) WHERE app_id <> '';

UPDATE stepgate_meta SET value = '9' WHERE key = 'schema';
