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

-- SQLite has no exact decimal type: the text is split at its point and read as digits.
UPDATE billable_calls SET
    cost_micros = CASE WHEN cost IS NULL THEN NULL WHEN substr(cost, 1, 1) = '-' THEN -(CAST(CASE WHEN instr(ltrim(cost, '-'), '.') = 0 THEN ltrim(cost, '-') ELSE substr(ltrim(cost, '-'), 1, instr(ltrim(cost, '-'), '.') - 1) END AS INTEGER) * 1000000 + CAST(substr((CASE WHEN instr(ltrim(cost, '-'), '.') = 0 THEN '' ELSE substr(ltrim(cost, '-'), instr(ltrim(cost, '-'), '.') + 1) END) || '000000', 1, 6) AS INTEGER)) ELSE (CAST(CASE WHEN instr(ltrim(cost, '-'), '.') = 0 THEN ltrim(cost, '-') ELSE substr(ltrim(cost, '-'), 1, instr(ltrim(cost, '-'), '.') - 1) END AS INTEGER) * 1000000 + CAST(substr((CASE WHEN instr(ltrim(cost, '-'), '.') = 0 THEN '' ELSE substr(ltrim(cost, '-'), instr(ltrim(cost, '-'), '.') + 1) END) || '000000', 1, 6) AS INTEGER)) END,
    price_micros = CASE WHEN price IS NULL THEN NULL WHEN substr(price, 1, 1) = '-' THEN -(CAST(CASE WHEN instr(ltrim(price, '-'), '.') = 0 THEN ltrim(price, '-') ELSE substr(ltrim(price, '-'), 1, instr(ltrim(price, '-'), '.') - 1) END AS INTEGER) * 1000000 + CAST(substr((CASE WHEN instr(ltrim(price, '-'), '.') = 0 THEN '' ELSE substr(ltrim(price, '-'), instr(ltrim(price, '-'), '.') + 1) END) || '000000', 1, 6) AS INTEGER)) ELSE (CAST(CASE WHEN instr(ltrim(price, '-'), '.') = 0 THEN ltrim(price, '-') ELSE substr(ltrim(price, '-'), 1, instr(ltrim(price, '-'), '.') - 1) END AS INTEGER) * 1000000 + CAST(substr((CASE WHEN instr(ltrim(price, '-'), '.') = 0 THEN '' ELSE substr(ltrim(price, '-'), instr(ltrim(price, '-'), '.') + 1) END) || '000000', 1, 6) AS INTEGER)) END
WHERE cost IS NOT NULL OR price IS NOT NULL;
