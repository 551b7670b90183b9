//! Alerts (alerts.md): rules evaluated over the rated calls, and the events they fire,
//! exactly one per (rule, subject, window). [`rules`] and [`events`] are the operations
//! every front door calls.

pub mod arrivals;
pub mod evaluate;
pub mod events;
pub mod notify;
pub mod rules;
pub mod windows;

pub use rules::{AlertRuleInput, AlertRules, ZonedRule};
