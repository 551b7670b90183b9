-- call_rollups loses its foreign key to brands (issue 10, ingestion cost): every row a
-- batch of calls inserts paid a referential check (a trigger locking the brand's row), the
-- largest share of what keeping the statistics cost ingestion. A brand's rows are deleted
-- with the brand by db::brands::delete instead of by cascade. HOT updates: a fill factor
-- leaves room on each page for the new version of a row whose sums change.
ALTER TABLE call_rollups DROP CONSTRAINT IF EXISTS call_rollups_brand_id_fkey;
ALTER TABLE call_rollups SET (fillfactor = 80);
