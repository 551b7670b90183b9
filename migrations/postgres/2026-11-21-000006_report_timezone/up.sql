-- The timezone a report's period was computed in, fixed when the occurrence is recorded:
-- its CSV times, file name and email dates use it even if the client's or brand's timezone
-- changes before the report is built. NULL on rows recorded before this column existed
-- (those use the owner's timezone at build time, as before).
ALTER TABLE call_csv_reports ADD COLUMN timezone TEXT;
