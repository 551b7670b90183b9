//! Queries on `cdr_imports`: one row per arrival of records (an upload, a file of a spool
//! directory, a pull window, a CLI run; pushes grouped per source and hour), its counts
//! kept current while it runs.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::cdr_imports;
use crate::db::{DbConnection, MultiBackend};
use crate::error::AppResult;
use crate::listing::{Direction, ListParams};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = cdr_imports, treat_none_as_default_value = false)]
pub struct CdrImport {
    pub id: String,
    pub brand_id: String,
    pub source_id: String,
    pub origin: String,
    pub file_name: Option<String>,
    pub bytes: i64,
    pub sha256: Option<String>,
    pub status: String,
    pub started_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub records: i64,
    pub accepted: i64,
    pub duplicates: i64,
    pub rejected: i64,
    pub unrated: i64,
    pub skipped_unanswered: i64,
    pub skipped_internal: i64,
    pub skipped_leg: i64,
    pub skipped_filtered: i64,
    /// JSON list of the first errors.
    pub errors: String,
    pub error_count: i64,
    pub failure: Option<String>,
    pub push_hour: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

/// Counts to add to an import (what one batch of records did).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub records: i64,
    pub accepted: i64,
    pub duplicates: i64,
    pub rejected: i64,
    pub unrated: i64,
    pub skipped_unanswered: i64,
    pub skipped_internal: i64,
    pub skipped_leg: i64,
    pub skipped_filtered: i64,
    pub error_count: i64,
}

