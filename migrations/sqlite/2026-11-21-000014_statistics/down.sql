DROP TABLE call_backfills;
DROP INDEX billable_calls_country_start;
ALTER TABLE billable_calls DROP COLUMN price_micros;
ALTER TABLE billable_calls DROP COLUMN cost_micros;
ALTER TABLE billable_calls DROP COLUMN destination_country;
ALTER TABLE clients DROP COLUMN country;
