-- Set once the message is composed and about to be given to the SMTP server (the claim
-- alone is not enough: a runner that dies while composing has sent nothing). A send taken
-- over from a vanished runner is flagged as a possible duplicate only when this is set.
ALTER TABLE call_csv_reports ADD COLUMN email_handed_over BOOLEAN NOT NULL DEFAULT false;