pub fn insert(conn: &mut DbConnection, row: &CdrImport) -> AppResult<()> {
    diesel::insert_into(cdr_imports::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<Option<CdrImport>> {
    Ok(cdr_imports::table
        .find(id)
        .select(CdrImport::as_select())
        .first(conn)
        .optional()?)
}

/// The push import of a source for the hour starting at `hour`, created when it is the
/// hour's first push (two instances creating it at once both end up with the same row).
pub fn push_import(
    conn: &mut DbConnection,
    row: &CdrImport,
    hour: NaiveDateTime,
) -> AppResult<CdrImport> {
    let found = |conn: &mut DbConnection| {
        cdr_imports::table
            .filter(cdr_imports::source_id.eq(&row.source_id))
            .filter(cdr_imports::push_hour.eq(hour))
            .select(CdrImport::as_select())
            .first(conn)
            .optional()
    };
    if let Some(existing) = found(conn)? {
        return Ok(existing);
    }
    match conn {
        DbConnection::Sqlite(c) => diesel::insert_into(cdr_imports::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConnection::Pg(c) => diesel::insert_into(cdr_imports::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    Ok(found(conn)?.ok_or_else(|| diesel::result::Error::NotFound)?)
}

/// Adds a batch's counts and errors to the import (increments, so concurrent pushes into
/// one hourly import add up). `errors` are appended while fewer than `keep` are stored.
pub fn add(
    conn: &mut DbConnection,
    id: &str,
    counts: &Counts,
    new_errors: &[serde_json::Value],
    keep: usize,
    bytes: i64,
) -> AppResult<()> {
    use cdr_imports::dsl as t;
    let now = crate::db::now();
    diesel::update(cdr_imports::table.find(id))
        .set((
            t::records.eq(t::records + counts.records),
            t::accepted.eq(t::accepted + counts.accepted),
            t::duplicates.eq(t::duplicates + counts.duplicates),
            t::rejected.eq(t::rejected + counts.rejected),
            t::unrated.eq(t::unrated + counts.unrated),
            t::skipped_unanswered.eq(t::skipped_unanswered + counts.skipped_unanswered),
            t::skipped_internal.eq(t::skipped_internal + counts.skipped_internal),
            t::skipped_leg.eq(t::skipped_leg + counts.skipped_leg),
            t::skipped_filtered.eq(t::skipped_filtered + counts.skipped_filtered),
            t::error_count.eq(t::error_count + counts.error_count),
            t::bytes.eq(t::bytes + bytes),
            t::updated_at.eq(now),
        ))
        .execute(conn)?;
    if new_errors.is_empty() {
        return Ok(());
    }
    // Read, append, write back: the caller's transaction holds the row (PostgreSQL takes
    // the row lock with the update above; SQLite has one writer at a time).
    let stored: String = cdr_imports::table.find(id).select(t::errors).first(conn)?;
    let mut list: Vec<serde_json::Value> = serde_json::from_str(&stored).unwrap_or_default();
    if list.len() < keep {
        let room = keep - list.len();
        list.extend(new_errors.iter().take(room).cloned());
        diesel::update(cdr_imports::table.find(id))
            .set(t::errors.eq(serde_json::Value::Array(list).to_string()))
            .execute(conn)?;
    }
    Ok(())
}

/// Marks an import finished: `done`, or `failed` with why.
pub fn finish(
    conn: &mut DbConnection,
    id: &str,
    failure: Option<&str>,
    sha256: Option<&str>,
) -> AppResult<()> {
    use cdr_imports::dsl as t;
    let now = crate::db::now();
    diesel::update(cdr_imports::table.find(id))
        .set((
            t::status.eq(if failure.is_some() { "failed" } else { "done" }),
            t::failure.eq(failure),
            t::sha256.eq(sha256),
            t::finished_at.eq(Some(now)),
            t::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Marks when a push import last received records.
pub fn touch_finished(conn: &mut DbConnection, id: &str) -> AppResult<()> {
    use cdr_imports::dsl as t;
    let now = crate::db::now();
    diesel::update(cdr_imports::table.find(id))
        .set(t::finished_at.eq(Some(now)))
        .execute(conn)?;
    Ok(())
}

/// What a list of imports may be narrowed to.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// None: every brand (platform administrators).
    pub brand: Option<String>,
    pub source: Option<String>,
    pub status: Option<String>,
    pub origin: Option<String>,
    pub started_from: Option<NaiveDateTime>,
    pub started_to: Option<NaiveDateTime>,
}

fn filtered(f: &Filter) -> cdr_imports::BoxedQuery<'_, MultiBackend> {
    let mut query = cdr_imports::table.into_boxed();
    if let Some(b) = &f.brand {
        query = query.filter(cdr_imports::brand_id.eq(b));
    }
    if let Some(s) = &f.source {
        query = query.filter(cdr_imports::source_id.eq(s));
    }
    if let Some(s) = &f.status {
        query = query.filter(cdr_imports::status.eq(s));
    }
    if let Some(o) = &f.origin {
        query = query.filter(cdr_imports::origin.eq(o));
    }
    if let Some(t) = f.started_from {
        query = query.filter(cdr_imports::started_at.ge(t));
    }
    if let Some(t) = f.started_to {
        query = query.filter(cdr_imports::started_at.lt(t));
    }
    query
}

/// A page of imports, newest first unless `params` orders otherwise; with the total.
pub fn list(
    conn: &mut DbConnection,
    f: &Filter,
    params: &ListParams,
) -> AppResult<(i64, Vec<CdrImport>)> {
    let total = filtered(f).count().get_result(conn)?;
    let mut query = filtered(f);
    for (field, direction) in &params.order {
        query = match (field.as_str(), direction) {
            ("startedAt", Direction::Asc) => query.then_order_by(cdr_imports::started_at.asc()),
            ("startedAt", Direction::Desc) => query.then_order_by(cdr_imports::started_at.desc()),
            _ => query,
        };
    }
    if params.order.is_empty() {
        query = query.then_order_by(cdr_imports::started_at.desc());
    }
    let rows = query
        .then_order_by(cdr_imports::id.desc())
        .offset(params.offset())
        .limit(params.per_page)
        .select(CdrImport::as_select())
        .load(conn)?;
    Ok((total, rows))
}

/// The import of `source_id` that was running at `t` (a call's `createdAt`): the newest
/// started by then and not finished before.
pub fn running_at(
    conn: &mut DbConnection,
    source_id: &str,
    t: NaiveDateTime,
) -> AppResult<Option<CdrImport>> {
    Ok(cdr_imports::table
        .filter(cdr_imports::source_id.eq(source_id))
        .filter(cdr_imports::started_at.le(t))
        .filter(
            cdr_imports::finished_at
                .is_null()
                .or(cdr_imports::finished_at.ge(t)),
        )
        .order_by(cdr_imports::started_at.desc())
        .select(CdrImport::as_select())
        .first(conn)
        .optional()?)
}

/// When the source's newest import of `origin` started (a pull's last attempt).
pub fn last_started(
    conn: &mut DbConnection,
    source_id: &str,
    origin: &str,
) -> AppResult<Option<NaiveDateTime>> {
    use diesel::dsl::max;
    Ok(cdr_imports::table
        .filter(cdr_imports::source_id.eq(source_id))
        .filter(cdr_imports::origin.eq(origin))
        .select(max(cdr_imports::started_at))
        .first(conn)?)
}

/// Marks the source's imports of `origin` still `running` as `failed` with `failure`: what
/// a runner that died left (the caller holds the source's lease, so no other runs).
pub fn fail_running(
    conn: &mut DbConnection,
    source_id: &str,
    origin: &str,
    failure: &str,
) -> AppResult<usize> {
    use cdr_imports::dsl as t;
    let now = crate::db::now();
    Ok(diesel::update(
        cdr_imports::table
            .filter(t::source_id.eq(source_id))
            .filter(t::origin.eq(origin))
            .filter(t::status.eq("running")),
    )
    .set((
        t::status.eq("failed"),
        t::failure.eq(failure),
        t::finished_at.eq(Some(now)),
        t::updated_at.eq(now),
    ))
    .execute(conn)?)
}
