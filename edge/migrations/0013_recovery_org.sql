-- One open recovery per person *of an organisation* (docs/admin.md, "Factor recovery"): the rule of
-- 0011 spanned every organisation, so a recovery opened in one could block another's recovery of
-- its own person. The index now includes the organisation; the starting statement checks the same.
DROP INDEX IF EXISTS recoveries_one_open;
CREATE UNIQUE INDEX IF NOT EXISTS recoveries_one_open_per_org ON recoveries (org_id, person_ref) WHERE state IN ('started', 'approved');

UPDATE stepgate_meta SET value = '13' WHERE key = 'schema';
