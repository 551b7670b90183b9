ALTER TABLE call_csv_reports DROP COLUMN email_handed_over;
