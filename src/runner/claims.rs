//! The runner's claims: short statements that give one runner a report (to build), an
//! email (to send) or an alert's notification for a lease. PostgreSQL: one `UPDATE … WHERE id = (SELECT … FOR UPDATE
//! SKIP LOCKED)`, so instances never wait on each other; SQLite: the same statements inside
//! `BEGIN IMMEDIATE`, the one writer at a time.
//!
//! Each claim looks in two places, one after the other: first work whose holder vanished
//! (its lease ran out), then fresh work. Fresh work is taken in turns (issue 13): the next
//! brand after the one this runner served last that has work waiting, then the next
//! scheduler of that brand after the one served last, then that scheduler's oldest
//! occurrence — so one brand's backlog of ten thousand reports delays another brand's
//! report by one build, not ten thousand. Each step is one walk of an index in that order
//! (`call_csv_reports_fair_work` and `_fair_mail`, migration 000008) that stops at the first
//! free row, so a claim costs the same whatever the backlog; one `OR` of both cases, or a
//! sort, would make the database gather every waiting row on every claim.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text, Timestamp};

use crate::db::schema::call_csv_reports as r;
use crate::db::{self, DbConnection};
use crate::error::AppResult;

#[derive(QueryableByName)]
struct ClaimedRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Integer)]
    attempt: i32,
    #[diesel(sql_type = Text)]
    brand_id: String,
    #[diesel(sql_type = Text)]
    scheduler_id: String,
}

#[derive(QueryableByName)]
struct NextBrand {
    #[diesel(sql_type = Nullable<Text>)]
    brand_id: Option<String>,
}

/// Whose turn it is: the brand this runner served last, and per brand the scheduler it
/// served last. In memory, per runner; two instances each take turns on their own.
#[derive(Debug, Default)]
pub struct Turns {
    brand: String,
    scheduler: HashMap<String, String>,
}

impl Turns {
    fn served(&mut self, brand: &str, scheduler: &str) {
        self.brand = brand.to_string();
        self.scheduler
            .insert(brand.to_string(), scheduler.to_string());
    }

    fn scheduler_after(&self, brand: &str) -> String {
        self.scheduler.get(brand).cloned().unwrap_or_default()
    }
}

/// One of the two queues on `call_csv_reports`: reports to build, emails to send.
struct Queue {
    /// The status column.
    status: &'static str,
    /// Its value while a runner holds the row, and the column of that lease.
    held: &'static str,
    lease: &'static str,
    /// When a pending row may be taken (`{now}` is the database's clock).
    free: &'static str,
    /// Oldest first, within one scheduler (and for work whose holder vanished).
    order: &'static str,
}

const WORK: Queue = Queue {
    status: "status",
    held: "building",
    lease: "lease_until",
    free: "(lease_until IS NULL OR lease_until < {now})",
    order: "due_at, id",
};

const MAIL: Queue = Queue {
    status: "email_status",
    held: "sending",
    lease: "email_lease_until",
    free: "email_next_attempt <= {now}",
    order: "email_next_attempt, id",
};

/// Writes `$n` (PostgreSQL) or `?n` (SQLite) for each `{name}` in `sql`, by position in
/// `names`; PostgreSQL also locks what it picks, skipping rows another instance holds.
fn dialect(sql: &str, names: &[&str], pg: bool) -> String {
    let mut out = sql.replace(" {lock}", if pg { " FOR UPDATE SKIP LOCKED" } else { "" });
    for (i, name) in names.iter().enumerate() {
        let mark = if pg { '$' } else { '?' };
        out = out.replace(&format!("{{{name}}}"), &format!("{mark}{}", i + 1));
    }
    out
}

/// The next brand after `{after}` (in id order, wrapping around) with work free to take.
fn next_brand_sql(q: &Queue) -> String {
    let Queue { status, free, .. } = q;
    format!(
        "SELECT COALESCE(\
           (SELECT brand_id FROM call_csv_reports WHERE {status} = 'pending' AND brand_id > {{after}} \
            AND {free} ORDER BY brand_id LIMIT 1), \
           (SELECT brand_id FROM call_csv_reports WHERE {status} = 'pending' AND {free} \
            ORDER BY brand_id LIMIT 1)) AS brand_id"
    )
}

/// The id to claim: work whose holder vanished, else the oldest of the next scheduler (after
/// `{scheduler}`, wrapping around) of brand `{brand}`, else — when another instance holds
/// all of that — the oldest free row of any brand.
fn pick_sql(q: &Queue) -> String {
    let Queue {
        status,
        held,
        lease,
        free,
        order,
    } = q;
    let pending = format!("{status} = 'pending' AND {free}");
    let in_brand = format!("{pending} AND brand_id = {{brand}}");
    format!(
        "COALESCE(\
           (SELECT id FROM call_csv_reports WHERE {status} = '{held}' AND {lease} < {{now}} \
            ORDER BY {order} LIMIT 1 {{lock}}), \
           (SELECT id FROM call_csv_reports WHERE {in_brand} AND scheduler_id = COALESCE(\
              (SELECT scheduler_id FROM call_csv_reports WHERE {in_brand} \
               AND scheduler_id > {{scheduler}} ORDER BY scheduler_id LIMIT 1), \
              (SELECT scheduler_id FROM call_csv_reports WHERE {in_brand} \
               ORDER BY scheduler_id LIMIT 1)) \
            ORDER BY {order} LIMIT 1 {{lock}}), \
           (SELECT id FROM call_csv_reports WHERE {pending} ORDER BY {order} LIMIT 1 {{lock}}))"
    )
}

