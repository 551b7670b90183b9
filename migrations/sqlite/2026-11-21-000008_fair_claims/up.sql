-- Fair claims (issue 13): the runner takes turns between brands, and between the
-- schedulers of a brand, so one tenant's backlog never holds up another's reports or emails.
-- Each step of a claim (the next brand after the last one served, the next scheduler of that
-- brand, that scheduler's oldest occurrence) is one walk of these indexes that stops at the
-- first free row, so a claim still costs the same whatever the backlog.
CREATE INDEX call_csv_reports_fair_work ON call_csv_reports (status, brand_id, scheduler_id, due_at, id);
CREATE INDEX call_csv_reports_fair_mail ON call_csv_reports (email_status, brand_id, scheduler_id, email_next_attempt, id);
-- Attempts whose outcome was unknown (the connection broke after the message was handed
-- over): resending stops after CALLCSV_MAIL_UNKNOWN_OUTCOME_LIMIT of them.
ALTER TABLE call_csv_reports ADD COLUMN email_unknown_outcomes INTEGER NOT NULL DEFAULT 0;
