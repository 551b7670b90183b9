DROP TABLE call_csv_reports;
DROP TABLE call_csv_schedulers;