/// Runs the same statement with the same binds on either backend.
macro_rules! on_backend {
    ($conn:expr, $sql:expr, $names:expr, $row:ty, $($ty:ty => $val:expr),*) => {
        match $conn {
            DbConnection::Pg(c) => diesel::sql_query(dialect($sql, $names, true))
                $(.bind::<$ty, _>($val))*
                .get_result::<$row>(c)
                .optional()?,
            DbConnection::Sqlite(c) => diesel::sql_query(dialect($sql, $names, false))
                $(.bind::<$ty, _>($val))*
                .get_result::<$row>(c)
                .optional()?,
        }
    };
}

fn next_brand(
    conn: &mut DbConnection,
    q: &Queue,
    turns: &Turns,
    now: NaiveDateTime,
) -> AppResult<Option<String>> {
    let row = on_backend!(conn, &next_brand_sql(q), &["after", "now"], NextBrand,
        Text => &turns.brand, Timestamp => now);
    Ok(row.and_then(|r| r.brand_id))
}

/// Claims a report to build: one whose builder's lease ran out, else the next in turn (see
/// the module comment). Returns its id.
pub fn claim_build(
    conn: &mut DbConnection,
    owner: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
    turns: &mut Turns,
) -> AppResult<Option<String>> {
    let sql = format!(
        "UPDATE call_csv_reports SET status = 'building', lease_owner = {{owner}}, \
             lease_until = {{until}}, build_attempts = build_attempts + 1, updated_at = {{now}} \
         WHERE id = {} RETURNING id, build_attempts AS attempt, brand_id, scheduler_id",
        pick_sql(&WORK)
    );
    let names = ["owner", "until", "now", "brand", "scheduler"];
    let row = db::transaction(conn, |conn| {
        let brand = next_brand(conn, &WORK, turns, now)?.unwrap_or_default();
        let after = turns.scheduler_after(&brand);
        Ok(on_backend!(conn, &sql, &names, ClaimedRow,
            Text => owner, Timestamp => until, Timestamp => now, Text => &brand, Text => &after))
    })?;
    Ok(row.map(|c| {
        turns.served(&c.brand_id, &c.scheduler_id);
        c.id
    }))
}

/// Extends a build lease; false when it is no longer ours (another runner took over).
pub fn renew_build(
    conn: &mut DbConnection,
    id: &str,
    owner: &str,
    until: NaiveDateTime,
) -> AppResult<bool> {
    let n = diesel::update(
        r::table
            .filter(r::id.eq(id))
            .filter(r::lease_owner.eq(owner))
            .filter(r::status.eq("building")),
    )
    .set(r::lease_until.eq(until))
    .execute(conn)?;
    Ok(n == 1)
}

/// Claims the next email due: one "sending" whose sender vanished, else a pending one whose
/// next attempt is due, taking turns between brands and schedulers like builds. When the
/// previous attempt had handed the message over and no answer says it was refused (its
/// runner vanished, or the connection broke without a reply), the server may already have
/// accepted it: the resend is flagged. The claim itself records the attempt before any byte
/// is sent. Returns (id, attempt number).
pub fn claim_email(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    until: NaiveDateTime,
    turns: &mut Turns,
) -> AppResult<Option<(String, i32)>> {
    let sql = format!(
        "UPDATE call_csv_reports SET \
             email_possible_duplicate = (email_possible_duplicate OR email_handed_over), \
             email_handed_over = false, email_status = 'sending', \
             email_attempts = email_attempts + 1, email_lease_until = {{until}}, \
             updated_at = {{now}} \
         WHERE id = {} RETURNING id, email_attempts AS attempt, brand_id, scheduler_id",
        pick_sql(&MAIL)
    );
    let names = ["until", "now", "brand", "scheduler"];
    let row = db::transaction(conn, |conn| {
        let brand = next_brand(conn, &MAIL, turns, now)?.unwrap_or_default();
        let after = turns.scheduler_after(&brand);
        Ok(on_backend!(conn, &sql, &names, ClaimedRow,
            Timestamp => until, Timestamp => now, Text => &brand, Text => &after))
    })?;
    Ok(row.map(|c| {
        turns.served(&c.brand_id, &c.scheduler_id);
        (c.id, c.attempt)
    }))
}

