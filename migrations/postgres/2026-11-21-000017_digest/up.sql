-- Digests (issue 10, item 5): a scheduler may put a summary of its report's period in the
-- email body. The digest is kept beside its report as built with the file (plain text and
-- HTML), so a resend tells the same figures as the attachment.
ALTER TABLE call_csv_schedulers ADD COLUMN digest BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE call_csv_report_digests (
    report_id TEXT PRIMARY KEY NOT NULL,
    digest_text TEXT NOT NULL,
    digest_html TEXT NOT NULL
);
