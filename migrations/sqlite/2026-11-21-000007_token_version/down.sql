ALTER TABLE administrators DROP COLUMN token_version;
