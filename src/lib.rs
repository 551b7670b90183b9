//! callcsv: stores a VoIP platform's tenancy (brands, clients, carriers, DDIs…), rates
//! billable calls and runs call CSV schedulers, all behind a REST API. `main.rs` is the
//! CLI; [`server`] builds the application that `main` and the tests both run.

pub mod alerts;
pub mod api;
pub mod auth;
pub mod calls;
pub mod config;
pub mod conn;
pub mod db;
pub mod demo;
pub mod detection;
pub mod error;
pub mod fault;
pub mod fields;
pub mod ids;
pub mod limits;
pub mod listing;
pub mod mail;
pub mod memory;
pub mod monitoring;
pub mod ops;
pub mod rating;
pub mod report;
pub mod runner;
pub mod schedule;
pub mod schedulers;
pub mod server;
pub mod sources;
pub mod stats;
pub mod tenancy;
pub mod ui;

use std::sync::Arc;

/// What every request handler can reach.
pub struct AppState {
    pub pool: db::DbPool,
    pub config: Arc<config::Config>,
    pub jwt: Arc<auth::jwt::JwtKeys>,
    /// Built rating plan indexes, shared by ingestion and rerating.
    pub plans: Arc<calls::rater::PlanCache>,
    /// CDR sources loaded for pushes (kept a moment per source).
    pub pushes: Arc<sources::push::Prepared>,
    /// Concurrent CSV streams and report downloads, and concurrent call ingestions, of
    /// this instance (total and per brand).
    pub streams: Arc<limits::Limiter>,
    pub ingestions: Arc<limits::Limiter>,
    /// Failed-login counts of this instance.
    pub login_throttle: Arc<auth::throttle::LoginThrottle>,
}
