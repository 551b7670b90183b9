//! Black-box tests of the HTTP API, each on SQLite and on PostgreSQL (see `common`).

mod common;

mod administrators;
mod auth;
mod billable_calls;
mod brands;
mod browser;
mod call_csv_reports_api;
mod call_csv_schedulers;
mod carriers;
mod cdr_arrivals;
mod cdr_sources;
mod cli;
mod cli_import;
mod console;
mod ddi_providers;
mod ddis;
mod demo;
mod endpoints;
mod exposures;
mod fair_bounds;
mod faults;
mod mail_unit;
mod metrics;
mod notification_templates;
mod openapi;
mod pull;
mod rating_plans;
mod rating_profiles;
mod scheduler_runs;
mod smtp;
mod spool;
mod stats;
mod stream_limits;
mod strict_input;
mod summary_reports;
