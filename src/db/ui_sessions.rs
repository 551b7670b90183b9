//! Queries on `ui_sessions` (the console's sign-in sessions). What a session allows is
//! `ui::session`'s business.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::ui_sessions;
use crate::db::DbConnection;
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ui_sessions)]
pub struct UiSession {
    /// SHA-256 (hex) of the cookie's token.
    pub id: String,
    pub administrator_id: String,
    pub token_version: i64,
    pub csrf_token: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, session: &UiSession) -> AppResult<()> {
    diesel::insert_into(ui_sessions::table)
        .values(session)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<Option<UiSession>> {
    Ok(ui_sessions::table
        .find(id)
        .select(UiSession::as_select())
        .first(conn)
        .optional()?)
}

pub fn touch(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> AppResult<()> {
    diesel::update(ui_sessions::table.find(id))
        .set(ui_sessions::last_seen_at.eq(at))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, id: &str) -> AppResult<()> {
    diesel::delete(ui_sessions::table.find(id)).execute(conn)?;
    Ok(())
}

/// Sessions idle since before `cutoff` (they no longer open anything; this frees the rows).
pub fn delete_idle(conn: &mut DbConnection, cutoff: NaiveDateTime) -> AppResult<usize> {
    Ok(
        diesel::delete(ui_sessions::table.filter(ui_sessions::last_seen_at.lt(cutoff)))
            .execute(conn)?,
    )
}

/// Every session of an administrator (deactivated, deleted).
pub fn delete_of(conn: &mut DbConnection, administrator_id: &str) -> AppResult<usize> {
    Ok(diesel::delete(
        ui_sessions::table.filter(ui_sessions::administrator_id.eq(administrator_id)),
    )
    .execute(conn)?)
}
