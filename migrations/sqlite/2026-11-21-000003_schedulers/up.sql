-- Call CSV schedulers (standing orders) and their reports. A report row is created when an
-- occurrence falls due, before any work ("recorded before worked on"), then claimed with a
-- lease, built, and handed to the mail outbox, all tracked on the same row.

CREATE TABLE call_csv_schedulers (
    id TEXT PRIMARY KEY NOT NULL,
    brand_id TEXT NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    client_id TEXT REFERENCES clients(id) ON DELETE CASCADE,
    -- 'brand' (created by a brand operator: brand columns) or 'client' (client columns).
    level TEXT NOT NULL,
    name TEXT NOT NULL,
    client_type TEXT,
    unit TEXT NOT NULL,
    frequency INTEGER NOT NULL,
    cron TEXT,
    call_direction TEXT,
    carrier_id TEXT REFERENCES carriers(id),
    ddi_provider_id TEXT REFERENCES ddi_providers(id),
    ddi_id TEXT REFERENCES ddis(id),
    endpoint_type TEXT,
    endpoint_id TEXT REFERENCES endpoints(id),
    email TEXT NOT NULL,
    notification_template_id TEXT REFERENCES notification_templates(id),
    next_execution TIMESTAMP,
    last_execution TIMESTAMP,
    last_execution_error TEXT,
    enabled BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX call_csv_schedulers_brand_name ON call_csv_schedulers (brand_id, name) WHERE level = 'brand';
CREATE UNIQUE INDEX call_csv_schedulers_client_name ON call_csv_schedulers (client_id, name) WHERE level = 'client';
CREATE INDEX call_csv_schedulers_due ON call_csv_schedulers (enabled, next_execution);

CREATE TABLE call_csv_reports (
    id TEXT PRIMARY KEY NOT NULL,
    -- No foreign key: a scheduler's reports stay when it is deleted.
    scheduler_id TEXT NOT NULL,
    brand_id TEXT NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    client_id TEXT REFERENCES clients(id) ON DELETE CASCADE,
    -- Copied from the scheduler when the occurrence is recorded, so a report keeps its
    -- columns, its audience and its name after the scheduler is deleted.
    level TEXT NOT NULL,
    scheduler_name TEXT NOT NULL,
    due_at TIMESTAMP NOT NULL,
    in_date TIMESTAMP NOT NULL,
    out_date TIMESTAMP NOT NULL,
    -- pending → building → ready
    status TEXT NOT NULL,
    lease_owner TEXT,
    lease_until TIMESTAMP,
    build_attempts INTEGER NOT NULL,
    build_error TEXT,
    file_name TEXT,
    file_path TEXT,
    file_size BIGINT,
    sha256 TEXT,
    row_count BIGINT,
    sent_to TEXT NOT NULL,
    -- none | pending | sending | sent | failed
    email_status TEXT NOT NULL,
    email_attempts INTEGER NOT NULL,
    email_error TEXT,
    email_next_attempt TIMESTAMP,
    email_lease_until TIMESTAMP,
    email_possible_duplicate BOOLEAN NOT NULL,
    message_id TEXT NOT NULL,
    sent_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX call_csv_reports_work ON call_csv_reports (status, due_at);
CREATE INDEX call_csv_reports_mail ON call_csv_reports (email_status, email_next_attempt);
CREATE INDEX call_csv_reports_scheduler ON call_csv_reports (scheduler_id, created_at);
CREATE INDEX call_csv_reports_brand ON call_csv_reports (brand_id, created_at);
