-- The audit log by organisation and app (issue 12): each event's organisation and app id, as plain
-- columns beside the sealed event (which holds them too, so verify catches an edited column), so an
-- organisation's readers are served from an index and never open another organisation's rows.
-- `org` is NULL for the organisation "default": the rows written before this migration and the
-- default organisation's new ones alike, so one index lookup (`org IS NULL`) finds all of them.
-- `app_id` is the app's id (apps.id, or "bundled" for the bundled app); NULL for the deployment's
-- own events (cron, maintenance, configuration) and for rows written before this migration.
ALTER TABLE audit_events ADD COLUMN org TEXT;
ALTER TABLE audit_events ADD COLUMN app_id TEXT;
CREATE INDEX IF NOT EXISTS audit_events_org_seq ON audit_events (tenant, org, seq);
CREATE INDEX IF NOT EXISTS audit_events_org_ts ON audit_events (tenant, org, ts);
-- The dashboard's counts per day, app and type read this index alone (it covers app_id).
CREATE INDEX IF NOT EXISTS audit_events_org_type_ts ON audit_events (tenant, org, type, ts, app_id);

UPDATE stepgate_meta SET value = '10' WHERE key = 'schema';
