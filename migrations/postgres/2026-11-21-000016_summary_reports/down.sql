ALTER TABLE call_csv_schedulers DROP COLUMN international;
ALTER TABLE call_csv_schedulers DROP COLUMN destination_countries;
ALTER TABLE call_csv_schedulers DROP COLUMN group_by;
ALTER TABLE call_csv_schedulers DROP COLUMN kind;
