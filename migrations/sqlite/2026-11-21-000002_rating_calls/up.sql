-- Rating plans with their rate rows, the rating profiles that say which plan a client
-- (price) or carrier (cost) uses from when, and the billable calls themselves.
-- Money and rates are exact decimals stored as text; billed durations as whole seconds.

CREATE TABLE rating_plans (
    id TEXT PRIMARY KEY NOT NULL,
    brand_id TEXT NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    currency TEXT NOT NULL,
    rounding_method TEXT NOT NULL,
    rounding_decimals INTEGER NOT NULL,
    timezone TEXT NOT NULL,
    -- Bumped whenever the rate table changes: the in-memory plan index is cached by it.
    rates_version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (brand_id, name)
);

CREATE TABLE rates (
    id TEXT PRIMARY KEY NOT NULL,
    rating_plan_id TEXT NOT NULL REFERENCES rating_plans(id) ON DELETE CASCADE,
    prefix TEXT NOT NULL,
    destination_name TEXT NOT NULL,
    connect_fee TEXT NOT NULL,
    rate TEXT NOT NULL,
    rate_unit INTEGER NOT NULL,
    rate_increment INTEGER NOT NULL,
    group_interval_start INTEGER NOT NULL,
    weekdays TEXT NOT NULL,
    time_in TEXT NOT NULL,
    UNIQUE (rating_plan_id, prefix, weekdays, time_in, group_interval_start)
);

CREATE TABLE rating_profiles (
    id TEXT PRIMARY KEY NOT NULL,
    brand_id TEXT NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    client_id TEXT REFERENCES clients(id) ON DELETE CASCADE,
    carrier_id TEXT REFERENCES carriers(id) ON DELETE CASCADE,
    rating_plan_id TEXT NOT NULL REFERENCES rating_plans(id),
    activation_time TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX rating_profiles_client ON rating_profiles (client_id, activation_time);
CREATE INDEX rating_profiles_carrier ON rating_profiles (carrier_id, activation_time);
CREATE INDEX rating_profiles_plan ON rating_profiles (rating_plan_id);

CREATE TABLE billable_calls (
    id TEXT PRIMARY KEY NOT NULL,
    brand_id TEXT NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    callid TEXT NOT NULL,
    start_time TIMESTAMP NOT NULL,
    -- As sent (decimal seconds); billed_seconds = ceil(duration).
    duration TEXT NOT NULL,
    billed_seconds BIGINT NOT NULL,
    caller TEXT NOT NULL,
    callee TEXT NOT NULL,
    direction TEXT NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    -- References kept as history: deleting a carrier or DDI does not rewrite old calls.
    carrier_id TEXT,
    ddi_id TEXT,
    ddi_provider_id TEXT,
    source_ip TEXT,
    endpoint_type TEXT,
    endpoint_id TEXT,
    cost TEXT,
    price TEXT,
    rating_error TEXT,
    destination_name TEXT,
    rating_plan_id TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (brand_id, callid)
);
CREATE INDEX billable_calls_brand_start ON billable_calls (brand_id, start_time, callid);
CREATE INDEX billable_calls_client_start ON billable_calls (brand_id, client_id, start_time, callid);
CREATE INDEX billable_calls_carrier_start ON billable_calls (brand_id, carrier_id, start_time);
CREATE INDEX billable_calls_ddi_start ON billable_calls (brand_id, ddi_id, start_time);
CREATE INDEX billable_calls_provider_start ON billable_calls (brand_id, ddi_provider_id, start_time);
