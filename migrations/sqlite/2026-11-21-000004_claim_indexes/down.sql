DROP INDEX call_csv_reports_work;
DROP INDEX call_csv_reports_mail;
CREATE INDEX call_csv_reports_work ON call_csv_reports (status, due_at);
CREATE INDEX call_csv_reports_mail ON call_csv_reports (email_status, email_next_attempt);
