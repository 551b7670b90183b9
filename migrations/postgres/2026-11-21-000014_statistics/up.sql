-- Traffic statistics (issue 10): every call's destination country, its money as exact
-- integers the database can sum, clients' home country, and the backfill's checkpoint.

-- Home country (ISO 3166-1 alpha-2) of a client; NULL = the brand's.
ALTER TABLE clients ADD COLUMN country TEXT;

-- ISO 3166-1 alpha-2 of the external party's number; NULL for extensions and unknown.
ALTER TABLE billable_calls ADD COLUMN destination_country TEXT;
-- cost and price in millionths (plans round to at most 6 decimals, so this is exact);
-- always set together with the text columns, which stay the source of the API's values.
ALTER TABLE billable_calls ADD COLUMN cost_micros BIGINT;
ALTER TABLE billable_calls ADD COLUMN price_micros BIGINT;
CREATE INDEX billable_calls_country_start ON billable_calls (brand_id, destination_country, start_time);

-- Resumable background jobs over stored calls: how far each has gone (the last call id
-- done, ids being time-ordered UUIDs) and whether it is finished.
CREATE TABLE call_backfills (
    name TEXT PRIMARY KEY NOT NULL,
    last_id TEXT NOT NULL,
    done BOOLEAN NOT NULL
);
-- Calls stored from now on get their country at ingestion; the older ones by the job.
INSERT INTO call_backfills (name, last_id, done) VALUES ('destination_country', '', FALSE);

UPDATE billable_calls SET
    cost_micros = CAST(ROUND(CAST(cost AS NUMERIC) * 1000000) AS BIGINT),
    price_micros = CAST(ROUND(CAST(price AS NUMERIC) * 1000000) AS BIGINT)
WHERE cost IS NOT NULL OR price IS NOT NULL;
