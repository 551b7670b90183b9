ALTER TABLE call_csv_reports DROP COLUMN timezone;
