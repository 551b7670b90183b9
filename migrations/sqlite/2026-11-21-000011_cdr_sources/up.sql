-- CDR sources (issue 9): the feeds of a brand's switches and platforms, every arrival of
-- records as an import with its counts and first errors, the spool directory checkpoints,
-- and what calls now remember of where they came from.

-- The codes records carry (account code, trunk or gateway name, extension or user id).
ALTER TABLE brands ADD COLUMN country TEXT;
ALTER TABLE clients ADD COLUMN code TEXT;
ALTER TABLE carriers ADD COLUMN code TEXT;
ALTER TABLE endpoints ADD COLUMN code TEXT;
-- Several NULL codes are allowed; a code given is unique where records look it up.
CREATE UNIQUE INDEX clients_brand_code ON clients (brand_id, code);
CREATE UNIQUE INDEX carriers_brand_code ON carriers (brand_id, code);
CREATE UNIQUE INDEX endpoints_client_code ON endpoints (client_id, code);

CREATE TABLE cdr_sources (
    id TEXT PRIMARY KEY NOT NULL,
    brand_id TEXT NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    format TEXT NOT NULL,
    -- NULL: the brand's time zone, read when records are imported.
    timezone TEXT,
    -- JSON: the column names in order (asterisk-csv, freeswitch-csv), NULL = the default.
    columns TEXT,
    answered_only BOOLEAN NOT NULL,
    -- JSON {countryCode, nationalPrefix, internationalPrefix, extensionMaxDigits,
    -- rewriteRules}; NULL = the brand's country's conventions.
    numbering TEXT,
    -- JSON [{field, matchExpr, direction}], first match wins.
    direction_rules TEXT NOT NULL,
    -- JSON {client, carrier, endpoint, defaultClient, defaultCarrier}.
    mapping TEXT NOT NULL,
    -- JSON list of Webex call types imported, NULL = the PSTN ones.
    call_types TEXT,
    spool_path TEXT,
    spool_pattern TEXT,
    pull_url TEXT,
    pull_token TEXT,
    pull_interval_minutes INTEGER,
    callid_prefix TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    -- SHA-256 of the generated push secret (the secret itself is shown once).
    push_secret_hash TEXT NOT NULL,
    -- The last spool or pull problem, and the pull's progress.
    last_error TEXT,
    last_pulled_at TIMESTAMP,
    pull_checkpoint TIMESTAMP,
    -- Which instance reads the source's spool or pull now, until when.
    lease_owner TEXT,
    lease_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (brand_id, name)
);

CREATE TABLE cdr_imports (
    id TEXT PRIMARY KEY NOT NULL,
    brand_id TEXT NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    source_id TEXT NOT NULL REFERENCES cdr_sources(id) ON DELETE CASCADE,
    origin TEXT NOT NULL,
    file_name TEXT,
    bytes BIGINT NOT NULL,
    sha256 TEXT,
    status TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    records BIGINT NOT NULL,
    accepted BIGINT NOT NULL,
    duplicates BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    unrated BIGINT NOT NULL,
    skipped_unanswered BIGINT NOT NULL,
    skipped_internal BIGINT NOT NULL,
    skipped_leg BIGINT NOT NULL,
    skipped_filtered BIGINT NOT NULL,
    -- JSON [{line, callid, message}], the first 1000; error_count counts them all.
    errors TEXT NOT NULL,
    error_count BIGINT NOT NULL,
    -- Why a failed import stopped, with the byte offset reached.
    failure TEXT,
    -- Pushes are grouped into one import per source per hour: the hour, for pushes only.
    push_hour TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX cdr_imports_brand_started ON cdr_imports (brand_id, started_at);
CREATE INDEX cdr_imports_source_started ON cdr_imports (source_id, started_at);
CREATE UNIQUE INDEX cdr_imports_push_hour ON cdr_imports (source_id, push_hour);

-- How far each spool file has been read: the file's identity (device, inode, hash of its
-- first 4 KiB) and the byte offset after its last complete record, committed with the
-- batch of calls it covers.
CREATE TABLE cdr_spool_files (
    source_id TEXT NOT NULL REFERENCES cdr_sources(id) ON DELETE CASCADE,
    file_key TEXT NOT NULL,
    path TEXT NOT NULL,
    byte_offset BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source_id, file_key)
);

-- Where a call came from and how it ended. Calls posted to the API are answered.
ALTER TABLE billable_calls ADD COLUMN source_id TEXT;
ALTER TABLE billable_calls ADD COLUMN disposition TEXT NOT NULL DEFAULT 'answered';
ALTER TABLE billable_calls ADD COLUMN hangup_cause INTEGER;
