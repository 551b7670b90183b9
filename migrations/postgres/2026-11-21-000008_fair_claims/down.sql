ALTER TABLE call_csv_reports DROP COLUMN email_unknown_outcomes;
DROP INDEX call_csv_reports_fair_mail;
DROP INDEX call_csv_reports_fair_work;
