-- A spool file is known by device and inode (file_key) and recognised as the same file by
-- the hash of its first head_len bytes: min(4 KiB, the checkpoint), so the identity of a
-- file still smaller than 4 KiB does not change while it grows.
ALTER TABLE cdr_spool_files ADD COLUMN head_len BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cdr_spool_files ADD COLUMN head_sha256 TEXT NOT NULL DEFAULT '';
