//! Black-box tests of the HTTP API, each on SQLite and on PostgreSQL (see `common`).

mod common;

mod administrators;
mod auth;
mod brands;
mod carriers;
mod ddi_providers;
mod mail_unit;
mod smtp;
mod ddis;
mod endpoints;
mod notification_templates;
