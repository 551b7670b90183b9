-- Alerts (issue 12): rules evaluated over the rated calls, and the events they fired.
-- An event is unique per (rule, subject, window): recording one twice (a crash, a second
-- instance) is a no-op, so notifying is "recorded, then claimed" like report emails.

CREATE TABLE alert_rules (
    id TEXT PRIMARY KEY NOT NULL,
    brand_id TEXT NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    -- The client the rule watches: fixed to the owner for client-level rules.
    client_id TEXT REFERENCES clients(id) ON DELETE CASCADE,
    -- 'brand' (made by a brand operator) or 'client' (by a client administrator).
    level TEXT NOT NULL,
    name TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    -- spend | destination | quality | velocity
    kind TEXT NOT NULL,
    client_type TEXT,
    carrier_id TEXT REFERENCES carriers(id) ON DELETE CASCADE,
    endpoint_type TEXT,
    endpoint_id TEXT REFERENCES endpoints(id) ON DELETE CASCADE,
    direction TEXT,
    destination_countries TEXT,
    email TEXT NOT NULL,
    webhook_url TEXT,
    webhook_secret TEXT,
    notification_template_id TEXT REFERENCES notification_templates(id),
    -- Kind-specific settings; amounts and values are exact decimals as text. `measure` is
    -- a spend rule's measure or a quality rule's metric; `threshold` a spend rule's
    -- threshold or a quality rule's value (the kinds never share a row).
    measure TEXT,
    time_window TEXT,
    per TEXT,
    threshold TEXT,
    mode TEXT,
    countries TEXT,
    prefixes TEXT,
    condition TEXT,
    compare_to TEXT,
    min_calls INTEGER,
    max_calls INTEGER,
    minutes INTEGER,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX alert_rules_brand_name ON alert_rules (brand_id, name) WHERE level = 'brand';
CREATE UNIQUE INDEX alert_rules_client_name ON alert_rules (client_id, name) WHERE level = 'client';

CREATE TABLE alert_events (
    id TEXT PRIMARY KEY NOT NULL,
    -- No foreign key: a rule's events stay when it is deleted (the record of what fired).
    rule_id TEXT NOT NULL,
    brand_id TEXT NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    client_id TEXT REFERENCES clients(id) ON DELETE CASCADE,
    -- Copied from the rule when the event is recorded.
    level TEXT NOT NULL,
    rule_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    -- client | endpoint | carrier | caller; all null for the whole scope.
    subject_type TEXT,
    subject_id TEXT,
    subject_name TEXT,
    -- subject_type:subject_id, or '' for the whole scope: part of the unique key.
    subject_key TEXT NOT NULL,
    window_from TIMESTAMP NOT NULL,
    window_to TIMESTAMP NOT NULL,
    measured TEXT NOT NULL,
    threshold TEXT NOT NULL,
    previous TEXT,
    fired_at TIMESTAMP NOT NULL,
    -- Up to 20 callids, comma-separated.
    calls TEXT NOT NULL,
    sent_to TEXT NOT NULL,
    -- none | pending | sending | sent | failed
    email_status TEXT NOT NULL,
    email_attempts INTEGER NOT NULL,
    email_error TEXT,
    email_next_attempt TIMESTAMP,
    email_lease_until TIMESTAMP,
    webhook_status TEXT NOT NULL,
    webhook_attempts INTEGER NOT NULL,
    webhook_error TEXT,
    webhook_next_attempt TIMESTAMP,
    webhook_lease_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX alert_events_once ON alert_events (rule_id, subject_key, window_from);
CREATE INDEX alert_events_brand ON alert_events (brand_id, fired_at);
CREATE INDEX alert_events_email ON alert_events (email_status, email_next_attempt);
CREATE INDEX alert_events_webhook ON alert_events (webhook_status, webhook_next_attempt);
