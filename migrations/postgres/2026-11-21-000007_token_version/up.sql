-- Bumped (atomically, `token_version = token_version + 1`) whenever an administrator's
-- password changes; every token carries the version it was issued under and is refused
-- once it differs, so tokens issued before a password change stop working at once, on
-- every instance sharing this database (no clock comparison between instances).
ALTER TABLE administrators ADD COLUMN token_version BIGINT NOT NULL DEFAULT 0;
