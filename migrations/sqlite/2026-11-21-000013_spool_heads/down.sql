ALTER TABLE cdr_spool_files DROP COLUMN head_sha256;
ALTER TABLE cdr_spool_files DROP COLUMN head_len;
