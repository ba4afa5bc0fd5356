-- Personal API tokens belong to one organisation: the one their owner (`Identity.sub`: the subject in
-- 'default', `<org>/<subject>` elsewhere) belongs to. Existing tokens are the default organisation's.
-- A token is accepted only where its organisation matches both the path and its owner's key, so a
-- row moved to another organisation in D1 stops working (edge/admin/api-tokens.ts).
ALTER TABLE api_tokens ADD COLUMN org_id TEXT NOT NULL DEFAULT 'default';
CREATE INDEX IF NOT EXISTS api_tokens_org_user ON api_tokens (org_id, user_ref);

UPDATE stepgate_meta SET value = '12' WHERE key = 'schema';
