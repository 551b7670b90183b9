-- The runner's claims walk these indexes in claim order and stop at the first row that is
-- free (`ORDER BY due_at, id` / `ORDER BY email_next_attempt, id`, `LIMIT 1`), so a claim
-- costs the same with 10 pending reports or 100 000.
DROP INDEX call_csv_reports_work;
DROP INDEX call_csv_reports_mail;
CREATE INDEX call_csv_reports_work ON call_csv_reports (status, due_at, id);
CREATE INDEX call_csv_reports_mail ON call_csv_reports (email_status, email_next_attempt, id);
