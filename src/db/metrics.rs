//! The figures `GET /metrics` exposes, read at scrape time. Each is a GROUP BY or a MIN
//! that an existing index answers (reports by `(status, due_at)` and `(email_status, …)`,
//! schedulers by `(enabled, next_execution)`), so a scrape stays cheap however many
//! reports are kept; alert events are grouped whole (one row per firing, far fewer). Counting billable calls is deliberately left out: that table is big.

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, min};
use diesel::prelude::*;

use crate::db::schema::{alert_events, call_csv_reports, call_csv_schedulers};
use crate::db::{clock, DbConnection};
use crate::error::AppResult;

/// What one scrape reads; statuses that have no rows are simply absent.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// `(status, count)` of `call_csv_reports`.
    pub reports_by_status: Vec<(String, i64)>,
    /// `(email_status, count)` of `call_csv_reports`.
    pub report_emails_by_status: Vec<(String, i64)>,
    pub schedulers_enabled: i64,
    pub schedulers_disabled: i64,
    /// Enabled schedulers whose `next_execution` has come (by [`clock`]).
    pub schedulers_due: i64,
    /// Seconds since the oldest `pending` report fell due; 0 when none is pending.
    pub oldest_pending_report_age_seconds: i64,
    /// `(kind, email_status, webhook_status, count)` of `alert_events`.
    pub alert_events: Vec<(String, String, String, i64)>,
}

pub fn snapshot(conn: &mut DbConnection) -> AppResult<Snapshot> {
    let now = clock(conn)?;
    let reports_by_status = call_csv_reports::table
        .group_by(call_csv_reports::status)
        .select((call_csv_reports::status, count_star()))
        .load::<(String, i64)>(conn)?;
    let report_emails_by_status = call_csv_reports::table
        .group_by(call_csv_reports::email_status)
        .select((call_csv_reports::email_status, count_star()))
        .load::<(String, i64)>(conn)?;
    let schedulers = call_csv_schedulers::table
        .group_by(call_csv_schedulers::enabled)
        .select((call_csv_schedulers::enabled, count_star()))
        .load::<(bool, i64)>(conn)?;
    let count_of = |enabled: bool| {
        schedulers
            .iter()
            .filter(|(e, _)| *e == enabled)
            .map(|(_, n)| n)
            .sum()
    };
    let schedulers_due = call_csv_schedulers::table
        .filter(call_csv_schedulers::enabled.eq(true))
        .filter(call_csv_schedulers::next_execution.le(now))
        .count()
        .get_result(conn)?;
    let oldest_pending: Option<NaiveDateTime> = call_csv_reports::table
        .filter(call_csv_reports::status.eq("pending"))
        .select(min(call_csv_reports::due_at))
        .first(conn)?;
    let alert_events = alert_events::table
        .group_by((
            alert_events::kind,
            alert_events::email_status,
            alert_events::webhook_status,
        ))
        .select((
            alert_events::kind,
            alert_events::email_status,
            alert_events::webhook_status,
            count_star(),
        ))
        .load::<(String, String, String, i64)>(conn)?;
    Ok(Snapshot {
        alert_events,
        reports_by_status,
        report_emails_by_status,
        schedulers_enabled: count_of(true),
        schedulers_disabled: count_of(false),
        schedulers_due,
        // A report recorded ahead of its due time (never expected) is not "late".
        oldest_pending_report_age_seconds: oldest_pending
            .map_or(0, |due| (now - due).num_seconds().max(0)),
    })
}
