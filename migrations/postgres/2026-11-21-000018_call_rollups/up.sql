-- Traffic statistics kept current (issue 10, speed): calls summed per 15-minute UTC bucket
-- (bucket = seconds since 1970 / 900) in a few narrow projections, each partitioning every
-- call of a brand by one dimension:
--   b_carrier  brand-wide (client_id = ''), by carrier_id
--   b_country  brand-wide (client_id = ''), by destination_country
--   c_country  per client, by destination_country
--   c_endpoint per client, by endpoint_id
-- value '' stands for a call without one. Updated in the same transaction as the calls
-- (ingestion, rerating, the country backfill, a client's deletion); see docs/stats.md.
-- Money in millionths, as billable_calls.cost_micros/price_micros; margin over the calls
-- with both; unrated = answered outbound calls without a price.
CREATE TABLE call_rollups (
    brand_id TEXT NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    projection TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    client_id TEXT NOT NULL,
    value TEXT NOT NULL,
    calls BIGINT NOT NULL,
    answered BIGINT NOT NULL,
    billed_seconds BIGINT NOT NULL,
    cost_micros BIGINT NOT NULL,
    price_micros BIGINT NOT NULL,
    margin_micros BIGINT NOT NULL,
    unrated BIGINT NOT NULL,
    -- Time first: every query reads one brand's projection over a range of buckets.
    PRIMARY KEY (brand_id, projection, bucket, client_id, value)
);

-- The calls stored before this migration.
INSERT INTO call_rollups
SELECT brand_id, 'b_carrier', CAST(FLOOR(EXTRACT(EPOCH FROM start_time) / 900) AS BIGINT), '', COALESCE(carrier_id, ''),
    COUNT(*),
    SUM(CASE WHEN disposition = 'answered' THEN 1 ELSE 0 END),
    SUM(CASE WHEN disposition = 'answered' THEN billed_seconds ELSE 0 END),
    COALESCE(SUM(cost_micros), 0),
    COALESCE(SUM(price_micros), 0),
    COALESCE(SUM(price_micros - cost_micros), 0),
    SUM(CASE WHEN disposition = 'answered' AND direction = 'outbound' AND price_micros IS NULL THEN 1 ELSE 0 END)
FROM billable_calls GROUP BY 1, 2, 3, 4, 5;
INSERT INTO call_rollups
SELECT brand_id, 'b_country', CAST(FLOOR(EXTRACT(EPOCH FROM start_time) / 900) AS BIGINT), '', COALESCE(destination_country, ''),
    COUNT(*),
    SUM(CASE WHEN disposition = 'answered' THEN 1 ELSE 0 END),
    SUM(CASE WHEN disposition = 'answered' THEN billed_seconds ELSE 0 END),
    COALESCE(SUM(cost_micros), 0),
    COALESCE(SUM(price_micros), 0),
    COALESCE(SUM(price_micros - cost_micros), 0),
    SUM(CASE WHEN disposition = 'answered' AND direction = 'outbound' AND price_micros IS NULL THEN 1 ELSE 0 END)
FROM billable_calls GROUP BY 1, 2, 3, 4, 5;
INSERT INTO call_rollups
SELECT brand_id, 'c_country', CAST(FLOOR(EXTRACT(EPOCH FROM start_time) / 900) AS BIGINT), client_id, COALESCE(destination_country, ''),
    COUNT(*),
    SUM(CASE WHEN disposition = 'answered' THEN 1 ELSE 0 END),
    SUM(CASE WHEN disposition = 'answered' THEN billed_seconds ELSE 0 END),
    COALESCE(SUM(cost_micros), 0),
    COALESCE(SUM(price_micros), 0),
    COALESCE(SUM(price_micros - cost_micros), 0),
    SUM(CASE WHEN disposition = 'answered' AND direction = 'outbound' AND price_micros IS NULL THEN 1 ELSE 0 END)
FROM billable_calls GROUP BY 1, 2, 3, 4, 5;
INSERT INTO call_rollups
SELECT brand_id, 'c_endpoint', CAST(FLOOR(EXTRACT(EPOCH FROM start_time) / 900) AS BIGINT), client_id, COALESCE(endpoint_id, ''),
    COUNT(*),
    SUM(CASE WHEN disposition = 'answered' THEN 1 ELSE 0 END),
    SUM(CASE WHEN disposition = 'answered' THEN billed_seconds ELSE 0 END),
    COALESCE(SUM(cost_micros), 0),
    COALESCE(SUM(price_micros), 0),
    COALESCE(SUM(price_micros - cost_micros), 0),
    SUM(CASE WHEN disposition = 'answered' AND direction = 'outbound' AND price_micros IS NULL THEN 1 ELSE 0 END)
FROM billable_calls GROUP BY 1, 2, 3, 4, 5;
