DROP TABLE billable_calls;
DROP TABLE rating_profiles;
DROP TABLE rates;
DROP TABLE rating_plans;
