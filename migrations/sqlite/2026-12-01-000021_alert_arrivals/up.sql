-- Velocity alerts (issue 12) count a subject's outbound calls over a sliding window as
-- calls arrive: these let that count read one endpoint's or one caller number's calls of
-- a few minutes instead of every call of the brand in that time. (Per client,
-- billable_calls_client_start already serves.)
CREATE INDEX billable_calls_endpoint_start ON billable_calls (brand_id, endpoint_id, start_time)
    WHERE endpoint_id IS NOT NULL;
CREATE INDEX billable_calls_caller_start ON billable_calls (brand_id, caller, start_time)
    WHERE direction = 'outbound';
