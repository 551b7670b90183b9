//! The `/alert_events` operations: events are read-only, seen by whoever sees their rule
//! (the event keeps the rule's brand, level and client, so it stays visible after the rule
//! is deleted).

use crate::alerts::rules::{sees, CLIENT_LEVEL, KINDS};
use crate::auth::Caller;
use crate::db::alerts::{self as store, AlertEvent};
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::ids::{AlertEventId, AlertRuleId, Id};
use crate::listing::ListParams;

/// A notification's state on an event.
pub const STATUSES: &[&str] = &["none", "pending", "sending", "sent", "failed"];

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
