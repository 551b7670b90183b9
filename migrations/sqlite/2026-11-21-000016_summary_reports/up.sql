-- Summary reports (issue 10, item 4): a scheduler's kind (`calls`, the call CSV; or
-- `summary`, its traffic summed by `group_by`, one or two /stats dimensions separated by
-- a comma), and two filters for both kinds: destination countries (comma list of ISO
-- alpha-2 codes) and international calls only (true) or the others (false).
ALTER TABLE call_csv_schedulers ADD COLUMN kind TEXT NOT NULL DEFAULT 'calls';
ALTER TABLE call_csv_schedulers ADD COLUMN group_by TEXT;
ALTER TABLE call_csv_schedulers ADD COLUMN destination_countries TEXT;
ALTER TABLE call_csv_schedulers ADD COLUMN international BOOLEAN;
