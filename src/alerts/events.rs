//! The `/alert_events` operations: events are read-only, seen by whoever sees their rule
//! (the event keeps the rule's brand, level and client, so it stays visible after the rule
//! is deleted). [`AlertEventView`] is an event as JSON: what the API answers and what a
//! webhook posts.

use crate::alerts::rules::{sees, CLIENT_LEVEL, KINDS};
use crate::auth::Caller;
use serde::Serialize;

use crate::db::alerts::{self as store, split_list, AlertEvent};
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::ids::{AlertEventId, AlertRuleId, Id};
use crate::listing::ListParams;

/// A notification's state on an event.
pub const STATUSES: &[&str] = &["none", "pending", "sending", "sent", "failed"];

/// The states `/metrics` counts events by (see [`notification_status`]).
pub const METRIC_STATUSES: &[&str] = &["none", "pending", "sent", "failed"];

/// An event's notifications in one word: `failed` when one failed, else `pending` while one
/// is on its way, else `sent` when one was sent, else `none` (no email, no webhook).
pub fn notification_status(email: &str, webhook: &str) -> &'static str {
    let either = |s: &str| email == s || webhook == s;
    if either("failed") {
        "failed"
    } else if either("pending") || either("sending") {
        "pending"
    } else if either("sent") {
        "sent"
    } else {
        "none"
    }
}

pub const FILTERS: &[&str] = &[
    "brand",
    "client",
    "rule",
    "kind",
    "subject",
    "emailStatus",
    "webhookStatus",
    "from",
    "to",
];
pub const ORDER: &[&str] = &["firedAt", "windowFrom"];

pub fn find(conn: &mut DbConnection, caller: &Caller, id: &AlertEventId) -> AppResult<AlertEvent> {
    store::find_event(conn, id.as_str())?
        .filter(|e| sees(caller, &e.brand_id, &e.level, e.client_id.as_deref()))
        .ok_or_else(AppError::not_found)
}

/// A page of the events the caller may see, newest first by default. `from`/`to` bound
/// `firedAt` (`[from, to)`).
pub fn list(
    conn: &mut DbConnection,
    caller: &Caller,
    params: &ListParams,
) -> AppResult<(i64, Vec<AlertEvent>)> {
    let scope = caller.list_scope(params.filter_id("brand")?, params.filter_id("client")?);
    let filter = store::EventFilter {
        brand: scope.brand,
        client: scope.client,
        level: caller.client_scope().map(|_| CLIENT_LEVEL.to_string()),
        rule: params.filter_ref::<AlertRuleId>("rule")?.map(String::from),
        kind: params.filter_choice("kind", KINDS)?,
        subject: params.filter("subject").map(str::to_string),
        email_status: params.filter_choice("emailStatus", STATUSES)?,
        webhook_status: params.filter_choice("webhookStatus", STATUSES)?,
        fired_from: params.filter_time("from")?,
        fired_to: params.filter_time("to")?,
        nothing: scope.nothing,
    };
    if let (Some(from), Some(to)) = (filter.fired_from, filter.fired_to) {
        if from > to {
            return Err(AppError::invalid_query("from: after to"));
        }
    }
    store::list_events(conn, &filter, params)
}

#[derive(Debug, Serialize)]
pub struct SubjectView {
    #[serde(rename = "type")]
    pub subject_type: String,
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertEventView {
    pub id: String,
    pub rule: String,
    pub rule_name: String,
    pub kind: String,
    pub brand: String,
    pub client: Option<String>,
    pub level: String,
    pub subject: Option<SubjectView>,
    /// `[from, to)`.
    pub window: [String; 2],
    pub measured: String,
    pub threshold: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    pub fired_at: String,
    pub calls: Vec<String>,
    pub email_status: String,
    pub email_attempts: i32,
    pub email_error: Option<String>,
    pub webhook_status: String,
    pub webhook_attempts: i32,
    pub webhook_error: Option<String>,
}

impl From<AlertEvent> for AlertEventView {
    fn from(e: AlertEvent) -> AlertEventView {
        let subject = match (e.subject_type, e.subject_id) {
            (Some(subject_type), Some(id)) => Some(SubjectView {
                subject_type,
                name: e.subject_name.unwrap_or_else(|| id.clone()),
                id,
            }),
            _ => None,
        };
        AlertEventView {
            id: e.id,
            rule: e.rule_id,
            rule_name: e.rule_name,
            kind: e.kind,
            brand: e.brand_id,
            client: e.client_id,
            level: e.level,
            subject,
            window: [
                crate::fields::ts(e.window_from),
                crate::fields::ts(e.window_to),
            ],
            measured: e.measured,
            threshold: e.threshold,
            previous: e.previous,
            fired_at: crate::fields::ts(e.fired_at),
            calls: split_list(&e.calls),
            email_status: e.email_status,
            email_attempts: e.email_attempts,
            email_error: e.email_error,
            webhook_status: e.webhook_status,
            webhook_attempts: e.webhook_attempts,
            webhook_error: e.webhook_error,
        }
    }
}
