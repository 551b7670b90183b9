-- The console's sign-in sessions (issue 11). The cookie holds a random token; only its
-- SHA-256 is stored, so a copy of the database opens no session. A session ends at
-- logout (row deleted), after CALLCSV_UI_SESSION_IDLE without a request, when its
-- administrator is deactivated or deleted, or when the password changes (token_version).
CREATE TABLE ui_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    administrator_id TEXT NOT NULL REFERENCES administrators(id) ON DELETE CASCADE,
    token_version BIGINT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);
CREATE INDEX ui_sessions_administrator ON ui_sessions (administrator_id);
