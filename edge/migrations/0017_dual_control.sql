-- Issue 14, dual control (docs/approvals.md): an exact request that waits for other people's
-- approval, the approvers' decisions, and each organisation's webhook with its deliveries.
-- People are blind indexes under the row's key_id (every ref of one request uses one key, so one
-- person is one ref however many times they act), with what people read sealed beside.

CREATE TABLE IF NOT EXISTS approval_requests (
  id                TEXT PRIMARY KEY,         -- random, base64url (the URL's id)
  org_id            TEXT NOT NULL REFERENCES orgs(id),
  app_id            TEXT NOT NULL,            -- 'bundled' for the bundled app
  rule              TEXT NOT NULL,
  key_id            TEXT NOT NULL,            -- the key of requester_ref and every approver_ref of this request
  requester_ref     TEXT NOT NULL,            -- blind index of the requester (Stepgate's key for the person)
  session_hash      TEXT NOT NULL,            -- SHA-256 of the requester's session id: only that session carries it out
  action_digest     TEXT NOT NULL,            -- the exact action (method, host, path, query, body, rule)
  state             TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'expired', 'cancelled', 'carried-out')),
  requirement_json  TEXT NOT NULL,            -- the rule's approval as it was when asked
  request_sealed    TEXT,                     -- the exact request, sealed (AAD: id, org); NULL once closed
  view_sealed       TEXT NOT NULL,            -- what approvers see (requester, action, body summary, where, why), sealed (AAD: id, org)
  justification_sealed TEXT,                  -- the requester's reason, sealed (AAD: id, org), or NULL
  created_at        INTEGER NOT NULL,
  expires_at        INTEGER NOT NULL,
  closed_at         INTEGER,
  -- 1 once `approval.quorum_reached` is on the record: only then can the request be carried out.
  quorum_recorded   INTEGER NOT NULL DEFAULT 0,
  -- 0 while the event of its closing (expired, cancelled) is owed to the audit log; the cron retries it.
  closure_recorded  INTEGER NOT NULL DEFAULT 1
) STRICT;
CREATE INDEX IF NOT EXISTS approval_requests_org_open ON approval_requests (org_id, state, created_at);
CREATE INDEX IF NOT EXISTS approval_requests_requester ON approval_requests (requester_ref, created_at);
CREATE INDEX IF NOT EXISTS approval_requests_expiry ON approval_requests (expires_at) WHERE state IN ('pending', 'approved');
-- One open request per exact action of one session: asking again answers the one that waits.
CREATE UNIQUE INDEX IF NOT EXISTS approval_requests_open_action
  ON approval_requests (requester_ref, session_hash, action_digest) WHERE state IN ('pending', 'approved');

CREATE TABLE IF NOT EXISTS approval_votes (
  approval_id    TEXT NOT NULL REFERENCES approval_requests(id) ON DELETE CASCADE,
  approver_ref   TEXT NOT NULL,               -- blind index of the approver under the request's key_id: one person, one vote
  vote           TEXT NOT NULL CHECK (vote IN ('approve', 'deny')),
  eligible_json  TEXT NOT NULL,               -- the approver groups (indexes) this person belonged to when they voted
  sealed         TEXT NOT NULL,               -- { person, subject, amr, reason, signature }, sealed (AAD: approval, approver_ref)
  at             INTEGER NOT NULL,
  recorded       INTEGER NOT NULL DEFAULT 0,  -- 1 once its event is on the record: only recorded approvals count
  PRIMARY KEY (approval_id, approver_ref)
) STRICT;

CREATE TABLE IF NOT EXISTS org_webhooks (
  org_id             TEXT PRIMARY KEY REFERENCES orgs(id),
  url                TEXT NOT NULL,           -- sealed (AAD: org): a Slack-style URL is itself a credential; https (http only to loopback in development)
  format             TEXT NOT NULL CHECK (format IN ('json', 'slack')),
  secret_sealed      TEXT NOT NULL,           -- the signing secret, sealed (AAD: org)
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  updated_by_sealed  TEXT                     -- who set it, sealed (AAD: org)
) STRICT;

CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id               TEXT PRIMARY KEY,
  org_id           TEXT NOT NULL REFERENCES orgs(id),
  event            TEXT NOT NULL,
  approval_id      TEXT,
  payload_json     TEXT NOT NULL,             -- what and where only: never a body, a secret or a session
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER,                   -- NULL once delivered or given up
  last_status      TEXT,
  created_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS webhook_deliveries_org ON webhook_deliveries (org_id, created_at);

UPDATE stepgate_meta SET value = '17' WHERE key = 'schema';
