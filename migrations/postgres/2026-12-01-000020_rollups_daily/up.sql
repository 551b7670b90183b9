-- call_rollups loses its foreign key to brands (issue 10, ingestion cost): every row a
-- batch of calls inserts paid a referential check (a trigger locking the brand's row), the
-- largest share of what keeping the statistics cost ingestion. A brand's rows are deleted
-- with the brand by db::brands::delete instead of by cascade. HOT updates: a fill factor
-- leaves room on each page for the new version of a row whose sums change.
ALTER TABLE call_rollups DROP CONSTRAINT IF EXISTS call_rollups_brand_id_fkey;
ALTER TABLE call_rollups SET (fillfactor = 80);

-- Each projection again per UTC day (bucket = seconds since 1970 / 86 400), named with
-- "_day": a month by country or a client's month by endpoint reads a row per day and value
-- instead of one per quarter-hour and value (see db::rollups::Grain).
-- The days of the rows stored before this migration (floor division, also before 1970).
INSERT INTO call_rollups
SELECT brand_id, projection || '_day', (bucket - ((bucket % 96) + 96) % 96) / 96, client_id, value,
    SUM(calls), SUM(answered), SUM(billed_seconds), SUM(cost_micros), SUM(price_micros),
    SUM(margin_micros), SUM(unrated)
FROM call_rollups WHERE projection IN ('b_carrier', 'b_country', 'c_country', 'c_endpoint')
GROUP BY brand_id, projection, (bucket - ((bucket % 96) + 96) % 96) / 96, client_id, value;

-- The journal of differences not folded into call_rollups yet (db::rollups): one narrow
-- row per change to the calls, written in the change's transaction; a background thread
-- folds it into call_rollups, summed and in key order, every half second. '' stands for a
-- call without a carrier, country or endpoint; bucket is the quarter-hour. No index: rows
-- are only appended, then taken all at once by the fold.
CREATE TABLE call_rollup_journal (
    brand_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    carrier TEXT NOT NULL,
    country TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    calls BIGINT NOT NULL,
    answered BIGINT NOT NULL,
    billed_seconds BIGINT NOT NULL,
    cost_micros BIGINT NOT NULL,
    price_micros BIGINT NOT NULL,
    margin_micros BIGINT NOT NULL,
    unrated BIGINT NOT NULL
);
