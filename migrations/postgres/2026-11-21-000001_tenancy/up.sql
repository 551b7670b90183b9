-- Tenancy: brands, their clients, carriers, DDI providers, DDIs, endpoints,
-- notification templates and the administrators who log in.
-- Ids are UUID text; times are UTC timestamps; JSON arrays are stored as text.

CREATE TABLE brands (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    timezone TEXT NOT NULL,
    language TEXT NOT NULL,
    currency TEXT NOT NULL,
    email TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE clients (
    id TEXT PRIMARY KEY NOT NULL,
    brand_id TEXT NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    client_type TEXT NOT NULL,
    timezone TEXT NOT NULL,
    language TEXT NOT NULL,
    show_billing_details BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (brand_id, name)
);

CREATE TABLE carriers (
    id TEXT PRIMARY KEY NOT NULL,
    brand_id TEXT NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (brand_id, name)
);

CREATE TABLE ddi_providers (
    id TEXT PRIMARY KEY NOT NULL,
    brand_id TEXT NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    addresses TEXT NOT NULL,
    transformation_rules TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (brand_id, name)
);

CREATE TABLE ddis (
    id TEXT PRIMARY KEY NOT NULL,
    brand_id TEXT NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    ddi_e164 TEXT NOT NULL,
    ddi_provider_id TEXT REFERENCES ddi_providers(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (brand_id, ddi_e164)
);
CREATE INDEX ddis_client ON ddis (client_id);

CREATE TABLE endpoints (
    id TEXT PRIMARY KEY NOT NULL,
    brand_id TEXT NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    endpoint_type TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (client_id, endpoint_type, name)
);
CREATE INDEX endpoints_brand ON endpoints (brand_id);

CREATE TABLE notification_templates (
    id TEXT PRIMARY KEY NOT NULL,
    brand_id TEXT REFERENCES brands(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    template_type TEXT NOT NULL,
    contents TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX notification_templates_brand ON notification_templates (brand_id);

CREATE TABLE administrators (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    brand_id TEXT REFERENCES brands(id) ON DELETE CASCADE,
    client_id TEXT REFERENCES clients(id) ON DELETE CASCADE,
    active BOOLEAN NOT NULL,
    timezone TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX administrators_brand ON administrators (brand_id);
