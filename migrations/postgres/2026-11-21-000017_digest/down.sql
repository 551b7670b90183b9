DROP TABLE call_csv_report_digests;
ALTER TABLE call_csv_schedulers DROP COLUMN digest;
