//! The spool's bookkeeping: each file's checkpoint (`cdr_spool_files`) and the lease by
//! which one runner at a time reads a source's spool (`cdr_sources.lease_*`), plus where a
//! spool or pull problem is shown (`cdr_sources.last_error`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{cdr_sources, cdr_spool_files};
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};

/// How far one file of a source's spool was read.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = cdr_spool_files)]
pub struct Checkpoint {
    pub source_id: String,
    /// `<device>:<inode>`: the same file under any name (rotation is a rename).
    pub file_key: String,
    /// Where the file was when last read (for operators).
    pub path: String,
    /// The byte after the last complete record read.
    pub byte_offset: i64,
    pub updated_at: NaiveDateTime,
    /// The file's first `head_len` bytes (min(4 KiB, `byte_offset`)) hash to `head_sha256`.
    pub head_len: i64,
    pub head_sha256: String,
}

/// The checkpoints of a source's spool.
pub fn of_source(conn: &mut DbConnection, source_id: &str) -> AppResult<Vec<Checkpoint>> {
    Ok(cdr_spool_files::table
        .filter(cdr_spool_files::source_id.eq(source_id))
        .select(Checkpoint::as_select())
        .load(conn)?)
}

/// Records a checkpoint (one writer per source: the lease holder).
pub fn save(conn: &mut DbConnection, checkpoint: &Checkpoint) -> AppResult<()> {
    use cdr_spool_files::dsl as t;
    let updated = diesel::update(
        t::cdr_spool_files
            .filter(t::source_id.eq(&checkpoint.source_id))
            .filter(t::file_key.eq(&checkpoint.file_key)),
    )
    .set((
        t::path.eq(&checkpoint.path),
        t::byte_offset.eq(checkpoint.byte_offset),
        t::head_len.eq(checkpoint.head_len),
        t::head_sha256.eq(&checkpoint.head_sha256),
        t::updated_at.eq(checkpoint.updated_at),
    ))
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(t::cdr_spool_files)
            .values(checkpoint)
            .execute(conn)?;
    }
    Ok(())
}

/// Forgets the checkpoints of files no longer in the directory, so that a new file given a
/// freed inode is never taken for the old one.
pub fn forget_others(conn: &mut DbConnection, source_id: &str, keep: &[String]) -> AppResult<()> {
    use cdr_spool_files::dsl as t;
    diesel::delete(
        t::cdr_spool_files
            .filter(t::source_id.eq(source_id))
            .filter(t::file_key.ne_all(keep)),
    )
    .execute(conn)?;
    Ok(())
}

/// Takes (or renews) the lease on a source for `owner` until `until`, when it is free,
/// expired or already `owner`'s. Returns whether `owner` holds it.
pub fn take_lease(
    conn: &mut DbConnection,
    source_id: &str,
    owner: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> AppResult<bool> {
    use cdr_sources::dsl as s;
    let taken = diesel::update(
        s::cdr_sources.filter(s::id.eq(source_id)).filter(
            s::lease_owner
                .is_null()
                .or(s::lease_until.lt(now))
                .or(s::lease_owner.eq(owner)),
        ),
    )
    .set((s::lease_owner.eq(owner), s::lease_until.eq(until)))
    .execute(conn)?;
    Ok(taken == 1)
}

/// Renews a lease `owner` holds; an error when it lost it (another runner took it after it
/// expired), so the transaction around it rolls back.
pub fn renew_lease(
    conn: &mut DbConnection,
    source_id: &str,
    owner: &str,
    until: NaiveDateTime,
) -> AppResult<()> {
    use cdr_sources::dsl as s;
    let renewed = diesel::update(
        s::cdr_sources
            .filter(s::id.eq(source_id))
            .filter(s::lease_owner.eq(owner)),
    )
    .set(s::lease_until.eq(until))
    .execute(conn)?;
    if renewed == 1 {
        Ok(())
    } else {
        Err(AppError::conflict(format!(
            "cdr source {source_id}: the lease passed to another runner"
        )))
    }
}

/// Gives a lease back.
pub fn release_lease(conn: &mut DbConnection, source_id: &str, owner: &str) -> AppResult<()> {
    use cdr_sources::dsl as s;
    diesel::update(
        s::cdr_sources
            .filter(s::id.eq(source_id))
            .filter(s::lease_owner.eq(owner)),
    )
    .set((
        s::lease_owner.eq(None::<String>),
        s::lease_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}

/// Shows what went wrong with one way records arrive at a source (`arrival`: `spool` or
/// `pull`) in its `lastError`, as `<arrival>: <error>`; `None` clears the error only if it
/// is that arrival's, so a spool scan that works does not hide a failing pull.
pub fn set_last_error(
    conn: &mut DbConnection,
    source_id: &str,
    arrival: &str,
    error: Option<&str>,
) -> AppResult<()> {
    use cdr_sources::dsl as s;
    let source = s::cdr_sources.filter(s::id.eq(source_id));
    let prefix = format!("{arrival}: ");
    match error {
        Some(e) => {
            let shown = if e.starts_with(&prefix) {
                e.to_string()
            } else {
                format!("{prefix}{e}")
            };
            diesel::update(source)
                .set(s::last_error.eq(shown))
                .execute(conn)?;
        }
        None => {
            diesel::update(source.filter(s::last_error.like(format!("{prefix}%"))))
                .set(s::last_error.eq(None::<String>))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// The ids of the enabled sources that have a spool directory.
pub fn spool_source_ids(conn: &mut DbConnection) -> AppResult<Vec<String>> {
    use cdr_sources::dsl as s;
    Ok(s::cdr_sources
        .filter(s::enabled.eq(true))
        .filter(s::spool_path.is_not_null())
        .order(s::id)
        .select(s::id)
        .load(conn)?)
}
