//! Queries on `call_csv_reports`: one row per occurrence of a scheduler, from "due" to
//! "built" to "emailed". Claims use short statements with leases: PostgreSQL picks with
//! `FOR UPDATE SKIP LOCKED` so instances never wait on each other; SQLite serialises
//! writers with `BEGIN IMMEDIATE` (see `db::transaction`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::ids::{Id, ReportId};

use crate::db::schema::call_csv_reports;
use crate::db::DbConnection;
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = call_csv_reports, treat_none_as_null = true)]
pub struct Report {
    pub id: String,
    pub scheduler_id: String,
    pub brand_id: String,
    pub client_id: Option<String>,
    /// The scheduler's level (`brand`/`client`) and name when the occurrence was recorded.
    pub level: String,
    pub scheduler_name: String,
    pub due_at: NaiveDateTime,
    pub in_date: NaiveDateTime,
    pub out_date: NaiveDateTime,
    /// pending → building → ready
    pub status: String,
    pub lease_owner: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub build_attempts: i32,
    pub build_error: Option<String>,
    pub file_name: Option<String>,
    /// Relative to the reports directory.
    pub file_path: Option<String>,
    pub file_size: Option<i64>,
    pub sha256: Option<String>,
    pub row_count: Option<i64>,
    /// Comma-separated recipients, fixed when the occurrence was recorded.
    pub sent_to: String,
    /// none | pending | sending | sent | failed
    pub email_status: String,
    pub email_attempts: i32,
    pub email_error: Option<String>,
    pub email_next_attempt: Option<NaiveDateTime>,
    pub email_lease_until: Option<NaiveDateTime>,
    /// Set when a send may have been accepted by the server before a crash kept us from
    /// recording it: the resend that follows may be a duplicate.
    pub email_possible_duplicate: bool,
    /// Set when the current attempt's message was about to be given to the SMTP server
    /// (see `runner::claims::hand_over`).
    pub email_handed_over: bool,
    /// The IANA timezone the period was computed in (see migration 000006); `None` on
    /// older rows.
    pub timezone: Option<String>,
    pub message_id: String,
    pub sent_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConnection, id: &ReportId) -> AppResult<Option<Report>> {
    Ok(call_csv_reports::table
        .find(id.as_str())
        .select(Report::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert(conn: &mut DbConnection, r: &Report) -> AppResult<()> {
    diesel::insert_into(call_csv_reports::table)
        .values(r)
        .execute(conn)?;
    Ok(())
}

/// What the API lists: built reports only (an occurrence still being built has no file).
#[derive(Debug, Default)]
pub struct Filter {
    pub brand: Option<String>,
    pub client: Option<String>,
    pub scheduler: Option<String>,
    /// `client` for client administrators: they read only their client-level reports.
    pub level: Option<String>,
    pub created_after: Option<NaiveDateTime>,
    pub created_strictly_before: Option<NaiveDateTime>,
    pub email_status: Option<String>,
}

fn filtered(f: &Filter) -> call_csv_reports::BoxedQuery<'_, crate::db::MultiBackend> {
    let mut q = call_csv_reports::table
        .filter(call_csv_reports::status.eq("ready"))
        .into_boxed();
    if let Some(v) = &f.brand {
        q = q.filter(call_csv_reports::brand_id.eq(v));
    }
    if let Some(v) = &f.client {
        q = q.filter(call_csv_reports::client_id.eq(v));
    }
    if let Some(v) = &f.scheduler {
        q = q.filter(call_csv_reports::scheduler_id.eq(v));
    }
    if let Some(v) = &f.level {
        q = q.filter(call_csv_reports::level.eq(v));
    }
    if let Some(v) = f.created_after {
        q = q.filter(call_csv_reports::created_at.ge(v));
    }
    if let Some(v) = f.created_strictly_before {
        q = q.filter(call_csv_reports::created_at.lt(v));
    }
    if let Some(v) = &f.email_status {
        // The API shows the runner's short-lived `sending` as `pending`.
        let statuses = if v == "pending" {
            vec!["pending", "sending"]
        } else {
            vec![v.as_str()]
        };
        q = q.filter(call_csv_reports::email_status.eq_any(statuses));
    }
    q
}

pub fn list(
    conn: &mut DbConnection,
    f: &Filter,
    params: &crate::listing::ListParams,
) -> AppResult<(i64, Vec<Report>)> {
    use crate::listing::Direction;
    let total = filtered(f).count().get_result(conn)?;
    let mut q = filtered(f);
    for (field, direction) in &params.order {
        q = match (field.as_str(), direction) {
            ("createdAt", Direction::Asc) => q.then_order_by(call_csv_reports::created_at.asc()),
            ("createdAt", Direction::Desc) => q.then_order_by(call_csv_reports::created_at.desc()),
            ("inDate", Direction::Asc) => q.then_order_by(call_csv_reports::in_date.asc()),
            ("inDate", Direction::Desc) => q.then_order_by(call_csv_reports::in_date.desc()),
            _ => q,
        };
    }
    let rows = q
        .then_order_by(call_csv_reports::created_at.asc())
        .then_order_by(call_csv_reports::id.asc())
        .limit(params.per_page)
        .offset(params.offset())
        .select(Report::as_select())
        .load(conn)?;
    Ok((total, rows))
}

/// Every report row of a scheduler, in due order (tests and diagnostics).
pub fn of_scheduler(conn: &mut DbConnection, scheduler_id: &str) -> AppResult<Vec<Report>> {
    Ok(call_csv_reports::table
        .filter(call_csv_reports::scheduler_id.eq(scheduler_id))
        .order((
            call_csv_reports::due_at.asc(),
            call_csv_reports::created_at.asc(),
        ))
        .select(Report::as_select())
        .load(conn)?)
}

/// Keeps a report's email digest (plain text and HTML), replacing any earlier one.
pub fn save_digest(
    conn: &mut DbConnection,
    report_id: &str,
    text: &str,
    html: &str,
) -> AppResult<()> {
    use crate::db::schema::call_csv_report_digests::dsl as d;
    diesel::delete(d::call_csv_report_digests.filter(d::report_id.eq(report_id))).execute(conn)?;
    diesel::insert_into(d::call_csv_report_digests)
        .values((
            d::report_id.eq(report_id),
            d::digest_text.eq(text),
            d::digest_html.eq(html),
        ))
        .execute(conn)?;
    Ok(())
}

/// A report's email digest as (plain text, HTML), when its scheduler asked for one.
pub fn digest_of(conn: &mut DbConnection, report_id: &str) -> AppResult<Option<(String, String)>> {
    use crate::db::schema::call_csv_report_digests::dsl as d;
    Ok(d::call_csv_report_digests
        .filter(d::report_id.eq(report_id))
        .select((d::digest_text, d::digest_html))
        .first(conn)
        .optional()?)
}
