-- One-time enrolment invitations for policies with "enrolment": "invite". Codes only as hashes.
CREATE TABLE IF NOT EXISTS enrolment_invites (
  code_hash   TEXT PRIMARY KEY,
  user_ref    TEXT NOT NULL,
  issued_by   TEXT NOT NULL,   -- blind index of the admin who issued it
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  used_at     INTEGER
) STRICT;

UPDATE stepgate_meta SET value = '4' WHERE key = 'schema';
