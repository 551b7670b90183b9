//! The runner's claims: short statements that give one runner a report (to build) or an
//! email (to send) for a lease. PostgreSQL: one `UPDATE … WHERE id = (SELECT … FOR UPDATE
//! SKIP LOCKED)`, so instances never wait on each other; SQLite: the same selects and update
//! inside `BEGIN IMMEDIATE`, the one writer at a time.
//!
//! Each claim looks in two places, one after the other: first work whose holder vanished
//! (its lease ran out), then fresh work. Each look is one index walk in claim order that
//! stops at the first free row (indexes `call_csv_reports_work` and `_mail`), so a claim
//! costs the same whatever the backlog; one `OR` of both cases would make the database
//! gather and sort every waiting row on every claim.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamp};

use crate::db::schema::call_csv_reports as r;
use crate::db::{self, DbConnection};
use crate::error::AppResult;

#[derive(QueryableByName)]
struct ClaimedRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Integer)]
    attempt: i32,
}

/// Claims the oldest report whose builder's lease ran out, else the oldest waiting to be
/// built. Returns its id.
pub fn claim_build(
    conn: &mut DbConnection,
    owner: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> AppResult<Option<String>> {
    if let DbConnection::Pg(pg) = conn {
        let row: Option<ClaimedRow> = diesel::sql_query(
            "UPDATE call_csv_reports SET status = 'building', lease_owner = $1, lease_until = $2, \
                 build_attempts = build_attempts + 1, updated_at = $3 \
             WHERE id = COALESCE(\
                 (SELECT id FROM call_csv_reports \
                  WHERE status = 'building' AND lease_until < $3 \
                  ORDER BY due_at, id LIMIT 1 FOR UPDATE SKIP LOCKED), \
                 (SELECT id FROM call_csv_reports \
                  WHERE status = 'pending' AND (lease_until IS NULL OR lease_until < $3) \
                  ORDER BY due_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)) \
             RETURNING id, build_attempts AS attempt",
        )
        .bind::<Text, _>(owner)
        .bind::<Timestamp, _>(until)
        .bind::<Timestamp, _>(now)
        .get_result(pg)
        .optional()?;
        return Ok(row.map(|c| c.id));
    }
    db::transaction(conn, |conn| {
        let abandoned: Option<String> = r::table
            .filter(r::status.eq("building").and(r::lease_until.lt(now)))
            .order((r::due_at.asc(), r::id.asc()))
            .select(r::id)
            .first(conn)
            .optional()?;
        let id = match abandoned {
            Some(id) => Some(id),
            None => r::table
                .filter(r::status.eq("pending"))
                .filter(r::lease_until.is_null().or(r::lease_until.lt(now)))
                .order((r::due_at.asc(), r::id.asc()))
                .select(r::id)
                .first(conn)
                .optional()?,
        };
        let Some(id) = id else { return Ok(None) };
        diesel::update(r::table.find(&id))
            .set((
                r::status.eq("building"),
                r::lease_owner.eq(owner),
                r::lease_until.eq(until),
                r::build_attempts.eq(r::build_attempts + 1),
                r::updated_at.eq(now),
            ))
            .execute(conn)?;
        Ok(Some(id))
    })
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

/// Claims the next email due, the longest-waiting first: one "sending" whose sender vanished,
/// else one pending whose next attempt is due. When the previous attempt had handed the
/// message over and no answer says it was refused (its runner vanished, or the connection
/// broke without a reply), the server may already have accepted it: the resend is flagged. The claim itself records the attempt before any byte is sent.
/// Returns (id, attempt number).
pub fn claim_email(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> AppResult<Option<(String, i32)>> {
    if let DbConnection::Pg(pg) = conn {
        let row: Option<ClaimedRow> = diesel::sql_query(
            "UPDATE call_csv_reports SET \
                 email_possible_duplicate = (email_possible_duplicate OR email_handed_over), \
                 email_handed_over = false, email_status = 'sending', email_attempts = email_attempts + 1, \
                 email_lease_until = $1, updated_at = $2 \
             WHERE id = COALESCE(\
                 (SELECT id FROM call_csv_reports \
                  WHERE email_status = 'sending' AND email_lease_until < $2 \
                  ORDER BY email_next_attempt, id LIMIT 1 FOR UPDATE SKIP LOCKED), \
                 (SELECT id FROM call_csv_reports \
                  WHERE email_status = 'pending' AND email_next_attempt <= $2 \
                  ORDER BY email_next_attempt, id LIMIT 1 FOR UPDATE SKIP LOCKED)) \
             RETURNING id, email_attempts AS attempt",
        )
        .bind::<Timestamp, _>(until)
        .bind::<Timestamp, _>(now)
        .get_result(pg)
        .optional()?;
        return Ok(row.map(|c| (c.id, c.attempt)));
    }
    db::transaction(conn, |conn| {
        let columns = (
            r::id,
            r::email_attempts,
            r::email_possible_duplicate,
            r::email_handed_over,
        );
        let vanished: Option<(String, i32, bool, bool)> = r::table
            .filter(r::email_status.eq("sending"))
            .filter(r::email_lease_until.lt(now))
            .order((r::email_next_attempt.asc(), r::id.asc()))
            .select(columns)
            .first(conn)
            .optional()?;
        let found = match vanished {
            Some(row) => Some(row),
            None => r::table
                .filter(r::email_status.eq("pending"))
                .filter(r::email_next_attempt.le(now))
                .order((r::email_next_attempt.asc(), r::id.asc()))
                .select(columns)
                .first(conn)
                .optional()?,
        };
        let Some((id, attempts, flagged, handed_over)) = found else {
            return Ok(None);
        };
        diesel::update(r::table.find(&id))
            .set((
                r::email_possible_duplicate.eq(flagged || handed_over),
                r::email_handed_over.eq(false),
                r::email_status.eq("sending"),
                r::email_attempts.eq(attempts + 1),
                r::email_lease_until.eq(until),
                r::updated_at.eq(now),
            ))
            .execute(conn)?;
        Ok(Some((id, attempts + 1)))
    })
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
