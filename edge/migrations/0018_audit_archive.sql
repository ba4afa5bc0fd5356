-- Archive of the audit log to R2 (edge/audit/archive.ts, docs/audit.md "Archive and stream"):
-- one row per segment, a contiguous sequence range ending at a signed checkpoint, written as one
-- R2 object. `state` is 'writing' while the object is written and checked (the rows are still in
-- D1; `claim`/`claimed_at` say which maintenance run owns it), 'archived' once the object was read
-- back and verified and the segment's rows left D1, in the same batch as the state change.
CREATE TABLE IF NOT EXISTS audit_segments (
  tenant     TEXT NOT NULL,
  first_seq  INTEGER NOT NULL,
  last_seq   INTEGER NOT NULL,
  first_ts   INTEGER NOT NULL,
  last_ts    INTEGER NOT NULL,
  last_hash  TEXT NOT NULL,
  object_key TEXT NOT NULL,
  state      TEXT NOT NULL CHECK (state IN ('writing', 'archived')),
  claim      TEXT NOT NULL,
  claimed_at INTEGER NOT NULL,
  digest     TEXT,               -- SHA-256 (base64url) of the object, once it was read back
  bytes      INTEGER,
  kids       TEXT,               -- JSON {kid: rows}: the keys its rows are sealed under (keys status counts them)
  PRIMARY KEY (tenant, first_seq)
) STRICT;