/// Records that this attempt's message is composed and about to be given to the SMTP
/// server, and extends the lease for the conversation. False when the attempt is no longer
/// ours (its lease ran out and another runner took it): then nothing must be sent.
pub fn hand_over(
    conn: &mut DbConnection,
    id: &str,
    attempt: i32,
    until: NaiveDateTime,
) -> AppResult<bool> {
    let n = diesel::update(
        r::table
            .filter(r::id.eq(id))
            .filter(r::email_attempts.eq(attempt))
            .filter(r::email_status.eq("sending")),
    )
    .set((
        r::email_handed_over.eq(true),
        r::email_lease_until.eq(until),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = Integer)]
    n: i32,
}

/// Counts one more attempt of this email whose outcome is unknown and returns the count;
/// `None` when the attempt is no longer ours. (`email_unknown_outcomes`, migration 000008,
/// is left out of the Diesel schema, which stops at 32 columns without a slower build.)
pub fn count_unknown_outcome(
    conn: &mut DbConnection,
    id: &str,
    attempt: i32,
) -> AppResult<Option<i32>> {
    let sql = "UPDATE call_csv_reports SET email_unknown_outcomes = email_unknown_outcomes + 1 \
               WHERE id = {id} AND email_attempts = {attempt} AND email_status = 'sending' \
               RETURNING email_unknown_outcomes AS n";
    let row = on_backend!(conn, sql, &["id", "attempt"], Count, Text => id, Integer => attempt);
    Ok(row.map(|c| c.n))
}

// ---------------------------------------------------------------------------------------
// Alert notifications

/// One of the two notifications of `alert_events`: its status, attempts, lease, next
/// attempt and error columns (`email_…` or `webhook_…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Channel {
    pub name: &'static str,
}

pub const ALERT_EMAIL: Channel = Channel { name: "email" };
pub const ALERT_WEBHOOK: Channel = Channel { name: "webhook" };

#[derive(QueryableByName)]
struct AlertClaim {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Integer)]
    attempt: i32,
}

/// Claims an event's notification on `channel`: one "sending" whose sender vanished (its
/// lease ran out), else the pending one due first. The claim records the attempt before
/// anything is sent. Returns (event id, attempt number).
pub fn claim_alert(
    conn: &mut DbConnection,
    channel: Channel,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> AppResult<Option<(String, i32)>> {
    let c = channel.name;
    let sql = format!(
        "UPDATE alert_events SET {c}_status = 'sending', {c}_attempts = {c}_attempts + 1, \
             {c}_lease_until = {{until}}, updated_at = {{now}} \
         WHERE id = COALESCE(\
           (SELECT id FROM alert_events WHERE {c}_status = 'sending' AND {c}_lease_until < {{now}} \
            ORDER BY {c}_next_attempt, id LIMIT 1 {{lock}}), \
           (SELECT id FROM alert_events WHERE {c}_status = 'pending' AND {c}_next_attempt <= {{now}} \
            ORDER BY {c}_next_attempt, id LIMIT 1 {{lock}})) \
         RETURNING id, {c}_attempts AS attempt"
    );
    let row = db::transaction(conn, |conn| {
        Ok(on_backend!(conn, &sql, &["until", "now"], AlertClaim,
            Timestamp => until, Timestamp => now))
    })?;
    Ok(row.map(|r| (r.id, r.attempt)))
}

/// How an attempt at an alert notification ended, as recorded: `sent`, `pending` again with
/// its `next` attempt, or `failed`; and the error.
pub struct Finished<'a> {
    pub status: &'a str,
    pub error: Option<&'a str>,
    pub next: Option<NaiveDateTime>,
}

/// Records how an attempt ended; false when the attempt is no longer ours (another runner
/// took it over after our lease ran out).
pub fn finish_alert(
    conn: &mut DbConnection,
    channel: Channel,
    (id, attempt): (&str, i32),
    finished: &Finished,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let c = channel.name;
    let sql = format!(
        "UPDATE alert_events SET {c}_status = {{status}}, {c}_error = {{error}}, \
             {c}_next_attempt = {{next}}, {c}_lease_until = NULL, updated_at = {{now}} \
         WHERE id = {{id}} AND {c}_attempts = {{attempt}} AND {c}_status = 'sending' \
         RETURNING id, {c}_attempts AS attempt"
    );
    let names = ["status", "error", "next", "now", "id", "attempt"];
    let row = on_backend!(conn, &sql, &names, AlertClaim,
        Text => finished.status, Nullable<Text> => finished.error,
        Nullable<Timestamp> => finished.next, Timestamp => now, Text => id,
        Integer => attempt);
    Ok(row.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_per_backend() {
        let sql = "a = {x} AND b = {y} AND c = {x} LIMIT 1 {lock}";
        assert_eq!(
            dialect(sql, &["x", "y"], true),
            "a = $1 AND b = $2 AND c = $1 LIMIT 1 FOR UPDATE SKIP LOCKED"
        );
        assert_eq!(
            dialect(sql, &["x", "y"], false),
            "a = ?1 AND b = ?2 AND c = ?1 LIMIT 1"
        );
    }
}
